"""Publication (công bố): refuse while anything is missing, freeze the results, tell every unit and leader.

A snapshot is a block's results (with item detail) as canonical JSON: keys sorted, no whitespace, numbers
as normalised decimal text, indices with 2 decimals. Its SHA-256 is the content hash. Snapshots are only
ever added: a later change is a new revision, made with ``revise=True`` and a reason, both audited.
"""
from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import datetime, timezone

from ..decimals import fmt
from ..errors import DomainError, Message, NotFound, ValidationFailed
from ..model import AuditEntry, Period, Snapshot
from ..permissions import Action, Caller, Role, require
from ..ports import UnitOfWork
from ..results import NA, BlockResult, UnitResult
from .appraisal import unit_recipients
from . import channels
from .periods import get_period
from .results import block_results


def _mark(value: object) -> str | None:
    if value is None:
        return None
    return "na" if value is NA else fmt(value)  # type: ignore[arg-type]


def _unit(u: UnitResult) -> dict:
    extra = {"excluded": u.excluded} if u.excluded else {}  # absent when ranked: older snapshots keep their hash
    return extra | {"code": u.unit.code, "name": u.unit.name, "rank": u.rank, "rank_of": u.rank_of,
            "classification": u.classification, "assessed": fmt(u.assessed), "survey": fmt(u.survey),
            "bonus": fmt(u.bonus), "deduction": fmt(u.deduction), "total": fmt(u.total), "maximum": fmt(u.maximum),
            "index": f"{u.index:.2f}", "self_total": fmt(u.self_total),
            "areas": [{"code": a.code, "name": a.name, "points": fmt(a.points), "maximum": fmt(a.maximum),
                       "index": f"{a.index:.2f}"} for a in u.areas],
            "items": [{"code": i.code, "area": i.area_code, "self": _mark(i.self_points),
                       "appraised": _mark(i.appraised_points), "points": fmt(i.points), "maximum": fmt(i.maximum),
                       "not_applicable": i.not_applicable, "reason": i.reason} for i in u.items]}


def _band(b) -> dict:
    out = {"label": b.label, "min_index": fmt(b.min_index)}
    if b.exclusive:
        out["exclusive"] = True
    if b.min_area_index is not None:
        out["min_area_index"] = fmt(b.min_area_index)
    return out


def canonical(result: BlockResult) -> dict:
    """Options at their defaults are left out, so snapshots published before they existed keep their hash."""
    ranking = result.ranking
    extra = {"ranking": {"precision": ranking.precision, "tie_breakers": list(ranking.tie_breakers)}} \
        if ranking.precision is not None or ranking.tie_breakers else {}
    return extra | {"year": result.year, "block": result.block, "block_name": result.block_name,
            "average_index": f"{result.average_index:.2f}", "tie_rule": result.tie_rule,
            "bands": [_band(b) for b in result.bands],
            "area_averages": {code: f"{value:.2f}" for code, value in result.area_averages().items()},
            "units": [_unit(u) for u in result.units]}


def content_hash(results: dict) -> str:
    text = json.dumps(results, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def missing(results: list[BlockResult]) -> list[str]:
    """What keeps the results from being published: unappraised items, absent survey points."""
    problems = []
    for block in results:
        for u in sorted(block.units, key=lambda r: r.unit.code):
            if u.missing_appraisal:
                problems.append(Message("publication.not_appraised", block=block.block, unit=u.unit.code, count=u.missing_appraisal))
            if u.missing_survey:
                problems.append(Message("publication.survey_missing", block=block.block, unit=u.unit.code, count=u.missing_survey))
    return problems


def publish(uow: UnitOfWork, *, caller: Caller, block: str | None = None, revise: bool = False,
            reason: str | None = None, year: int | None = None, now: datetime | None = None) -> list[Snapshot]:
    """Freeze each block's results as a new snapshot and queue the result notices and rankings."""
    require(caller.grants, Action.ADMINISTER)
    now = now or datetime.now(timezone.utc)
    reason = unicodedata.normalize("NFC", (reason or "").strip()) or None
    if revise and not reason:
        raise DomainError("publish.reason_required")
    with uow:
        period = get_period(uow, year)
        if block is not None and block not in period.criteria_sets:
            raise NotFound("block.not_found", block=block, year=period.year)
        results = [block_results(uow, period, b, with_items=True) for b in ([block] if block else period.blocks)]
        problems = missing(results)
        if problems:
            raise ValidationFailed("publish.incomplete", problems, year=period.year)
        out = []
        for result in results:
            latest = uow.snapshots.latest(period.id, result.block)
            if latest is not None and not revise:
                raise DomainError("publish.already_published", block=result.block, revision=latest.revision)
            if latest is None and revise:
                raise DomainError("publish.nothing_to_revise", block=result.block)
            data = canonical(result)
            digest = content_hash(data)
            if latest is not None and latest.content_hash == digest:
                raise DomainError("publish.unchanged", block=result.block, revision=latest.revision)
            snapshot = Snapshot(period_id=period.id, block=result.block,
                                revision=latest.revision + 1 if latest else 1, results=data, content_hash=digest,
                                published_by=caller.actor, reason=reason, published_at=now)
            uow.snapshots.add(snapshot)
            uow.audit.add(AuditEntry(actor=caller.actor, action="revise" if revise else "publish",
                                     period_id=period.id, source=f"snapshot:{result.block}",
                                     old=f"r{latest.revision} {latest.content_hash[:12]}" if latest else None,
                                     new=f"r{snapshot.revision} {digest[:12]}", reason=reason, at=now))
            _queue(uow, period, snapshot, now)
            out.append(snapshot)
        uow.commit()
    return out


def _queue(uow: UnitOfWork, period: Period, snapshot: Snapshot, now: datetime) -> None:
    data = snapshot.results
    prefix = f"{period.year}/publish/{snapshot.block}/r{snapshot.revision}"
    head = {"year": period.year, "block": snapshot.block, "block_name": data["block_name"],
            "revision": snapshot.revision}
    for unit in data["units"]:
        payload = {**head, **{k: v for k, v in unit.items() if k != "items"}}
        for person in unit_recipients(uow, unit["code"]):
            uow.outbox.enqueue(f"{prefix}/{unit['code']}/p{person.id}", person.id, person.chat_id, "result_notice",
                               payload, not_before=now)
    reaches = channels.reachable(uow)
    leaders = {p.id: p for p in uow.roles.holders(Role.PROVINCE_LEADER.value) if reaches(p)}
    if period.config.leaders_see_block_ranking:
        for unit in data["units"]:
            leaders.update({p.id: p for p in uow.roles.holders(Role.UNIT_LEADER.value, unit["code"])
                            if reaches(p)})
    ranking = {**head, "average_index": data["average_index"],
               "rows": [{k: u[k] for k in ("rank", "code", "name", "total", "maximum", "index", "classification")}
                        for u in data["units"]]}
    for person in leaders.values():
        uow.outbox.enqueue(f"{prefix}/ranking/p{person.id}", person.id, person.chat_id, "ranking", ranking,
                           not_before=now)


def snapshots(uow: UnitOfWork, *, year: int | None = None, block: str | None = None) -> list[Snapshot]:
    with uow:
        period = get_period(uow, year)
        return uow.snapshots.history(period.id, block)
