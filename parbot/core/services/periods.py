"""Creating and reading periods (assessment years)."""
from __future__ import annotations

from pathlib import Path

from ..errors import DomainError, NotFound, ValidationFailed
from ..model import Period
from ..period import PeriodConfig, load_period
from ..permissions import Action, Caller, require
from ..ports import UnitOfWork
from . import catalog


def save_period(uow: UnitOfWork, *, caller: Caller, config: PeriodConfig, base: Path | None = None) -> Period:
    """Create or update a period; each block's criteria set is registered (or found by content)."""
    require(caller.grants, Action.ADMINISTER)
    sets = {block: catalog.load_file(catalog.locate(ref, base)) for block, ref in config.criteria.items()}
    for block, criteria_set in sets.items():
        if block not in criteria_set.block_codes:
            raise DomainError("period.block_not_in_set", block=block, set=criteria_set.code,
                              blocks=", ".join(criteria_set.block_codes))
        _check_tie_breakers(config, block, criteria_set)
    with uow:
        ids = {block: catalog.register(uow, s) for block, s in sets.items()}
        existing = uow.periods.get(config.year)
        if existing is not None:
            for block, criteria_set in existing.criteria_sets.items():
                changed = block in sets and sets[block].content_hash != criteria_set.content_hash
                if changed and uow.scores.for_period(existing.id, [u.code for u in uow.units.list(block)]):
                    raise DomainError("period.criteria_locked", year=config.year, block=block)
        period = uow.periods.save(config, ids)
        uow.commit()
    return period


def _check_tie_breakers(config: PeriodConfig, block: str, criteria_set) -> None:
    """An "area:<code>" tie-breaker names an area of every block's set: a misspelt code would otherwise
    compare nothing and leave the tie to the names, silently."""
    areas = [a.code for a in criteria_set.for_block(block).areas]
    for breaker in config.ranking.tie_breakers:
        kind, _, code = breaker.partition(":")
        if kind == "area" and code not in areas:
            raise DomainError("period.tie_breaker_area", area=code, block=block, set=criteria_set.code,
                              areas=", ".join(areas))


def create_from_file(uow: UnitOfWork, *, caller: Caller, path: Path) -> Period:
    config, problems = load_period(path)
    if config is None:
        raise ValidationFailed("period.invalid", list(problems), file=str(path))
    return save_period(uow, caller=caller, config=config, base=path.parent)


def get_period(uow: UnitOfWork, year: int | None) -> Period:
    period = uow.periods.get(year) if year is not None else uow.periods.current()
    if period is None:
        raise NotFound("period.not_found", year=year if year is not None else "-")
    return period
