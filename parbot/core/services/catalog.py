"""Registering criteria sets: from a shipped name or a path, validated, versioned by content."""
from __future__ import annotations

from pathlib import Path

from ..criteria import CriteriaSet, load_criteria_set, shipped_sets_dir
from ..errors import DomainError, ValidationFailed
from ..model import Block
from ..permissions import Action, Caller, require
from ..ports import UnitOfWork


def locate(reference: str, base: Path | None = None) -> Path:
    """A criteria-set reference is a path (relative to the period file) or the name of a shipped set."""
    candidates = [Path(reference)]
    if base is not None:
        candidates.insert(0, base / reference)
    candidates.append(shipped_sets_dir() / reference)
    candidates.append(shipped_sets_dir() / f"{reference}.yaml")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DomainError("criteria.not_found", reference=reference)


def register(uow: UnitOfWork, criteria_set: CriteriaSet) -> int:
    """Store the set once; the same code and version with other content must get a new version."""
    existing = uow.criteria_sets.get(criteria_set.code, criteria_set.spec.version)
    if existing is not None:
        if existing.content_hash != criteria_set.content_hash:
            raise DomainError("criteria.version_conflict", set_code=criteria_set.code,
                              version=criteria_set.spec.version)
        return uow.criteria_sets.id_of(criteria_set.code, criteria_set.spec.version)  # type: ignore[return-value]
    for block in criteria_set.spec.blocks:
        if uow.blocks.get(block.code) is None:
            uow.blocks.upsert(Block(block.code, block.name, block.name_en))
    return uow.criteria_sets.add(criteria_set)


def load_file(path: Path) -> CriteriaSet:
    criteria_set, problems = load_criteria_set(path)
    if criteria_set is None:
        raise ValidationFailed("criteria.invalid", list(problems), file=str(path))
    return criteria_set


def import_file(uow: UnitOfWork, *, caller: Caller, path: Path) -> tuple[CriteriaSet, int]:
    require(caller.grants, Action.ADMINISTER)
    criteria_set = load_file(path)
    with uow:
        set_id = register(uow, criteria_set)
        uow.commit()
    return criteria_set, set_id
