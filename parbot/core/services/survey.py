"""Survey points (điều tra xã hội học): imported per unit, per survey item or per survey component.

A row is ``unit, item`` plus either ``points`` or answer counts in columns ``count_<option>`` (count_a,
count_b, …). ``item`` names a survey item, or a component: an area or criterion made only of survey items.
Counts become a share of the maximum through the options' weights (default A/B/C/D = 100/60/20/0 %):
share = Σ count × weight / (100 × Σ count). A component's points are distributed over its items in
proportion to their maxima, in cents (largest remainder, ties to the earlier item), so the items always add
up to the component's points. Every item's points are then validated like any score, and the whole file is
written or nothing is.
"""
from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from ..criteria import BlockCriteria, Item
from ..decimals import CENT, HUNDRED, ZERO, as_count, fmt, round_half_up, to_decimal
from ..errors import DomainError, Message, ValidationFailed
from ..model import Score
from ..permissions import Action, Caller, require
from ..ports import UnitOfWork
from .periods import get_period
from .scores import check_points, put_scores
from .tabular import Row, where

DEFAULT_WEIGHTS = {"A": Decimal(100), "B": Decimal(60), "C": Decimal(20), "D": Decimal(0)}
COUNT_PREFIX = "count_"


def parse_weights(text: str) -> dict[str, Decimal]:
    """"A=100,B=60,C=20,D=0" → option → percent of the item's points."""
    weights = {}
    for part in text.split(","):
        option, _, value = part.partition("=")
        try:
            weight = to_decimal(value)
        except ValueError:
            raise DomainError("survey.bad_weights", weights=text) from None
        if not option.strip() or not ZERO <= weight <= HUNDRED:
            raise DomainError("survey.bad_weights", weights=text)
        weights[option.strip().upper()] = weight
    return weights


def components(criteria: BlockCriteria) -> dict[str, list[Item]]:
    """Every code a survey row may name: survey items, and areas or criteria made only of survey items."""
    out: dict[str, list[Item]] = {}
    groups: dict[str, list[Item]] = {}
    for item in criteria.items.values():
        groups.setdefault(item.criterion_code, []).append(item)
        groups.setdefault(item.area_code, []).append(item)
    for code, items in groups.items():
        if all(i.is_survey for i in items):
            out[code] = items
    for item in criteria.items.values():
        if item.is_survey:
            out[item.code] = [item]
    return out


def distribute(total: Decimal, maxima: list[Decimal]) -> list[Decimal]:
    """Split ``total`` in proportion to ``maxima`` in cents (or the total's own finer precision), largest
    remainder first, so the parts add up to ``total`` exactly."""
    quantum = min(CENT, Decimal(1).scaleb(total.as_tuple().exponent)) if total else CENT
    whole = sum(maxima, ZERO)
    exact = [total * m / whole for m in maxima]
    parts = [e.quantize(quantum, rounding=ROUND_FLOOR) for e in exact]
    left = int((total - sum(parts, ZERO)) / quantum)
    for index in sorted(range(len(parts)), key=lambda i: (-(exact[i] - parts[i]), i))[:left]:
        parts[index] += quantum
    return parts


def _share_from_counts(row: Row, options: dict[str, str], weights: dict[str, Decimal]) -> tuple[Decimal | None, Message | None]:
    counts = {}
    for column, option in options.items():
        text = row.get(column) or "0"
        count = as_count(text)
        if count is None:
            return None, Message("survey.not_a_count", column=column, value=text[:40])
        counts[option] = count
    answers = sum(counts.values())
    if answers == 0:
        return None, Message("survey.no_answers")
    return sum((weights[o] * c for o, c in counts.items()), ZERO) / (HUNDRED * answers), None


def _row(row: Row, problem: Message) -> Message:
    """A problem of a whole row (no single cell to point at)."""
    return Message("survey.row", line=row.line, problem=problem)


def import_survey(uow: UnitOfWork, *, caller: Caller, header: list[str], rows: list[Row], year: int | None = None,
                  weights: dict[str, Decimal] | None = None) -> tuple[int, int]:
    """Validate every row, then write all the survey points or none. Returns (rows, changed scores)."""
    require(caller.grants, Action.ADMINISTER)
    weights = weights or DEFAULT_WEIGHTS
    options = {c: c[len(COUNT_PREFIX):].upper() for c in header if c.startswith(COUNT_PREFIX)}
    problems = [Message("survey.missing_column", column=c) for c in ("unit", "item") if c not in header]
    if "points" not in header and not options:
        problems.append(Message("survey.no_points_column"))
    problems += [Message("survey.no_weight", column=c, option=o, weights=list(weights))
                 for c, o in options.items() if o not in weights]
    if problems:
        raise ValidationFailed("survey.invalid", problems)
    scores: list[Score] = []
    with uow:
        period = get_period(uow, year)
        targets = {block: components(period.criteria_for(block)) for block in period.blocks}
        units = {u.code: u for u in uow.units.list(year=period.year)}
        seen: dict[tuple[str, str], int] = {}
        for row in rows:
            unit_code, code = row.get("unit"), row.get("item")
            unit = units.get(unit_code)
            if unit is None or unit.block not in targets:
                problems.append(_row(row, Message("survey.not_assessed", unit=unit_code or "", year=period.year)))
                continue
            items = targets[unit.block].get(code)
            if items is None:
                known = period.criteria_for(unit.block).items.get(code)
                problems.append(_row(row, Message("survey.self_assessed", item=code) if known else
                                     Message("survey.not_survey", item=code or "", block=unit.block)))
                continue
            maximum = sum((i.maximum for i in items), ZERO)
            points_text = row.get("points")
            counted = any(row.get(c) for c in options)
            if points_text and counted:
                problems.append(_row(row, Message("survey.points_and_counts")))
                continue
            if points_text:
                try:
                    total = to_decimal(points_text)
                except ValueError:
                    problems.append(where(row, "points", Message("points.not_a_number", value=points_text[:40])))
                    continue
                if not ZERO <= total <= maximum:
                    problems.append(where(row, "points", Message("points.out_of_range", points=fmt(total),
                                                                 maximum=fmt(maximum), item=code)))
                    continue
            elif counted:
                share, problem = _share_from_counts(row, options, weights)
                if problem:
                    problems.append(_row(row, problem))
                    continue
                total = round_half_up(maximum * share)  # type: ignore[operator]
            else:
                problems.append(_row(row, Message("survey.no_points")))
                continue
            for item, points in zip(items, distribute(total, [i.maximum for i in items])):
                key = (unit.code, item.code)
                if key in seen:
                    problems.append(_row(row, Message("survey.already_given", item=item.code, unit=unit.code, first=seen[key])))
                    continue
                seen[key] = row.line
                value, _, problem = check_points(item, "survey", fmt(points),
                                                 places=period.criteria_for(unit.block).points_decimals)
                if problem:
                    problems.append(where(row, "points", problem))
                    continue
                scores.append(Score(unit_code=unit.code, item_code=item.code, source="survey", points=value,
                                    reason=row.get("reason") or None, by=caller.actor))
        if problems:
            raise ValidationFailed("survey.invalid", problems)
        changed = put_scores(uow, period, scores, caller.actor, action="survey")
        uow.commit()
    return len(rows), changed
