"""What a person may see of the results, and the data behind each chart.

Published results come from the latest snapshot: its marks are replayed through the engine with the
period's criteria (locked once scores exist) and the snapshot's bands, tie rule and unit names, and the
replay must reproduce the snapshot's content hash — so every chart shows exactly what was published,
with the item names and area labels the snapshot does not carry. Every view has a ``key`` naming its
content (the snapshot's hash, or a hash of the live results), valid as a cache key for its charts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ..errors import DomainError, NotFound, PermissionDenied
from ..model import Period, Snapshot, Unit
from ..permissions import UNIT_ROLES, Action, Caller, Grant, allowed, own_blocks, require
from ..ports import UnitOfWork
from ..results import NA, Band, BlockResult, ItemMarks, Ranking, UnitResult, UnitRef, compute_block
from .periods import get_period
from .progress import period_progress
from .publication import canonical, content_hash
from .results import block_results


@dataclass(frozen=True)
class RankingView:
    result: BlockResult
    published: bool  # False: live results, marked provisional
    key: str


@dataclass(frozen=True)
class UnitView:
    block: BlockResult
    unit: UnitResult
    key: str  # the snapshot's content hash

    @property
    def lost(self) -> list:
        """Items that cost the unit points (below their maximum, or a deduction taken), in criteria order."""
        return [i for i in self.unit.items
                if (i.points if i.section == "deduction" else i.lost) > 0]


def _mark(text: str | None):
    if text is None:
        return None
    return NA if text == "na" else Decimal(text)


def block_from_snapshot(period: Period, snapshot: Snapshot) -> BlockResult:
    """The published block as the engine's result (with items), checked against the snapshot's hash."""
    data = snapshot.results
    criteria = period.criteria_for(snapshot.block)
    marks: dict[str, dict[str, ItemMarks]] = {}
    for unit in data["units"]:
        marks[unit["code"]] = {
            i["code"]: (ItemMarks(survey=Decimal(i["points"])) if criteria.items[i["code"]].is_survey else
                        ItemMarks(self=_mark(i["self"]), appraised=_mark(i["appraised"]), reason=i["reason"]))
            for i in unit["items"]}
    units = [UnitRef(u["code"], u["name"], snapshot.block) for u in data["units"]]
    bands = tuple(Band(b["label"], Decimal(b["min_index"]), b.get("exclusive", False),
                       Decimal(b["min_area_index"]) if "min_area_index" in b else None) for b in data["bands"])
    options = data.get("ranking", {})
    ranking = Ranking(options.get("precision"), tuple(options.get("tie_breakers", ())))
    result = compute_block(criteria, data["block_name"], units, marks, bands, data["tie_rule"], with_items=True,
                           ranking=ranking, year=data["year"])
    if content_hash(canonical(result)) != snapshot.content_hash:
        raise DomainError("report.snapshot_mismatch", block=snapshot.block, revision=snapshot.revision)
    return result


def published(uow: UnitOfWork, period: Period, block: str) -> tuple[BlockResult, Snapshot] | None:
    snapshot = uow.snapshots.latest(period.id, block)
    return None if snapshot is None else (block_from_snapshot(period, snapshot), snapshot)


def ranking_blocks(uow: UnitOfWork, period: Period, grants: tuple[Grant, ...]) -> tuple[list[str], bool]:
    """Blocks whose ranking the person may see, and whether they may see it before publication
    (province leaders and admins: every block, live results too; unit leaders: their own blocks, once
    published, where the period allows)."""
    if allowed(grants, Action.VIEW_RANKING):
        return period.blocks, True
    if not period.config.leaders_see_block_ranking:
        return [], False
    units = {u.code: u for u in uow.units.list(year=period.year)}
    return [b for b in period.blocks if b in own_blocks(grants, units)], False


def require_ranking(uow: UnitOfWork, period: Period, grants: tuple[Grant, ...], block: str) -> bool:
    """Refused unless the person may see the block's ranking now; whether they may see it live."""
    if block not in period.criteria_sets:
        raise NotFound("block.not_found", block=block, year=period.year)
    blocks, live = ranking_blocks(uow, period, grants)
    if block not in blocks:
        raise PermissionDenied("permission.denied", action=Action.VIEW_RANKING.value, unit=block)
    return live


def ranking(uow: UnitOfWork, *, caller: Caller, block: str, year: int | None = None) -> RankingView:
    with uow:
        period = get_period(uow, year)
        live = require_ranking(uow, period, caller.grants, block)
        found = published(uow, period, block)
        if found is not None:
            return RankingView(found[0], True, found[1].content_hash)
        if not live:
            raise DomainError("report.not_published", year=period.year)
        result = block_results(uow, period, block)
        return RankingView(result, False, content_hash(canonical(result)))


def visible_rankings(uow: UnitOfWork, *, caller: Caller, year: int | None = None) -> list[RankingView]:
    """Every block's ranking the person may see now (published, or live for those allowed)."""
    with uow:
        period = get_period(uow, year)
        blocks, live = ranking_blocks(uow, period, caller.grants)
        published_blocks = {b for b in blocks if uow.snapshots.latest(period.id, b) is not None}
    return [ranking(uow, caller=caller, block=b, year=year) for b in blocks if live or b in published_blocks]


def unit_result(uow: UnitOfWork, *, caller: Caller, unit_code: str, year: int | None = None) -> UnitView:
    """A unit's published result; refused unless the person may view that unit."""
    with uow:
        period = get_period(uow, year)
        unit = require_unit(uow, period, caller.grants, unit_code)
        found = published(uow, period, unit.block)
        if found is None:
            raise DomainError("report.not_published", year=period.year)
        block, snapshot = found
        mine = next((u for u in block.units if u.unit.code == unit_code), None)
        if mine is None:
            raise DomainError("report.not_published", year=period.year)
        return UnitView(block, mine, snapshot.content_hash)


def require_unit(uow: UnitOfWork, period: Period, grants: tuple[Grant, ...], unit_code: str) -> Unit:
    """The unit as of the period, refused unless the person may view it (an unknown unit answers alike)."""
    unit = uow.units.get(unit_code, period.year)
    if unit is None:
        raise PermissionDenied("permission.denied", action=Action.VIEW_UNIT.value, unit=unit_code)
    require(grants, Action.VIEW_UNIT, unit)
    return unit


def own_units(grants: tuple[Grant, ...]) -> list[str]:
    """Units a person belongs to (officer or leader), in grant order."""
    return list(dict.fromkeys(g.unit_code for g in grants if g.unit_code and g.role in UNIT_ROLES))


def progress_counts(uow: UnitOfWork, *, caller: Caller, now: datetime,
                    year: int | None = None) -> dict[str, dict[str, int]]:
    """Per block (by its display name): how many units have not started, are in progress, submitted, late."""
    require(caller.grants, Action.VIEW_PROGRESS)
    with uow:
        period = get_period(uow, year)
        progress = period_progress(uow, period)
        deadline = period.config.deadlines.self_assessment_closes
        out: dict[str, dict[str, int]] = {}
        for block in period.blocks:
            row = uow.blocks.get(block)
            counts = {"not_started": 0, "in_progress": 0, "submitted": 0, "late": 0}
            for unit in uow.units.list(block=block, year=period.year):
                counts[progress[unit.code].status(deadline, now)] += 1
            out[row.name if row else block] = counts
        return out


def report_blocks(uow: UnitOfWork, *, year: int | None = None
                  ) -> tuple[Period, list[BlockResult], bool, dict[str, Decimal]]:
    """For the PDF report: each block as published (live results where a block is not, then the report is
    provisional) and last year's published index per unit code where that year exists."""
    with uow:
        period = get_period(uow, year)
        blocks, provisional = [], False
        for block in period.blocks:
            found = published(uow, period, block)
            provisional = provisional or found is None
            blocks.append(found[0] if found else block_results(uow, period, block, with_items=True))
        previous: dict[str, Decimal] = {}
        before = uow.periods.get(period.year - 1)
        for block in before.blocks if before else []:
            snapshot = uow.snapshots.latest(before.id, block)
            for unit in snapshot.results["units"] if snapshot else []:
                previous[unit["code"]] = Decimal(unit["index"])
        return period, blocks, provisional, previous
