"""A new version of a criteria set attached to a running period (Sơn La: QĐ 2211, then QĐ 2712 weeks later).

Items are matched by code, or through a mapping (old code → new code(s)) for renamed, split or merged items.
What an item measures is its rule, its maximum, whether "Không phát sinh" is allowed and its section: an item
whose code and measure stay is kept with its answers, evidence and appraisals; a renamed one keeps them
under its new code. Answers and scores of a changed, replaced or removed item no longer count: they move into
the unit's history (``unit_stage.state["revisions"]``) and the audit, the evidence stays (and follows to the
new codes of a replaced item), and a submitted unit that has items to answer again is reopened. Every unit
of the block is told what changed through the outbox (kind ``criteria_revision``), once per version.
"""
from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Callable

import yaml

from ..criteria import BlockCriteria, CriteriaSet, Item
from ..decimals import fmt
from ..errors import DomainError, Message, ValidationFailed, file_problem, yaml_problem
from ..model import Answer, AuditEntry, Evidence, Period, Score, Unit
from ..permissions import Action, Caller, require
from ..ports import UnitOfWork
from . import catalog
from .appraisal import unit_recipients
from .periods import get_period
from .scores import describe

KEPT, RENAMED, CHANGED, REPLACED, REMOVED, ADDED = "kept", "renamed", "changed", "replaced", "removed", "added"
NOTICE = "criteria_revision"
MAX_MAPPING_CHARS = 200_000


@dataclass(frozen=True)
class Change:
    """One line of the mapping: what became of an old item (or that a new one appeared)."""

    kind: str
    old: Item | None
    new: tuple[Item, ...]
    differences: tuple[str, ...] = ()  # rule | maximum | not_applicable | section

    @property
    def old_code(self) -> str | None:
        return self.old.code if self.old else None

    @property
    def new_codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.new)


@dataclass(frozen=True)
class UnitRevision:
    unit_code: str
    unit_name: str
    moved: tuple[str, ...]  # old codes whose answers now sit under a new code
    superseded: tuple[str, ...]  # old codes whose answers or scores no longer count
    reopened: bool  # was submitted, must answer again
    notices: int


@dataclass(frozen=True)
class BlockRevision:
    block: str
    old_version: int
    new_version: int
    changes: tuple[Change, ...]
    units: tuple[UnitRevision, ...]

    @property
    def to_answer(self) -> tuple[str, ...]:
        """The self-scored items every unit of the block must (again) answer."""
        return _to_answer(self.changes)


@dataclass(frozen=True)
class Revision:
    year: int
    set_code: str
    version: int
    blocks: tuple[BlockRevision, ...]  # empty: the version is already attached (nothing to do)
    applied: bool  # False for a dry run
    self_assessment_closed: bool  # reopened units cannot answer until the deadline is moved


def _to_answer(changes: tuple[Change, ...]) -> tuple[str, ...]:
    return tuple(i.code for c in changes if c.kind in (CHANGED, REPLACED, ADDED) for i in c.new
                 if i.section == "area" and not i.is_survey)


def load_mapping(path: Path) -> dict[str, tuple[str, ...]]:
    """A YAML mapping ``old code: new code`` or ``old code: [new codes]``. Every scalar is read as text, so
    ``1.4`` stays the code "1.4" rather than a number."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DomainError("revision.mapping_unreadable", file=str(path), reason=file_problem(exc)) from None
    if len(text) > MAX_MAPPING_CHARS:
        raise DomainError("revision.mapping_unreadable", file=str(path),
                          reason=Message("criteria.too_large", size=len(text), limit=MAX_MAPPING_CHARS))
    try:
        raw = yaml.load(text, Loader=yaml.BaseLoader)  # noqa: S506 - BaseLoader builds only str, list, dict
    except yaml.YAMLError as exc:
        raise DomainError("revision.mapping_unreadable", file=str(path), reason=yaml_problem(exc)) from None
    if raw is None:
        return {}
    problems = []
    mapping: dict[str, tuple[str, ...]] = {}
    if not isinstance(raw, dict):
        raise ValidationFailed("revision.mapping_invalid", [Message("revision.mapping_not_a_mapping")], file=str(path))
    for old, new in raw.items():
        codes = (new,) if isinstance(new, str) else tuple(new) if isinstance(new, list) else ()
        if not codes or not all(isinstance(c, str) and c.strip() for c in codes) or len(set(codes)) != len(codes):
            problems.append(Message("revision.mapping_bad_entry", old=old))
            continue
        mapping[str(old).strip()] = tuple(c.strip() for c in codes)
    if problems:
        raise ValidationFailed("revision.mapping_invalid", problems, file=str(path))
    return mapping


def _codes(criteria_set: CriteriaSet) -> set[str]:
    return {code for block in criteria_set.block_codes for code in criteria_set.for_block(block).items}


def _check_mapping(mapping: dict[str, tuple[str, ...]], old_sets: list[CriteriaSet], new: CriteriaSet) -> None:
    old_codes = set().union(*(_codes(s) for s in old_sets))
    new_codes = _codes(new)
    problems = []
    for old, targets in mapping.items():
        if old not in old_codes:
            problems.append(Message("revision.map_unknown_old", old=old))
        elif old in new_codes:
            problems.append(Message("revision.map_old_kept", old=old))
        for target in targets:
            if target not in new_codes:
                problems.append(Message("revision.map_unknown_new", old=old, new=target))
            elif target in old_codes:
                problems.append(Message("revision.map_new_exists", old=old, new=target))
    if problems:
        raise ValidationFailed("revision.mapping_invalid", problems)


def _differences(old: Item, new: Item) -> tuple[str, ...]:
    found = []
    if old.rule != new.rule:
        found.append("rule")
    if old.maximum != new.maximum:
        found.append("maximum")
    if old.not_applicable_allowed != new.not_applicable_allowed:
        found.append("not_applicable")
    if old.section != new.section:
        found.append("section")
    return tuple(found)


def compare(old: BlockCriteria, new: BlockCriteria, mapping: dict[str, tuple[str, ...]]) -> tuple[Change, ...]:
    """Each old item's fate in set order, then the new items nothing maps to."""
    targets = Counter(code for codes in mapping.values() for code in codes)
    changes = []
    for item in old.items.values():
        if item.code in new.items:
            differences = _differences(item, new.items[item.code])
            changes.append(Change(CHANGED if differences else KEPT, item, (new.items[item.code],), differences))
            continue
        news = tuple(new.items[c] for c in mapping.get(item.code, ()) if c in new.items)
        if not news:
            changes.append(Change(REMOVED, item, ()))
        elif len(news) == 1 and targets[news[0].code] == 1:
            differences = _differences(item, news[0])
            changes.append(Change(CHANGED if differences else RENAMED, item, news, differences))
        else:
            changes.append(Change(REPLACED, item, news))
    reached = {code for c in changes for code in c.new_codes}
    changes += [Change(ADDED, None, (item,)) for item in new.items.values() if item.code not in reached]
    return tuple(changes)


def _history_of(answer: Answer | None, scores: list[Score]) -> dict:
    entry: dict = {"scores": {s.source: describe(s) for s in scores}}
    if answer is not None:
        entry |= {"value": answer.value, "not_applicable": answer.not_applicable,
                  "points": None if answer.points is None else fmt(answer.points), "explanation": answer.explanation,
                  "answered_by": answer.answered_by,
                  "answered_at": answer.answered_at.isoformat() if answer.answered_at else None}
    return entry


def _copy_evidence(uow: UnitOfWork, period: Period, evidence: list[Evidence], old: str, new: tuple[str, ...],
                   audit: Callable[..., None]) -> None:
    """The documents a unit gave for an item also document the items it became (records pointing at the
    same stored files)."""
    have = {(e.item_code, e.kind, e.sha256, e.reference, e.purpose) for e in evidence}
    for e in [e for e in evidence if e.item_code == old]:
        for code in new:
            if (code, e.kind, e.sha256, e.reference, e.purpose) not in have:
                uow.evidence.add(period.id, replace(e, id=None, item_code=code))
                have.add((code, e.kind, e.sha256, e.reference, e.purpose))
                audit("revision_evidence", item_code=code, old=old, new=f"evidence {e.id} of {old}")


def _revise_unit(uow: UnitOfWork, period: Period, unit: Unit, block: BlockRevision, caller: Caller, set_code: str,
                 now: datetime) -> UnitRevision:
    label = f"{set_code} v{block.old_version} → v{block.new_version}"  # audit and history; shown in words by the CLI
    stage = uow.stages.get(period.id, unit.code, for_update=True)
    answers = uow.answers.for_unit(period.id, unit.code)
    scores = uow.scores.for_period(period.id, [unit.code])
    evidence = uow.evidence.for_unit(period.id, unit.code)
    moved: dict[str, str] = {}  # old code -> new code
    superseded, history = [], {}

    def audit(action: str, **fields) -> None:
        uow.audit.add(AuditEntry(actor=caller.actor, action=action, period_id=period.id, unit_code=unit.code,
                                 at=now, **fields))

    for change in block.changes:
        if change.kind in (KEPT, ADDED):
            continue
        old = change.old_code
        answer, own = answers.get(old), [s for s in scores if s.item_code == old]
        if change.kind == RENAMED:
            new = change.new_codes[0]
            if answer is not None:
                uow.answers.put(period.id, replace(answer, item_code=new))
                uow.answers.delete(period.id, unit.code, old)
            uow.scores.put_many(period.id, [replace(s, item_code=new) for s in own])
            for s in own:
                uow.scores.delete(period.id, unit.code, old, s.source)
            _copy_evidence(uow, period, evidence, old, (new,), audit)
            if answer is not None or own:
                moved[old] = new
                audit("revision_move", item_code=new, old=old, new=new, reason=label)
            continue
        _copy_evidence(uow, period, evidence, old, tuple(c for c in change.new_codes if c != old), audit)
        if answer is None and not own:
            continue
        superseded.append(old)
        history[old] = _history_of(answer, own)
        if answer is not None:
            uow.answers.delete(period.id, unit.code, old)
        for s in own:
            uow.scores.delete(period.id, unit.code, old, s.source)
            audit("revision", item_code=old, source=s.source, old=describe(s), new=None,
                  reason=f"{label}: {change.kind}")
    to_answer = block.to_answer
    reopened = stage.submitted_at is not None and bool(to_answer)
    void = bool(to_answer) and stage.approved_at is not None  # the leader approved other content
    if superseded or moved or reopened or void:
        state = copy.deepcopy(stage.state)
        contests = state.get("appraisal", {}).get("contests", {})
        for old in superseded:  # an explanation against points that no longer count is history too
            if old in contests:
                history[old]["contest"] = contests.pop(old)
        for old, new in moved.items():
            if old in contests:
                contests[new] = contests.pop(old)
        state.setdefault("revisions", []).append({
            "set": label, "at": now.isoformat(), "by": caller.actor, "moved": moved, "superseded": history,
            "reopened": reopened, "was_submitted_at": stage.submitted_at.isoformat() if reopened else None})
        changed = replace(stage, state=state)
        if reopened:
            changed = replace(changed, submitted_at=None, submitted_by=None)
            audit("reopen", old="submitted", new="open", reason=f"{label}: {', '.join(to_answer)}")
        if void:
            changed = replace(changed, approved_at=None, approved_by=None)
            audit("approval_void", reason=label)
        uow.stages.put(period.id, changed)
    payload = {"year": period.year, "unit": unit.code, "unit_name": unit.name, "set": set_code,
               "versions": [block.old_version, block.new_version],
               "kept": sum(c.kind in (KEPT, RENAMED) for c in block.changes), "reopened": reopened,
               "to_answer": list(to_answer),
               "changes": [{"kind": c.kind, "old": c.old_code, "new": list(c.new_codes),
                            "name": (c.old or c.new[0]).name,
                            "old_max": fmt(c.old.maximum) if c.old else None,
                            "new_max": fmt(sum(i.maximum for i in c.new)) if c.new else None}
                           for c in block.changes if c.kind != KEPT]}
    key = f"{period.year}/revision/{block.block}/v{block.new_version}/{unit.code}"
    notices = sum(uow.outbox.enqueue(f"{key}/p{person.id}", person.id, person.chat_id, NOTICE, payload,
                                     not_before=now)
                  for person in unit_recipients(uow, unit.code))
    return UnitRevision(unit.code, unit.name, tuple(moved), tuple(superseded), reopened, notices)


def revise(uow: UnitOfWork, *, caller: Caller, criteria_set: CriteriaSet, reference: str, now: datetime,
           year: int | None = None, mapping: dict[str, tuple[str, ...]] | None = None,
           dry_run: bool = False) -> Revision:
    """Attach ``criteria_set`` (a newer version of the set some blocks of the period use) in one transaction;
    with ``dry_run``, work out the same and roll it back. Attaching a version already attached does nothing."""
    require(caller.grants, Action.ADMINISTER)
    mapping = mapping or {}
    with uow:
        period = get_period(uow, year)
        blocks = [b for b, s in period.criteria_sets.items() if s.code == criteria_set.code]
        if not blocks:
            raise DomainError("revision.set_not_attached", set=criteria_set.code, year=period.year)
        missing = [b for b in blocks if b not in criteria_set.block_codes]
        if missing:
            raise DomainError("revision.block_missing", set=criteria_set.code, blocks=", ".join(missing))
        todo = [b for b in blocks if period.criteria_sets[b].content_hash != criteria_set.content_hash]
        closed = now > period.config.deadlines.self_assessment_closes
        if not todo:
            return Revision(period.year, criteria_set.code, criteria_set.spec.version, (), False, closed)
        for block in todo:
            old = period.criteria_sets[block].spec.version
            if criteria_set.spec.version <= old:
                raise DomainError("revision.version_not_newer", set=criteria_set.code, version=criteria_set.spec.version,
                                  current=old)
            if uow.snapshots.latest(period.id, block) is not None:
                raise DomainError("revision.published", block=block, year=period.year)
        _check_mapping(mapping, [period.criteria_sets[b] for b in todo], criteria_set)
        new_id = catalog.register(uow, criteria_set)
        results = []
        for block in todo:
            old_set = period.criteria_sets[block]
            plan = BlockRevision(block, old_set.spec.version, criteria_set.spec.version,
                                 compare(old_set.for_block(block), criteria_set.for_block(block), mapping), ())
            units = tuple(_revise_unit(uow, period, unit, plan, caller, criteria_set.code, now)
                          for unit in uow.units.list(block=block, year=period.year))
            counts = Counter(c.kind for c in plan.changes)
            uow.audit.add(AuditEntry(actor=caller.actor, action="criteria_revision", period_id=period.id,
                                     source=block, old=f"{old_set.code} v{old_set.spec.version}",
                                     new=f"{criteria_set.code} v{criteria_set.spec.version}",
                                     reason=", ".join(f"{kind} {counts[kind]}" for kind in
                                                      (KEPT, RENAMED, CHANGED, REPLACED, REMOVED, ADDED)
                                                      if counts[kind]), at=now))
            results.append(replace(plan, units=units))
        ids = {b: new_id if b in todo else uow.criteria_sets.id_of(s.code, s.spec.version)
               for b, s in period.criteria_sets.items()}
        config = period.config.model_copy(update={"criteria": period.config.criteria | {b: reference for b in todo}})
        uow.periods.save(config, ids)
        if not dry_run:
            uow.commit()
    return Revision(period.year, criteria_set.code, criteria_set.spec.version, tuple(results), not dry_run, closed)
