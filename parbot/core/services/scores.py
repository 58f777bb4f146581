"""Scores from the three sources (self, appraised, survey), with an audit row for every change."""
from __future__ import annotations

from decimal import Decimal

from ..criteria import Item
from ..decimals import fmt, round_half_up, to_decimal
from ..errors import Message, ValidationFailed
from ..model import SOURCES, AuditEntry, Period, Score
from ..permissions import Action, Caller, require
from ..ports import UnitOfWork
from ..rules import AllOfRule, ChoiceRule, DirectPointsRule, TiersRule, YesNoRule
from .periods import get_period
from .tabular import Row, columns, where

COLUMNS = ("unit", "item", "source", "points")
OPTIONAL = ("reason",)


def describe(score: Score | None) -> str | None:
    if score is None:
        return None
    return "na" if score.not_applicable else fmt(score.points)  # type: ignore[arg-type]


def _same(old: Score | None, new: Score) -> bool:
    return old is not None and old.points == new.points and old.not_applicable == new.not_applicable \
        and (old.reason or None) == (new.reason or None)


def put_scores(uow: UnitOfWork, period: Period, scores: list[Score], actor: str, *, action: str = "score") -> int:
    """Write scores, each change with its audit row; unchanged values write nothing. Returns how many changed.
    One read of what is stored and one write, so importing a province's survey is not a query per score."""
    stored = uow.scores.existing(period.id, [(s.unit_code, s.item_code, s.source) for s in scores])
    changed = [s for s in scores if not _same(stored.get((s.unit_code, s.item_code, s.source)), s)]
    uow.scores.put_many(period.id, changed)
    for score in changed:
        old = stored.get((score.unit_code, score.item_code, score.source))
        uow.audit.add(AuditEntry(actor=actor, action=action, period_id=period.id, unit_code=score.unit_code,
                                 item_code=score.item_code,
                                 source=score.source if score.appraisal_round is None
                                 else f"{score.source}:round{score.appraisal_round}",
                                 old=describe(old), new=describe(score), reason=score.reason))
    return len(changed)


def put_score(uow: UnitOfWork, period: Period, score: Score, actor: str, *, action: str = "score") -> bool:
    """One score (an answer, an appraiser's decision). Returns whether it changed."""
    return put_scores(uow, period, [score], actor, action=action) == 1


def _allowed(item: Item, block: str) -> tuple[list[Decimal] | None, Decimal | None]:
    """What the item's rule can produce: a list of values (options, tiers, all-or-nothing) or a step
    (points given by judgement); (None, None) where any value from 0 to the maximum may come out."""
    if isinstance(item.rule, (YesNoRule, ChoiceRule, TiersRule, AllOfRule)):
        return sorted(set(item.rule.reachable(item.maximum, block))), None
    if isinstance(item.rule, DirectPointsRule):
        return None, item.rule.step
    return None, None


def check_points(item: Item, source: str, text: str, block: str | None = None, places: int | None = None
                 ) -> tuple[Decimal | None, bool, str | None]:
    """Validate one score value for an item; returns (points, not_applicable, problem). With ``block``, the
    points must also be ones the item's rule can produce (0.75 on a {1, 0.5, 0} choice is refused); with
    ``places`` (the set's points_decimals), they have no more decimals than shown, so shown rows add up."""
    if source == "survey" and not item.is_survey:
        return None, False, Message("points.not_survey", item=item.code)
    if source != "survey" and item.is_survey:
        return None, False, Message("points.survey_only", item=item.code)
    if text.lower() in ("na", "n/a", "kpt", "không phát sinh"):
        if source == "survey" or not item.not_applicable_allowed:
            return None, False, Message("points.na_not_allowed", item=item.code)
        return None, True, None
    try:
        points = to_decimal(text)
    except ValueError:
        return None, False, Message("points.not_a_number", value=text[:40])
    if points < 0:
        return None, False, Message("points.negative", points=fmt(points))
    if points > item.maximum:
        return None, False, Message("points.over_maximum", points=fmt(points), item=item.code,
                                    maximum=fmt(item.maximum))
    if places is not None and points != round_half_up(points, places):
        return None, False, Message("points.too_many_decimals", points=fmt(points), places=places)
    if block is not None:
        values, step = _allowed(item, block)
        if values is not None and points not in values:
            return None, False, Message("points.not_reachable", points=fmt(points), item=item.code,
                                        allowed=", ".join(fmt(v) for v in values))
        if step is not None and points % step:
            return None, False, Message("points.off_step", points=fmt(points), item=item.code, step=fmt(step),
                                        maximum=fmt(item.maximum))
    return points, False, None


def import_scores(uow: UnitOfWork, *, caller: Caller, year: int, header: list[str], rows: list[Row],
                  reason: str | None = None) -> tuple[int, int]:
    """Validate every row, then write all or nothing. Returns (rows, changed scores)."""
    require(caller.grants, Action.ADMINISTER)
    actor = caller.actor
    expected = columns(COLUMNS, OPTIONAL)
    problems = [Message("file.missing_column", column=c, expected=expected) for c in COLUMNS if c not in header]
    if problems:
        raise ValidationFailed("scores.invalid", problems)
    scores: list[Score] = []
    with uow:
        period = get_period(uow, year)
        units = {u.code: u for u in uow.units.list(year=year)}
        criteria = {block: period.criteria_for(block) for block in period.blocks}
        seen: dict[tuple[str, str, str], int] = {}
        for row in rows:
            unit_code, item_code, source = row.get("unit"), row.get("item"), row.get("source").lower()
            unit = units.get(unit_code)
            if unit is None:
                known = uow.units.get(unit_code) is not None
                problems.append(where(row, "unit", Message("scores.unit_not_in_year", unit=unit_code, year=year)
                                      if known else Message("scores.unknown_unit", unit=unit_code[:40])))
                continue
            if unit.block not in criteria:
                problems.append(where(row, "unit", Message("scores.block_without_criteria", year=year,
                                                           block=unit.block)))
                continue
            item = criteria[unit.block].items.get(item_code)
            if item is None:
                problems.append(where(row, "item", Message("scores.unknown_item", item=item_code[:40],
                                                           block=unit.block)))
                continue
            if source not in SOURCES:
                problems.append(where(row, "source", Message("scores.bad_source", source=source[:40],
                                                             sources=", ".join(SOURCES))))
                continue
            key = (unit_code, item_code, source)
            if key in seen:
                problems.append(where(row, "item", Message("scores.repeated", first=seen[key], unit=unit_code,
                                                           item=item_code, source=source)))
                continue
            seen[key] = row.line
            points, not_applicable, problem = check_points(item, source, row.get("points"), unit.block,
                                                             criteria[unit.block].points_decimals)
            if problem:
                problems.append(where(row, "points", problem))
                continue
            scores.append(Score(unit_code=unit_code, item_code=item_code, source=source, points=points,
                                not_applicable=not_applicable, reason=row.get("reason") or reason, by=actor))
        if problems:
            raise ValidationFailed("scores.invalid", problems)
        changed = put_scores(uow, period, scores, actor, action="import")
        uow.commit()
    return len(rows), changed
