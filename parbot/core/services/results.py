"""Results of a period: the engine fed from storage."""
from __future__ import annotations

from ..criteria import BlockCriteria
from ..model import Period, ScoreValue
from ..ports import UnitOfWork
from ..results import NA, BlockResult, ItemMarks, UnitRef, compute_block
from .periods import get_period


def marks_from_scores(scores: list[ScoreValue]) -> dict[str, dict[str, ItemMarks]]:
    collected: dict[str, dict[str, dict]] = {}
    for s in scores:
        slot = collected.setdefault(s.unit_code, {}).setdefault(s.item_code, {})
        slot[s.source] = NA if s.not_applicable else s.points
        if s.source == "appraised" and s.reason:
            slot["reason"] = s.reason
    return {unit: {item: ItemMarks(**values) for item, values in items.items()}
            for unit, items in collected.items()}


def block_results(uow: UnitOfWork, period: Period, block: str, *, with_items: bool = False,
                  criteria: BlockCriteria | None = None) -> BlockResult:
    criteria = criteria or period.criteria_for(block)
    units = [u for u in uow.units.list(block=block, year=period.year)]
    marks = marks_from_scores(uow.scores.values_for_period(period.id, [u.code for u in units]))
    block_row = uow.blocks.get(block)
    return compute_block(criteria, block_row.name if block_row else block,
                         [UnitRef(u.code, u.name, u.block) for u in units], marks,
                         bands=period.config.bands_for(block), tie_rule=period.config.tie_rule,
                         with_items=with_items, ranking=period.config.ranking_rule(), year=period.year)


def period_results(uow: UnitOfWork, *, year: int | None = None, block: str | None = None,
                   with_items: bool = False) -> tuple[Period, list[BlockResult]]:
    with uow:
        period = get_period(uow, year)
        blocks = [block] if block else period.blocks
        return period, [block_results(uow, period, b, with_items=with_items) for b in blocks]
