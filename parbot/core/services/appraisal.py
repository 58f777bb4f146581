"""Appraisal (thẩm định): two rounds with an explanation round between them.

Who appraises what (documented in docs/appraisal.md):
- ``permissions.require(APPRAISE)`` decides which *units* an appraiser may touch (a district council is an
  appraiser grant with unit_code=<district> and block=<commune block>).
- The period's ``appraisal`` assignments decide which *areas*: an appraiser "belongs" to the units of their
  officer / unit-leader grants and to the district of a district-council grant. An appraiser belonging to a
  unit named in some assignment's ``appraiser_units`` appraises exactly the areas of those assignments (the
  field department: Sở Tài chính → public finance); every other appraiser appraises the areas no assignment
  gives to a named unit. An assignment with no ``appraiser_units`` leaves its areas to any appraiser. An area
  entry "6" means area 6 of every block, "so:6" area 6 of block so only. No one appraises their own unit.

Concurrency: last write wins, never silently. Every write goes through ``put_score`` (audit: actor, old → new,
reason, ``appraised:round<n>``), and a write replacing another person's value of the same round returns that
person and value so the chat says "you replaced …". Every write locks the unit's stage row first
(``for_update``), so its state (round, contests) and the scores it reads are not overtaken by a round
closing or another appraiser at the same moment; closing a round locks the rows of the period in unit order.

Rounds and contests are the unit stage's typed ``AppraisalState`` (read and written by
``core/appraisal_state``); a round closes by the chair's command (``close_round``) or
when the scheduled sweep (``close_due_rounds``) finds its deadline passed. The explanation window opens when
round 1 closes and ends at ``explanation_closes`` (or when round 2 closes).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Iterable

from .. import appraisal_state
from ..criteria import BlockCriteria, Item
from ..decimals import fmt, percent
from ..errors import DomainError, Message, NotFound, ValidationFailed
from ..model import Answer, AppraisalState, AuditEntry, Contest, Evidence, Period, Score, Unit, UnitStage
from ..period import AppraisalAssignment
from ..permissions import Action, Caller, Grant, Role, UNIT_ROLES, allowed, require, units_in_scope
from ..ports import UnitOfWork
from ..results import NA, Mark, UnitRef, score_unit, survey_pending
from ..text import clean_text
from .assessment import DOWNLOAD_LIMIT
from . import channels
from .periods import get_period
from .results import marks_from_scores
from .scores import check_points, describe, put_score
from .tabular import Row

STATUSES = ("not_submitted", "submitted", "in_appraisal", "appraised", "explanation_open", "final")
EXPORT_COLUMNS = ("unit", "item", "area", "name", "max", "answer", "self_points", "evidence", "explanation",
                  "appraised_points", "reason")


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _nfc(text: str | None) -> str:
    return unicodedata.normalize("NFC", (text or "").strip())


# -- who appraises which areas ------------------------------------------------------------------------


def home_units(grants: Iterable[Grant]) -> set[str]:
    """Units a person belongs to: their own unit(s), and the district whose council they sit on."""
    return {g.unit_code for g in grants if g.unit_code and (g.role in UNIT_ROLES
                                                          or (g.role is Role.APPRAISER and g.block))}


def appraisable_areas(grants: Iterable[Grant], unit: Unit, criteria: BlockCriteria,
                      assignments: list[AppraisalAssignment]) -> tuple[str, ...]:
    """The areas of the unit this person may appraise (empty: none). Pure: tested as a matrix."""
    grants = list(grants)
    if not allowed(grants, Action.APPRAISE, unit):
        return ()
    home = home_units(grants)
    if unit.code in home:
        return ()
    named = [a for a in assignments if a.appraiser_units]
    appraisable = [code for code, _, codes in sections(criteria) if any(not criteria.items[c].is_survey for c in codes)]
    mine = {code for a in named if home & set(a.appraiser_units) for code in _areas_for(a, unit.block)}
    if mine:
        return tuple(c for c in appraisable if c in mine)
    taken = {code for a in named for code in _areas_for(a, unit.block)}
    return tuple(c for c in appraisable if c not in taken)


def _areas_for(assignment: AppraisalAssignment, block: str) -> set[str]:
    """An entry "6" names area 6 of every block; "so:6" area 6 of block so only."""
    out = set()
    for entry in assignment.areas:
        scope, _, code = entry.rpartition(":")
        if not scope or scope == block:
            out.add(code)
    return out


def sections(criteria: BlockCriteria) -> list[tuple[str, str, tuple[str, ...]]]:
    """(code, name, item codes) of the areas, then of the bonus and deduction contents (appraised like areas)."""
    return [(a.code, a.name, a.item_codes) for a in criteria.areas] + [
        (adj.code, adj.name, adj.item_codes) for adj in (criteria.bonus, criteria.deduction) if adj is not None]


def appraised_items(criteria: BlockCriteria) -> list[Item]:
    """Every self-scored item (areas, bonus and deduction): survey items are never appraised."""
    return [i for i in criteria.items.values() if not i.is_survey]


def _items_of_areas(criteria: BlockCriteria, areas: Iterable[str]) -> list[Item]:
    # Bonus and deduction contents are appraised by whoever appraises the general areas (no assignment).
    wanted = set(areas)
    return [i for i in appraised_items(criteria) if i.area_code in wanted]


# -- rounds and status --------------------------------------------------------------------------------


def _save_state(uow: UnitOfWork, period: Period, stage: UnitStage, state: AppraisalState) -> None:
    uow.stages.put(period.id, appraisal_state.with_state(stage, state))


def explanation_open(period: Period, state: AppraisalState, now: datetime) -> bool:
    if not state.in_explanation_round:
        return False
    closes = period.config.deadlines.explanation_closes
    return closes is None or now <= closes


def unit_status(period: Period, stage: UnitStage, appraised: int, total: int, now: datetime) -> str:
    state = appraisal_state.of(stage)
    if stage.submitted_at is None:
        return "not_submitted"
    if state.closed_at(2):
        return "final"
    if explanation_open(period, state, now):
        return "explanation_open"
    if appraised == 0:
        return "submitted"
    return "appraised" if appraised >= total else "in_appraisal"


# -- views --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitOverview:
    code: str
    name: str
    block: str
    status: str
    appraised: int  # all items of the unit with appraised points
    total: int
    mine_appraised: int  # within the caller's areas
    mine_total: int
    contested_open: int


@dataclass(frozen=True)
class ItemView:
    item: Item
    answer: Answer | None
    self_points: Mark | None
    appraised: Score | None
    evidence: tuple[Evidence, ...]
    contest: Contest | None

    @property
    def explanation(self) -> str | None:
        return self.answer.explanation if self.answer else None

    @property
    def contested_open(self) -> bool:
        return self.contest is not None and self.contest.settled_at is None


@dataclass(frozen=True)
class AreaView:
    code: str
    name: str
    items: tuple[ItemView, ...]
    mine: bool  # the caller may appraise this area


@dataclass(frozen=True)
class UnitView:
    unit: Unit
    status: str
    round: int | None
    areas: tuple[AreaView, ...]

    @property
    def contested(self) -> list[ItemView]:
        """Contested items of the caller's areas not settled yet: shown first in round 2."""
        return [i for a in self.areas if a.mine for i in a.items if i.contested_open]


def mark_of(score: Score | None) -> Mark | None:
    """The points (or NA) a score stands for."""
    if score is None:
        return None
    return NA if score.not_applicable else score.points


def _self_mark(score: Score | None, answer: Answer | None) -> Mark | None:
    if score is not None:
        return mark_of(score)
    if answer is None:
        return None
    return NA if answer.not_applicable else answer.points


def _unit(uow: UnitOfWork, period: Period, unit_code: str) -> Unit:
    unit = uow.units.get(unit_code, period.year)
    if unit is None or unit.block not in period.criteria_sets:
        raise NotFound("unit.not_found", unit=unit_code, year=period.year)
    return unit


def _scores_by_unit(uow: UnitOfWork, period: Period, codes: list[str]) -> dict[str, dict[tuple[str, str], Score]]:
    out: dict[str, dict[tuple[str, str], Score]] = {}
    for s in uow.scores.for_period(period.id, codes):
        out.setdefault(s.unit_code, {})[(s.item_code, s.source)] = s
    return out


def list_units(uow: UnitOfWork, *, caller: Caller, year: int | None = None,
               now: datetime | None = None) -> list[UnitOverview]:
    """The units the caller appraises, with status and progress; units with open contests first."""
    now = _now(now)
    with uow:
        period = get_period(uow, year)
        units = units_in_scope(caller.grants, Action.APPRAISE,
                               [u for b in period.blocks for u in uow.units.list(block=b, year=period.year)])
        appraised: dict[str, set[str]] = {}
        for score in uow.scores.values_for_period(period.id):  # plain rows: thousands of units list fast
            if score.source == "appraised":
                appraised.setdefault(score.unit_code, set()).add(score.item_code)
        stages = uow.stages.for_period(period.id)
        out = []
        for unit in units:
            criteria = period.criteria_for(unit.block)
            areas = appraisable_areas(caller.grants, unit, criteria, period.config.appraisal)
            if not areas:
                continue
            mine = {i.code for i in _items_of_areas(criteria, areas)}
            everything = [i.code for i in appraised_items(criteria)]
            done = appraised.get(unit.code, set()) & set(everything)
            stage = stages.get(unit.code, UnitStage(unit_code=unit.code))
            contests = appraisal_state.of(stage).open_contests
            out.append(UnitOverview(
                code=unit.code, name=unit.name, block=unit.block,
                status=unit_status(period, stage, len(done), len(everything), now),
                appraised=len(done), total=len(everything), mine_appraised=len(done & mine), mine_total=len(mine),
                contested_open=sum(1 for c in contests if c.item_code in mine)))
    return sorted(out, key=lambda o: (-o.contested_open, o.block, o.code))


def _view_items(uow: UnitOfWork, period: Period, unit: Unit, criteria: BlockCriteria, state: AppraisalState
                ) -> dict[str, ItemView]:
    scores = _scores_by_unit(uow, period, [unit.code]).get(unit.code, {})
    answers = uow.answers.for_unit(period.id, unit.code)
    evidence: dict[str, list[Evidence]] = {}
    for e in uow.evidence.for_unit(period.id, unit.code):
        evidence.setdefault(e.item_code, []).append(e)
    return {i.code: ItemView(item=i, answer=answers.get(i.code),
                             self_points=_self_mark(scores.get((i.code, "self")), answers.get(i.code)),
                             appraised=scores.get((i.code, "appraised")), evidence=tuple(evidence.get(i.code, ())),
                             contest=state.contest(i.code))
            for i in appraised_items(criteria)}


def unit_view(uow: UnitOfWork, *, caller: Caller, unit_code: str, year: int | None = None,
              now: datetime | None = None) -> UnitView:
    """One unit area by area: each item's answer, self points, evidence, explanation, appraisal, contest."""
    now = _now(now)
    with uow:
        period = get_period(uow, year)
        unit = _unit(uow, period, unit_code)
        criteria = period.criteria_for(unit.block)
        areas = _require_areas(caller, unit, criteria, period)
        stage = uow.stages.get(period.id, unit.code)
        state = appraisal_state.of(stage)
        items = _view_items(uow, period, unit, criteria, state)
        views = tuple(AreaView(code=code, name=name, items=tuple(items[c] for c in codes if c in items),
                               mine=code in areas)
                      for code, name, codes in sections(criteria) if any(c in items for c in codes))
        done = sum(1 for v in items.values() if v.appraised is not None)
        return UnitView(unit=unit, status=unit_status(period, stage, done, len(items), now),
                        round=state.round, areas=views)


def evidence_files(uow: UnitOfWork, *, caller: Caller, unit_code: str, item_code: str, year: int | None = None,
                   now: datetime | None = None) -> list[Evidence]:
    """The files of one item ("re-send files"), for an appraiser of the item's area only: the unit view shows
    every area, but another body's area is theirs to appraise and its files theirs to receive."""
    view = unit_view(uow, caller=caller, unit_code=unit_code, year=year, now=now)
    found = next(((a, i) for a in view.areas for i in a.items if i.item.code == item_code), None)
    if found is None or not found[0].mine:
        raise DomainError("appraisal.area_not_assigned", unit=unit_code,
                          area=found[0].code if found else item_code)
    return [e for e in found[1].evidence if e.kind == "file" and e.sha256]


def _require_areas(caller: Caller, unit: Unit, criteria: BlockCriteria, period: Period) -> tuple[str, ...]:
    require(caller.grants, Action.APPRAISE, unit)
    areas = appraisable_areas(caller.grants, unit, criteria, period.config.appraisal)
    if not areas:
        raise DomainError("appraisal.no_areas", unit=unit.code)
    return areas


# -- appraising -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    item_code: str
    points: Mark
    changed: bool
    round: int
    replaced_by: str | None = None  # another person's value of the same round was replaced
    replaced_value: str | None = None


def _decide(criteria: BlockCriteria, item: Item, self_mark: Mark | None, points_text: str | None,
            reason: str | None) -> tuple[Decimal | None, bool, str | None, str | None]:
    """(points, not_applicable, reason, problem) for accepting (points_text None) or setting points. Set points
    must be ones the item's rule can produce, at no more decimals than the set shows (as ``scores import``)."""
    if points_text is None:
        if self_mark is None:
            return None, False, None, Message("appraisal.nothing_to_accept", item=item.code)
        return (None, True, None, None) if self_mark is NA else (self_mark, False, None, None)  # type: ignore[return-value]
    points, na, problem = check_points(item, "appraised", points_text, criteria.block, criteria.points_decimals)
    if problem:
        return None, False, None, problem
    differs = (NA if na else points) != self_mark
    reason = _nfc(reason) or None
    if differs and not reason:
        return None, False, None, Message("appraisal.reason_needed", item=item.code)
    return points, na, reason if differs else None, None


def _write(uow: UnitOfWork, caller: Caller, opened: _Open, view: ItemView, points: Decimal | None, na: bool,
           reason: str | None, action: str, now: datetime) -> Outcome:
    """Store the points; in round 2 this answers the item's open contest (``opened.state`` moves on)."""
    period, unit, item, round_no = opened.period, opened.unit, view.item, opened.round
    previous = view.appraised
    score = Score(unit_code=unit.code, item_code=item.code, source="appraised", points=points, not_applicable=na,
                  reason=reason, appraisal_round=round_no, by=caller.actor, at=now)
    changed = put_score(uow, period, score, caller.actor, action=action)
    contest = opened.state.contest(item.code)
    if round_no == 2 and contest is not None and contest.open:
        opened.state = opened.state.with_contest(replace(contest, settled_by=caller.actor, settled_at=now))
        if not changed:  # the round-1 value stands: the audit still shows the contest was answered
            uow.audit.add(AuditEntry(actor=caller.actor, action="settle", period_id=period.id, unit_code=unit.code,
                                     item_code=item.code, source="appraised:round2", old=describe(previous),
                                     new=describe(previous), reason=reason))
    replaced = previous is not None and changed and previous.by != caller.actor \
        and previous.appraisal_round == round_no
    return Outcome(item_code=item.code, points=NA if na else points, changed=changed, round=round_no,  # type: ignore[arg-type]
                   replaced_by=previous.by if replaced else None,
                   replaced_value=describe(previous) if replaced else None)


@dataclass
class _Open:
    period: Period
    unit: Unit
    criteria: BlockCriteria
    stage: UnitStage
    state: AppraisalState
    round: int
    items: dict[str, ItemView] = field(default_factory=dict)


def _open(uow: UnitOfWork, period: Period, unit: Unit, *, for_update: bool = True) -> _Open:
    """The unit as an appraisal write sees it: submitted, with a round still open (its stage row locked)."""
    stage = uow.stages.get(period.id, unit.code, for_update=for_update)
    if stage.submitted_at is None:
        raise DomainError("appraisal.not_submitted", unit=unit.code)
    state = appraisal_state.of(stage)
    round_no = state.round
    if round_no is None:
        raise DomainError("appraisal.closed", unit=unit.code)
    criteria = period.criteria_for(unit.block)
    return _Open(period, unit, criteria, stage, state, round_no, _view_items(uow, period, unit, criteria, state))


def _appraisable_item(opened: _Open, item_code: str, areas: tuple[str, ...]) -> ItemView:
    view = opened.items.get(item_code)
    if view is None:
        item = opened.criteria.items.get(item_code)
        if item is not None and item.is_survey:
            raise DomainError("appraisal.survey_item", item=item_code)
        raise NotFound("item.not_found", item=item_code, block=opened.unit.block)
    if view.item.area_code not in areas:
        raise DomainError("appraisal.area_not_assigned", unit=opened.unit.code, area=view.item.area_code)
    return view


def appraise(uow: UnitOfWork, *, caller: Caller, unit_code: str, item_code: str, points: str | None = None,
             reason: str | None = None, year: int | None = None, now: datetime | None = None) -> Outcome:
    """Accept the self points (``points`` None) or set other points (0 … max or "na"); a reason is required
    whenever the result differs from the self points."""
    now = _now(now)
    with uow:
        period = get_period(uow, year)
        unit = _unit(uow, period, unit_code)
        areas = _require_areas(caller, unit, period.criteria_for(unit.block), period)
        opened = _open(uow, period, unit)
        view = _appraisable_item(opened, item_code, areas)
        value, na, why, problem = _decide(opened.criteria, view.item, view.self_points, points, reason)
        if problem:
            raise DomainError("appraisal.invalid", problem=problem)
        outcome = _write(uow, caller, opened, view, value, na, why, "appraise", now)
        _save_state(uow, period, opened.stage, opened.state)
        uow.commit()
    return outcome


def keep(uow: UnitOfWork, *, caller: Caller, unit_code: str, item_code: str, year: int | None = None,
         now: datetime | None = None) -> Outcome:
    """Round 2: answer a contest by keeping the round-1 points (and their reason)."""
    with uow:
        period = get_period(uow, year)
        current = uow.scores.get(period.id, unit_code, item_code, "appraised")
    if current is None:
        raise DomainError("appraisal.nothing_to_keep", unit=unit_code, item=item_code)
    text = "na" if current.not_applicable else fmt(current.points)  # type: ignore[arg-type]
    return appraise(uow, caller=caller, unit_code=unit_code, item_code=item_code, points=text, reason=current.reason,
                    year=year, now=now)


def accept_rest(uow: UnitOfWork, *, caller: Caller, unit_code: str, area_code: str, year: int | None = None,
                now: datetime | None = None) -> list[Outcome]:
    """Accept the self points of every item of the area that has none appraised yet (and has self points)."""
    now = _now(now)
    with uow:
        period = get_period(uow, year)
        unit = _unit(uow, period, unit_code)
        areas = _require_areas(caller, unit, period.criteria_for(unit.block), period)
        if area_code not in areas:
            raise DomainError("appraisal.area_not_assigned", unit=unit.code, area=area_code)
        opened = _open(uow, period, unit)
        out = []
        for view in opened.items.values():
            if view.item.area_code == area_code and view.appraised is None and view.self_points is not None:
                value, na, _, _ = _decide(opened.criteria, view.item, view.self_points, None, None)
                out.append(_write(uow, caller, opened, view, value, na, None, "appraise", now))
        _save_state(uow, period, opened.stage, opened.state)
        uow.commit()
    return out


# -- explanation round --------------------------------------------------------------------------------


def contest(uow: UnitOfWork, *, caller: Caller, unit_code: str, item_code: str, text: str,
            evidence: Iterable[Evidence] = (), year: int | None = None, now: datetime | None = None) -> Contest:
    """The unit explains why an appraised item deserves other points, with new evidence (files already in
    the evidence store, or document references). Allowed while the explanation window is open."""
    now = _now(now)
    text = _nfc(text)
    with uow:
        period = get_period(uow, year)
        unit = _unit(uow, period, unit_code)
        require(caller.grants, Action.CONTEST, unit)
        stage = uow.stages.get(period.id, unit.code, for_update=True)
        state = appraisal_state.of(stage)
        if not explanation_open(period, state, now):
            raise DomainError("appraisal.explanation_closed", unit=unit.code)
        item = period.criteria_for(unit.block).items.get(item_code)
        if item is None or item.is_survey:
            raise NotFound("item.not_found", item=item_code, block=unit.block)
        if not text:
            raise DomainError("appraisal.contest_text_required", item=item_code)
        earlier = state.contest(item_code)
        ids = (earlier.evidence_ids if earlier else ()) + tuple(_add_evidence(uow, period, caller, unit, item_code,
                                                                              evidence))
        entry = Contest(item_code=item_code, text=text, by=caller.actor, at=now, evidence_ids=ids)
        uow.audit.add(AuditEntry(actor=caller.actor, action="contest", period_id=period.id, unit_code=unit.code,
                                 item_code=item_code, source="explanation", reason=text))
        _save_state(uow, period, stage, state.with_contest(entry))
        uow.commit()
    return entry


def _add_evidence(uow: UnitOfWork, period: Period, caller: Caller, unit: Unit, item_code: str,
                  evidence: Iterable[Evidence]) -> list[int]:
    return [uow.evidence.add(period.id, Evidence(
        id=None, unit_code=unit.code, item_code=item_code, kind=record.kind, sha256=record.sha256,
        stored_path=record.stored_path, size=record.size, mime_type=record.mime_type, file_name=record.file_name,
        reference=record.reference, purpose="explanation", sender_id=caller.person_id)) for record in evidence]


def add_contest_file(uow: UnitOfWork, *, caller: Caller, store: Any, unit_code: str, item_code: str, data: bytes,
                     file_name: str | None = None, mime_type: str | None = None, year: int | None = None,
                     now: datetime | None = None) -> None:
    """A file sent after the explanation text, while the window is open. ``store`` is the evidence store: the
    file is written only once every check has passed, so a refused file leaves nothing on disk."""
    now = _now(now)
    with uow:
        period = get_period(uow, year)
        unit = _unit(uow, period, unit_code)
        require(caller.grants, Action.CONTEST, unit)
        stage = uow.stages.get(period.id, unit.code, for_update=True)
        state = appraisal_state.of(stage)
        entry = state.contest(item_code)
        if entry is None or not explanation_open(period, state, now):
            raise DomainError("appraisal.explanation_closed", unit=unit.code)
        if not data:
            raise DomainError("evidence.empty")
        if len(data) > DOWNLOAD_LIMIT:
            raise DomainError("evidence.too_big", size_mb=round(len(data) / 1024 / 1024, 1), limit_mb=20)
        blob = store.put(data)
        evidence = Evidence(id=None, unit_code=unit.code, item_code=item_code, kind="file", sha256=blob.sha256,
                            stored_path=blob.path, size=blob.size, mime_type=mime_type,
                            file_name=clean_text(file_name) or None if file_name else None)
        ids = entry.evidence_ids + tuple(_add_evidence(uow, period, caller, unit, item_code, [evidence]))
        uow.audit.add(AuditEntry(actor=caller.actor, action="evidence", period_id=period.id, unit_code=unit.code,
                                 item_code=item_code, source="explanation", new=f"file {blob.sha256[:12]}"))
        _save_state(uow, period, stage, state.with_contest(replace(entry, evidence_ids=ids)))
        uow.commit()


@dataclass(frozen=True)
class Contestable:
    unit: Unit
    closes: datetime | None
    items: tuple[ItemView, ...]  # appraised points differ from the self points


def contestable(uow: UnitOfWork, *, caller: Caller, unit_code: str, year: int | None = None,
                now: datetime | None = None) -> Contestable:
    now = _now(now)
    with uow:
        period = get_period(uow, year)
        unit = _unit(uow, period, unit_code)
        require(caller.grants, Action.CONTEST, unit)
        state = appraisal_state.of(uow.stages.get(period.id, unit.code))
        if not explanation_open(period, state, now):
            raise DomainError("appraisal.explanation_closed", unit=unit.code)
        items = _view_items(uow, period, unit, period.criteria_for(unit.block), state)
        return Contestable(unit=unit, closes=period.config.deadlines.explanation_closes,
                           items=tuple(v for v in items.values()
                                       if v.appraised is not None and mark_of(v.appraised) != v.self_points))


def needs_reason(uow: UnitOfWork, *, caller: Caller, unit_code: str, item_code: str, points: str,
                 year: int | None = None) -> bool:
    """Check typed points before asking for a reason: raises when they are invalid; True when they differ
    from the self points (so a reason is required)."""
    with uow:
        period = get_period(uow, year)
        unit = _unit(uow, period, unit_code)
        areas = _require_areas(caller, unit, period.criteria_for(unit.block), period)
        opened = _open(uow, period, unit, for_update=False)
        view = _appraisable_item(opened, item_code, areas)
    value, na, _, problem = _decide(opened.criteria, view.item, view.self_points, points, "-")
    if problem:
        raise DomainError("appraisal.invalid", problem=problem)
    return (NA if na else value) != view.self_points


# -- closing rounds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CloseSummary:
    round: int
    closed: tuple[str, ...]
    notices: int
    not_submitted: tuple[str, ...]


def unit_recipients(uow: UnitOfWork, unit_code: str) -> list:
    """The unit's officers and leaders who can be messaged."""
    seen = {}
    reaches = channels.reachable(uow)
    for role in (Role.OFFICER, Role.UNIT_LEADER):
        for person in uow.roles.holders(role.value, unit_code):
            if reaches(person):
                seen.setdefault(person.id, person)
    return list(seen.values())


def _lowered(criteria: BlockCriteria, scores: dict[tuple[str, str], Score]) -> list[dict]:
    out = []
    for item in appraised_items(criteria):
        own, appraised = scores.get((item.code, "self")), scores.get((item.code, "appraised"))
        if own is None or appraised is None:
            continue
        before, after = mark_of(own), mark_of(appraised)
        lowered = (isinstance(before, Decimal) and (after is NA or after < before))  # type: ignore[operator]
        if lowered:
            out.append({"item": item.code, "name": item.name, "self": describe(own), "appraised": describe(appraised),
                        "reason": appraised.reason or ""})
    return out


def close_round(uow: UnitOfWork, *, caller: Caller, round_no: int, block: str | None = None, force: bool = False,
                year: int | None = None, now: datetime | None = None) -> CloseSummary:
    """Close a round for the submitted units (of one block or all). Refuses while items are unappraised
    (round 1) or contests unanswered (round 2), listing them, unless ``force``. Closing round 1 queues for
    each unit's officers and leaders what was lowered, with the reasons, and the provisional total."""
    if round_no not in (1, 2):
        raise DomainError("appraisal.bad_round", round=round_no)
    now = _now(now)
    require(caller.grants, Action.CLOSE_ROUND)
    with uow:
        period = get_period(uow, year)
        blocks = [block] if block else period.blocks
        if block is not None and block not in period.criteria_sets:
            raise NotFound("block.not_found", block=block, year=period.year)
        units = [u for b in blocks for u in uow.units.list(block=b, year=period.year)]
        # Locked before the scores are read: an appraisal committed before the lock is in them, one waiting
        # for it sees the round closed (the sweep closes rounds beside the handlers).
        stages = uow.stages.for_period(period.id, for_update=True)
        scores = _scores_by_unit(uow, period, [u.code for u in units])
        todo, skipped, problems = [], [], []
        for unit in units:
            stage = stages.get(unit.code)
            if stage is None or stage.submitted_at is None:
                skipped.append(unit.code)
                continue
            state = appraisal_state.of(stage)
            if state.closed_at(round_no):
                continue
            if round_no == 2 and not state.closed_at(1):
                problems.append(Message("appraisal.round1_open", unit=unit.code))
                continue
            criteria = period.criteria_for(unit.block)
            own = scores.get(unit.code, {})
            if round_no == 1:
                missing = [i.code for i in appraised_items(criteria) if (i.code, "appraised") not in own]
                if missing:
                    problems.append(Message("appraisal.not_appraised", unit=unit.code, items=missing))
            else:
                open_items = [c.item_code for c in state.open_contests]
                if open_items:
                    problems.append(Message("appraisal.contests_open", unit=unit.code, items=open_items))
            todo.append((unit, stage, state, criteria))
        if problems and not force:
            raise ValidationFailed("appraisal.round_incomplete", problems, round=round_no)
        notices = 0
        for unit, stage, state, criteria in todo:
            _save_state(uow, period, stage, state.closing(round_no, now, caller.actor))
            uow.audit.add(AuditEntry(actor=caller.actor, action="close_round", period_id=period.id,
                                     unit_code=unit.code, source=f"appraised:round{round_no}",
                                     new="closed", reason="forced" if problems else None))
            if round_no == 1:
                notices += _queue_round1(uow, period, unit, criteria, scores.get(unit.code, {}), now)
        uow.commit()
    return CloseSummary(round=round_no, closed=tuple(u.code for u, *_ in todo), notices=notices,
                        not_submitted=tuple(skipped))


def _queue_round1(uow: UnitOfWork, period: Period, unit: Unit, criteria: BlockCriteria,
                  scores: dict[tuple[str, str], Score], now: datetime) -> int:
    marks = marks_from_scores(list(scores.values())).get(unit.code, {})
    result = score_unit(criteria, UnitRef(unit.code, unit.name, unit.block), marks)
    maximum = result.maximum - survey_pending(criteria, marks)
    closes = period.config.deadlines.explanation_closes
    payload = {"year": period.year, "unit": unit.code, "unit_name": unit.name, "lowered": _lowered(criteria, scores),
               "total": fmt(result.total), "maximum": fmt(maximum), "index": format(percent(result.total, maximum), "f"),
               "explanation_closes": closes.isoformat() if closes else None}
    return sum(uow.outbox.enqueue(f"{period.year}/appraisal/round1/{unit.code}/p{person.id}", person.id,
                                  person.chat_id, "appraisal_round1", payload, not_before=now)
               for person in unit_recipients(uow, unit.code))


def close_due_rounds(uow: UnitOfWork, *, now: datetime | None = None) -> list[CloseSummary]:
    """For the scheduler: close round 1 and round 2 of the current period once their deadlines passed.
    Idempotent (closed units are skipped, notices carry unique keys)."""
    now = _now(now)
    with uow:
        period = uow.periods.current()
    if period is None:
        return []
    deadlines = period.config.deadlines
    caller = Caller.admin("system:deadline")
    out = []
    for round_no, deadline in ((1, deadlines.appraisal_round1_closes), (2, deadlines.appraisal_round2_closes)):
        if deadline is not None and now > deadline:
            out.append(close_round(uow, caller=caller, round_no=round_no, force=True, year=period.year, now=now))
    return out


# -- the offline path: a workbook per council ----------------------------------------------------------


def answer_text(answer: Answer | None) -> str:
    if answer is None:
        return ""
    if answer.not_applicable:
        return "na"
    return "; ".join(f"{k}={v}" for k, v in answer.value.items())


def _mark_text(mark: Mark | None) -> str | Decimal:
    return "" if mark is None else ("na" if mark is NA else mark)  # type: ignore[return-value]


def export_sheets(uow: UnitOfWork, *, caller: Caller, unit_code: str | None = None, year: int | None = None
                  ) -> tuple[int, list[tuple[Unit, list[dict[str, object]]]]]:
    """Per submitted unit the caller may see: one row per appraised item (see EXPORT_COLUMNS)."""
    with uow:
        period = get_period(uow, year)
        if unit_code is not None:
            units = [_unit(uow, period, unit_code)]
        else:
            units = [u for b in period.blocks for u in uow.units.list(block=b, year=period.year)]
        if unit_code is not None:
            require(caller.grants, Action.VIEW_UNIT, units[0])
        stages = uow.stages.for_period(period.id)
        if unit_code is not None and (unit_code not in stages or stages[unit_code].submitted_at is None):
            raise DomainError("appraisal.not_submitted", unit=unit_code)
        units = [u for u in units if allowed(caller.grants, Action.VIEW_UNIT, u)
                 and u.code in stages and stages[u.code].submitted_at is not None]
        out = []
        for unit in units:
            state = appraisal_state.of(stages[unit.code])
            rows = []
            for view in _view_items(uow, period, unit, period.criteria_for(unit.block), state).values():
                appraised = view.appraised
                rows.append({
                    "unit": unit.code, "item": view.item.code, "area": view.item.area_code, "name": view.item.name,
                    "max": view.item.maximum, "answer": answer_text(view.answer),
                    "self_points": _mark_text(view.self_points),
                    "evidence": "; ".join(e.file_name or e.reference or e.kind for e in view.evidence),
                    "explanation": view.explanation or "",
                    "appraised_points": _mark_text(mark_of(appraised)),
                    "reason": (appraised.reason or "") if appraised else ""})
            out.append((unit, rows))
        return period.year, out


ACCEPT_WORDS = ("ok", "=", "đồng ý", "dong y")


def import_appraisal(uow: UnitOfWork, *, caller: Caller, sheets: list[tuple[str, list[Row]]],
                     year: int | None = None, now: datetime | None = None) -> tuple[int, int]:
    """Read a council's workbook back: every row validated, nothing written unless all are valid. A blank
    ``appraised_points`` leaves the item alone; "ok" accepts the self points. Returns (rows read, changed)."""
    require(caller.grants, Action.ADMINISTER)
    now = _now(now)
    problems: list[Message] = []
    planned = []
    with uow:
        period = get_period(uow, year)
        uow.stages.for_period(period.id, for_update=True)  # the units in the order close_round takes them
        opened: dict[str, _Open] = {}
        seen: dict[tuple[str, str], Message] = {}
        count = 0
        for sheet, rows in sheets:
            for row in rows:
                count += 1
                where = Message("appraisal.where", sheet=sheet, line=row.line)
                text = row.get("appraised_points")
                if not text:
                    if row.get("reason"):
                        problems.append(Message("appraisal.at", where=where, problem=Message("appraisal.reason_only")))
                    continue
                code, item_code = row.get("unit"), row.get("item")
                try:
                    if code not in opened:
                        opened[code] = _open(uow, period, _unit(uow, period, code))
                except DomainError as error:
                    problems.append(Message("appraisal.at", where=where, problem=error))
                    continue
                unit_open = opened[code]
                view = unit_open.items.get(item_code)
                if view is None:
                    item = unit_open.criteria.items.get(item_code)
                    problems.append(Message("appraisal.at", where=where, problem=Message(
                        "appraisal.survey_item", item=item_code) if item is not None and item.is_survey else
                        Message("appraisal.unknown_item", item=item_code or "", block=unit_open.unit.block)))
                    continue
                if (code, item_code) in seen:
                    problems.append(Message("appraisal.at", where=where, problem=Message(
                        "appraisal.repeats", first=seen[(code, item_code)], unit=code, item=item_code)))
                    continue
                seen[(code, item_code)] = where
                accept = text.lower() in ACCEPT_WORDS
                value, na, why, problem = _decide(unit_open.criteria, view.item, view.self_points,
                                                  None if accept else text, row.get("reason"))
                if problem:
                    problems.append(Message("appraisal.at", where=where, problem=problem))
                    continue
                planned.append((unit_open, view, value, na, why))
        if problems:
            raise ValidationFailed("appraisal.invalid", problems)
        changed = 0
        for unit_open, view, value, na, why in planned:
            changed += _write(uow, caller, unit_open, view, value, na, why, "import", now).changed
        for unit_open in opened.values():
            _save_state(uow, period, unit_open.stage, unit_open.state)
        uow.commit()
    return count, changed
