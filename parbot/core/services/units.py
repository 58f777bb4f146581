"""The unit registry: import from a table, versioned by validity years with predecessor links."""
from __future__ import annotations

import unicodedata

from ..decimals import as_count
from ..errors import Message, ValidationFailed
from ..model import Block, Unit
from ..permissions import Action, Caller, require
from ..ports import UnitOfWork
from .tabular import Row, columns, where

COLUMNS = ("code", "name", "block")
OPTIONAL = ("parent", "valid_from", "valid_to", "predecessors", "block_name")


def _year(text: str, row: Row, column: str, problems: list) -> int | None:
    if not text:
        return None
    year = as_count(text)
    if year is None or not 1900 < year < 2200:
        problems.append(where(row, column, Message("units.not_a_year", value=text[:40])))
        return None
    return year


def import_units(uow: UnitOfWork, *, caller: Caller, header: list[str], rows: list[Row]) -> tuple[int, int]:
    """All rows are checked first; nothing is written unless every row is valid. Returns (added, updated).

    A row is a version of a unit from ``valid_from``: the same code with a later ``valid_from`` (a department
    moving block, a renamed commune) adds a version and closes the open one, so earlier years keep theirs."""
    require(caller.grants, Action.ADMINISTER)
    expected = columns(COLUMNS, OPTIONAL)
    problems = [Message("file.missing_column", column=c, expected=expected) for c in COLUMNS if c not in header]
    problems += [Message("file.unknown_column", column=c[:40], expected=expected) for c in header
                 if c not in COLUMNS + OPTIONAL]
    if problems:
        raise ValidationFailed("units.invalid", problems)
    units: list[Unit] = []
    block_names: dict[str, str] = {}
    seen: dict[str, int] = {}
    for row in rows:
        code, name, block = row.get("code"), unicodedata.normalize("NFC", row.get("name")), row.get("block")
        if not code or not code.replace("-", "").replace("_", "").replace(".", "").isalnum() or len(code) > 24 \
                or not code.isascii():
            problems.append(where(row, "code", Message("units.bad_code", unit=code[:40])))
        elif (code, row.get("valid_from")) in seen:
            problems.append(where(row, "code", Message("units.repeated", unit=code,
                                                       first=seen[code, row.get("valid_from")])))
        seen.setdefault((code, row.get("valid_from")), row.line)
        if not name:
            problems.append(where(row, "name", Message("units.empty")))
        if not block:
            problems.append(where(row, "block", Message("units.empty")))
        valid_from = _year(row.get("valid_from"), row, "valid_from", problems)
        valid_to = _year(row.get("valid_to"), row, "valid_to", problems)
        if valid_from and valid_to and valid_to < valid_from:
            problems.append(where(row, "valid_to", Message("units.ends_before_start", valid_to=valid_to,
                                                           valid_from=valid_from)))
        predecessors = tuple(p.strip() for p in row.get("predecessors").replace(",", ";").split(";") if p.strip())
        if row.get("block_name"):
            block_names[block] = unicodedata.normalize("NFC", row.get("block_name"))
        units.append(Unit(code=code, name=name, block=block, parent_code=row.get("parent") or None,
                          valid_from=valid_from, valid_to=valid_to, predecessors=predecessors))
    with uow:
        known = {u.code for u in uow.units.list()} | {code for code, _ in seen}
        known_blocks = {b.code for b in uow.blocks.list()} | set(block_names)
        for row, unit in zip(rows, units):
            if unit.parent_code and unit.parent_code not in known:
                problems.append(where(row, "parent", Message("units.unknown_unit", unit=unit.parent_code[:40])))
            for predecessor in unit.predecessors:
                if predecessor not in known:
                    problems.append(where(row, "predecessors", Message("units.unknown_unit", unit=predecessor[:40])))
            if unit.block and unit.block not in known_blocks:
                problems.append(where(row, "block", Message("units.unknown_block", block=unit.block[:40])))
        if problems:
            raise ValidationFailed("units.invalid", problems)
        for code, name in block_names.items():
            if uow.blocks.get(code) is None:
                uow.blocks.upsert(Block(code, name))
        added = updated = 0
        for unit in units:
            if not any((v.valid_from or 0) == (unit.valid_from or 0) for v in uow.units.versions(unit.code)):
                added += 1
            else:
                updated += 1
            uow.units.upsert(unit)
        for unit in units:
            # A predecessor absorbed by a unit from year Y ceases to exist after Y − 1.
            for predecessor in unit.predecessors:
                if predecessor != unit.code and unit.valid_from:
                    uow.units.close(predecessor, unit.valid_from - 1)
        uow.commit()
    return added, updated
