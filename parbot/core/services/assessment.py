"""The guided self-assessment: what an officer sees and does, whatever the chat that carries it.

Every function opens its own transaction, checks the person's grants against the unit (core.permissions)
and the period's calendar, and returns plain records; the bot renders them. Answers are committed before any
reply, and an identical repeated answer writes nothing, so a redelivered update never double-applies.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..criteria import Area, BlockCriteria, Item
from ..errors import DomainError, NotFound
from ..model import Answer, AuditEntry, Evidence, Period, Score, Unit, UnitStage
from ..permissions import Action, Caller, Grant, allowed, require, units_in_scope
from ..ports import UnitOfWork
from ..text import clean_text, visible
from .progress import UnitProgress, compute_progress, shows_something
from .scores import put_score

REFERENCE_LENGTH = (3, 300)
EXPLANATION_LENGTH = (10, 2000)
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # Telegram lets bots fetch files up to 20 MB


def period_tag(period: Period) -> str:
    """Four hex characters naming the period and its criteria: buttons from another period are stale."""
    hashes = ",".join(f"{b}={s.content_hash}" for b, s in sorted(period.criteria_sets.items()))
    return hashlib.sha256(f"{period.id}:{period.year}:{hashes}".encode()).hexdigest()[:4]


def sequence(criteria: BlockCriteria) -> list[Item]:
    """The self-scored items in the order an officer walks them (survey items are never self-scored)."""
    return [criteria.items[c] for area in criteria.areas for c in area.item_codes
            if not criteria.items[c].is_survey]


@dataclass(frozen=True)
class Workspace:
    period: Period
    unit: Unit
    criteria: BlockCriteria
    grants: tuple[Grant, ...]
    stage: UnitStage
    can_assess: bool
    can_approve: bool
    read_only: str | None  # why answers cannot change: submitted | closed | not_open | not_officer
    now: datetime

    @property
    def tag(self) -> str:
        return period_tag(self.period)

    @property
    def opens(self) -> datetime:
        return self.period.config.deadlines.self_assessment_opens

    @property
    def deadline(self) -> datetime:
        return self.period.config.deadlines.self_assessment_closes

    @property
    def approval_required(self) -> bool:
        return self.period.config.leader_approval_required

    def area_of(self, item: Item) -> Area:
        return next(a for a in self.criteria.areas if a.code == item.area_code)


def _current_period(uow: UnitOfWork) -> Period:
    period = uow.periods.current()
    if period is None:
        raise NotFound("period.none_open")
    return period


def my_units(uow: UnitOfWork, *, caller: Caller) -> list[Unit]:
    """The units a person assesses (officer) or leads, in the current period."""
    with uow:
        period = _current_period(uow)
        grants = caller.grants
        units = [u for b in period.blocks for u in uow.units.list(block=b, year=period.year)]
        mine = {u.code for u in units_in_scope(grants, Action.ASSESS, units)}
        mine |= {u.code for u in units_in_scope(grants, Action.APPROVE, units)}
        return [u for u in units if u.code in mine]


def _workspace(uow: UnitOfWork, caller: Caller, unit_code: str, now: datetime, action: Action) -> Workspace:
    """The unit as the caller may see it now. For a write (any action but viewing) the unit's stage row is
    locked first, so a submission and an answer changed at the same moment are applied one after the other
    and each sees the other's outcome."""
    period = _current_period(uow)
    grants = caller.grants
    unit = uow.units.get(unit_code)
    # An unknown unit and a unit outside the person's scope answer alike: nothing is revealed.
    if unit is None or not unit.exists_in(period.year) or unit.block not in period.criteria_sets:
        raise NotFound("unit.not_found", unit=unit_code)
    require(grants, action, unit)
    if action is Action.VIEW_UNIT and not (allowed(grants, Action.ASSESS, unit) or allowed(grants, Action.APPROVE, unit)):
        require(grants, Action.ADMINISTER)  # the self-assessment screens are for the unit's own people
    stage = uow.stages.get(period.id, unit.code, for_update=action is not Action.VIEW_UNIT)
    can_assess = allowed(grants, Action.ASSESS, unit)
    deadlines = period.config.deadlines
    reason = None
    if stage.submitted_at is not None:
        reason = "submitted"
    elif now < deadlines.self_assessment_opens:
        reason = "not_open"
    elif now > deadlines.self_assessment_closes:
        reason = "closed"
    elif not can_assess:
        reason = "not_officer"
    return Workspace(period=period, unit=unit, criteria=period.criteria_for(unit.block), grants=grants, stage=stage,
                     can_assess=can_assess, can_approve=allowed(grants, Action.APPROVE, unit), read_only=reason,
                     now=now)


def _writable(ws: Workspace) -> None:
    if ws.read_only is not None:
        raise DomainError(f"assess.{ws.read_only}", deadline=ws.deadline, opens=ws.opens)


def _item(ws: Workspace, item_code: str) -> Item:
    item = ws.criteria.items.get(item_code)
    if item is None or item.section != "area":
        raise NotFound("item.not_found", item=item_code)
    if item.is_survey:
        raise DomainError("assess.survey_item", item=item_code)
    return item


def item_at(ws: Workspace, position: int) -> Item:
    """The item behind a button's slot number (``Item.position``); a slot of another kind is refused."""
    for item in ws.criteria.items.values():
        if item.position == position:
            return _item(ws, item.code)
    raise NotFound("item.not_found", item=str(position))


# ---- reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    ws: Workspace
    progress: UnitProgress
    answers: dict[str, Answer]
    evidence: tuple[Evidence, ...]

    def next_unanswered(self, after: Item | None = None) -> Item | None:
        """The first unanswered item after ``after`` (wrapping round); None when all are answered."""
        items = sequence(self.ws.criteria)
        start = 0 if after is None else next((i + 1 for i, it in enumerate(items) if it.code == after.code), 0)
        for item in items[start:] + items[:start]:
            if item.code not in self.answers:
                return item
        return None

    def evidence_for(self, item_code: str) -> list[Evidence]:
        return [e for e in self.evidence if e.item_code == item_code]

    def needs_evidence(self, item: Item) -> bool:
        """Evidence is required, none is attached and no explanation is given."""
        answer = self.answers.get(item.code)
        if item.evidence != "required" or answer is None or answer.not_applicable:
            return False
        return not any(map(shows_something, self.evidence_for(item.code))) and not visible(answer.explanation)


def _overview(uow: UnitOfWork, ws: Workspace) -> Overview:
    answers = uow.answers.for_unit(ws.period.id, ws.unit.code)
    evidence = uow.evidence.for_unit(ws.period.id, ws.unit.code)
    progress = compute_progress(ws.criteria, ws.unit.code, answers, evidence, ws.stage)
    return Overview(ws=ws, progress=progress, answers=answers, evidence=tuple(evidence))


def overview(uow: UnitOfWork, *, caller: Caller, unit_code: str, now: datetime) -> Overview:
    """Areas with progress, points, missing items and evidence, the stage and the deadline."""
    with uow:
        return _overview(uow, _workspace(uow, caller, unit_code, now, Action.VIEW_UNIT))


@dataclass(frozen=True)
class ItemView:
    overview: Overview
    item: Item
    area: Area
    index: int  # 1-based among the area's self-scored items
    count: int
    previous: Item | None
    next: Item | None

    @property
    def answer(self) -> Answer | None:
        return self.overview.answers.get(self.item.code)

    @property
    def evidence(self) -> list[Evidence]:
        return self.overview.evidence_for(self.item.code)

    @property
    def ws(self) -> Workspace:
        return self.overview.ws


def view_from(over: Overview, item: Item) -> ItemView:
    items = sequence(over.ws.criteria)
    at = next(i for i, it in enumerate(items) if it.code == item.code)
    area = over.ws.area_of(item)
    in_area = [it for it in items if it.area_code == area.code]
    return ItemView(overview=over, item=item, area=area, index=in_area.index(item) + 1, count=len(in_area),
                    previous=items[at - 1] if at > 0 else None, next=items[at + 1] if at + 1 < len(items) else None)


def item_view(uow: UnitOfWork, *, caller: Caller, unit_code: str, position: int, now: datetime) -> ItemView:
    with uow:
        ws = _workspace(uow, caller, unit_code, now, Action.VIEW_UNIT)
        return view_from(_overview(uow, ws), item_at(ws, position))


def area_start(uow: UnitOfWork, *, caller: Caller, unit_code: str, area_index: int, now: datetime) -> ItemView:
    """An area opens on its first unanswered item (its first item when all are answered)."""
    with uow:
        ws = _workspace(uow, caller, unit_code, now, Action.VIEW_UNIT)
        if not 0 <= area_index < len(ws.criteria.areas):
            raise NotFound("area.not_found", area=str(area_index))
        over = _overview(uow, ws)
        items = [it for it in sequence(ws.criteria) if it.area_code == ws.criteria.areas[area_index].code]
        if not items:
            raise DomainError("assess.area_survey_only", area=ws.criteria.areas[area_index].code)
        first = next((it for it in items if it.code not in over.answers), items[0])
        return view_from(over, first)


# ---- writing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerOutcome:
    view: ItemView  # the answered item, re-read after the commit
    changed: bool


def _clear_approval(uow: UnitOfWork, ws: Workspace, caller: Caller, why: str) -> None:
    """A changed answer voids the leader's approval: the leader approved other content."""
    if ws.stage.approved_at is not None:
        uow.stages.put(ws.period.id, replace(ws.stage, approved_at=None, approved_by=None))
        uow.audit.add(AuditEntry(actor=caller.actor, action="approval_void", period_id=ws.period.id,
                                 unit_code=ws.unit.code, reason=why, at=ws.now))


def record_answer(uow: UnitOfWork, *, caller: Caller, unit_code: str, item_code: str, raw: dict[str, Any] | None,
                  now: datetime, not_applicable: bool = False) -> AnswerOutcome:
    """Validate, score and store one answer with its self score and audit row, in one transaction."""
    with uow:
        ws = _workspace(uow, caller, unit_code, now, Action.ASSESS)
        item = _item(ws, item_code)
        _writable(ws)
        if not_applicable:
            if not item.not_applicable_allowed:
                raise DomainError("assess.na_not_allowed", item=item.code)
            value, points = {}, None
        else:
            value = item.rule.parse(raw or {})
            points = item.rule.score(value, item.maximum, ws.unit.block)
        na = points is None  # a ratio with a zero denominator may mean "does not apply" by its rule
        old = uow.answers.get(ws.period.id, ws.unit.code, item.code)
        changed = old is None or old.value != value or old.not_applicable != na
        if changed:
            uow.answers.put(ws.period.id, Answer(
                unit_code=ws.unit.code, item_code=item.code, value=value, not_applicable=na, points=points,
                explanation=old.explanation if old else None, answered_by=caller.person_id, answered_at=now))
            put_score(uow, ws.period, Score(unit_code=ws.unit.code, item_code=item.code, source="self",
                                            points=points, not_applicable=na, by=caller.actor, at=now),
                      caller.actor, action="answer")
            _clear_approval(uow, ws, caller, f"answer {item.code} changed")
            uow.commit()
            ws = replace(ws, stage=uow.stages.get(ws.period.id, ws.unit.code))
        return AnswerOutcome(view=view_from(_overview(uow, ws), item), changed=changed)


def _text(value: str, limits: tuple[int, int], code: str) -> str:
    text = clean_text(value)
    if not visible(text):
        raise DomainError("text.invisible")
    if not limits[0] <= len(text) <= limits[1]:
        raise DomainError(code, minimum=limits[0], maximum=limits[1], length=len(text))
    return text


def _attach(uow: UnitOfWork, ws: Workspace, caller: Caller, item: Item, evidence: Evidence, note: str,
            now: datetime) -> tuple[ItemView, bool]:
    """Record evidence once (the same file or reference again on the same item adds nothing), with its audit."""
    existing = uow.evidence.for_unit(ws.period.id, ws.unit.code)
    added = not any(e.item_code == item.code and e.kind == evidence.kind and e.sha256 == evidence.sha256
                    and e.reference == evidence.reference for e in existing)
    if added:
        uow.evidence.add(ws.period.id, evidence)
        uow.audit.add(AuditEntry(actor=caller.actor, action="evidence", period_id=ws.period.id,
                                 unit_code=ws.unit.code, item_code=item.code, new=note, at=now))
        uow.commit()
    return view_from(_overview(uow, ws), item), added


def add_evidence_file(uow: UnitOfWork, *, caller: Caller, store: Any, unit_code: str, item_code: str, data: bytes,
                      file_name: str | None, mime_type: str | None, now: datetime) -> tuple[ItemView, bool]:
    """Keep a document or photo (content-addressed: the same file twice is one record). ``store`` is the
    evidence store (``put(bytes) -> blob with sha256, path, size``)."""
    with uow:
        ws = _workspace(uow, caller, unit_code, now, Action.ASSESS)
        item = _item(ws, item_code)
        _writable(ws)
        if not data:
            raise DomainError("evidence.empty")
        if len(data) > DOWNLOAD_LIMIT:
            raise DomainError("evidence.too_big", size_mb=round(len(data) / 1024 / 1024, 1), limit_mb=20)
        blob = store.put(data)
        evidence = Evidence(id=None, unit_code=ws.unit.code, item_code=item.code, kind="file", sha256=blob.sha256,
                            stored_path=blob.path, size=blob.size, mime_type=mime_type,
                            file_name=clean_text(file_name) or None if file_name else None,
                            sender_id=caller.person_id)
        return _attach(uow, ws, caller, item, evidence, f"file {blob.sha256[:12]}", now)


def add_reference(uow: UnitOfWork, *, caller: Caller, unit_code: str, item_code: str, text: str,
                  now: datetime) -> tuple[ItemView, bool]:
    """A typed document reference (số/ký hiệu, ngày) instead of a file."""
    reference = _text(text, REFERENCE_LENGTH, "evidence.reference_length")
    with uow:
        ws = _workspace(uow, caller, unit_code, now, Action.ASSESS)
        item = _item(ws, item_code)
        _writable(ws)
        evidence = Evidence(id=None, unit_code=ws.unit.code, item_code=item.code, kind="reference",
                            reference=reference, sender_id=caller.person_id)
        return _attach(uow, ws, caller, item, evidence, f"reference {reference}", now)


def set_explanation(uow: UnitOfWork, *, caller: Caller, unit_code: str, item_code: str, text: str,
                    now: datetime) -> ItemView:
    """Why evidence is missing or how the item was scored (giải trình); kept on the answer."""
    explanation = _text(text, EXPLANATION_LENGTH, "assess.explanation_length")
    with uow:
        ws = _workspace(uow, caller, unit_code, now, Action.ASSESS)
        item = _item(ws, item_code)
        _writable(ws)
        answer = uow.answers.get(ws.period.id, ws.unit.code, item.code)
        if answer is None:
            raise DomainError("assess.answer_first", item=item.code)
        if answer.explanation != explanation:
            uow.answers.put(ws.period.id, replace(answer, explanation=explanation, answered_at=answer.answered_at))
            uow.audit.add(AuditEntry(actor=caller.actor, action="explanation", period_id=ws.period.id,
                                     unit_code=ws.unit.code, item_code=item.code, old=answer.explanation,
                                     new=explanation, at=now))
            _clear_approval(uow, ws, caller, f"explanation {item.code} changed")
            uow.commit()
            ws = replace(ws, stage=uow.stages.get(ws.period.id, ws.unit.code))
        return view_from(_overview(uow, ws), item)


def _require_complete(over: Overview) -> None:
    progress = over.progress
    if not progress.complete:
        raise DomainError("assess.incomplete", missing=len(progress.missing_items),
                          missing_evidence=len(progress.missing_evidence))


def check_submittable(over: Overview) -> None:
    """Raise what submitting now would refuse (read-only, incomplete, the leader's approval missing)."""
    ws = over.ws
    if ws.stage.submitted_at is not None:
        return
    require(ws.grants, Action.SUBMIT, ws.unit)
    _writable(ws)
    _require_complete(over)
    if ws.approval_required and ws.stage.approved_at is None:
        raise DomainError("assess.approval_needed")


def submit(uow: UnitOfWork, *, caller: Caller, unit_code: str, now: datetime) -> tuple[Overview, bool]:
    """Lock the self-assessment. Returns (overview, newly submitted); submitting twice changes nothing."""
    with uow:
        ws = _workspace(uow, caller, unit_code, now, Action.SUBMIT)
        if ws.stage.submitted_at is not None:
            return _overview(uow, ws), False
        check_submittable(_overview(uow, ws))
        uow.stages.put(ws.period.id, replace(ws.stage, submitted_at=now, submitted_by=caller.person_id))
        uow.audit.add(AuditEntry(actor=caller.actor, action="submit", period_id=ws.period.id,
                                 unit_code=ws.unit.code, at=now))
        uow.commit()
        ws = replace(ws, stage=uow.stages.get(ws.period.id, ws.unit.code), read_only="submitted")
        return _overview(uow, ws), True


def approve(uow: UnitOfWork, *, caller: Caller, unit_code: str, now: datetime) -> tuple[Overview, bool]:
    """The unit leader's approval, where the period asks for it, of a complete self-assessment."""
    with uow:
        ws = _workspace(uow, caller, unit_code, now, Action.APPROVE)
        if not ws.approval_required:
            raise DomainError("assess.approval_not_required")
        if ws.stage.approved_at is not None or ws.stage.submitted_at is not None:
            return _overview(uow, ws), False
        if ws.read_only in ("closed", "not_open"):
            raise DomainError(f"assess.{ws.read_only}", deadline=ws.deadline, opens=ws.opens)
        _require_complete(_overview(uow, ws))
        uow.stages.put(ws.period.id, replace(ws.stage, approved_at=now, approved_by=caller.person_id))
        uow.audit.add(AuditEntry(actor=caller.actor, action="approve", period_id=ws.period.id,
                                 unit_code=ws.unit.code, at=now))
        uow.commit()
        ws = replace(ws, stage=uow.stages.get(ws.period.id, ws.unit.code))
        return _overview(uow, ws), True


def current_tag(uow: UnitOfWork) -> str | None:
    """The tag of the period buttons are made for now (None when no period exists)."""
    with uow:
        period = uow.periods.current()
        return None if period is None else period_tag(period)
