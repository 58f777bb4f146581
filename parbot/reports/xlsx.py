"""The results workbook: a ranking sheet per block in the shape provinces publish, and an item-detail sheet
per unit whose result carries its items.

Written in openpyxl's write-only mode: rows stream to the file, so 10,000 units take seconds and little
memory. Points stay Decimal (exact in the file) with 2-decimal number formats.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import IO, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from parbot.core.results import EXCLUDED_UNSCORED, NA, BlockResult, UnitResult

from . import abbreviate, class_label, num, t

INDEX_FORMAT = "0.00"  # indices at 2 decimals; points at the criteria set's points_decimals
_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
SHEET_NAME_MAX = 31
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=13)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")
_FORMULA_START = ("=", "+", "-", "@")  # what Excel takes for a formula when the cell is typed or re-entered


# Unicode noncharacters: XML 1.0 cannot hold U+FFFE/U+FFFF, so a workbook holding them never opens again.
_NONCHARACTERS = re.compile("[\ufdd0-\ufdef\ufffe\uffff]")


def plain(value: object) -> object:
    """User text without the control characters (NUL, ESC, other C0 but tab and newlines) that XML cannot
    hold and openpyxl refuses with IllegalCharacterError; other values unchanged."""
    return _NONCHARACTERS.sub("", ILLEGAL_CHARACTERS_RE.sub("", value)) if isinstance(value, str) else value


def as_text(cell) -> None:
    """Keep a text cell text: a unit name or an explanation starting with '=' stays a string (not a formula),
    and the quote prefix keeps Excel from evaluating it when someone edits the cell."""
    if isinstance(cell.value, str) and cell.value.startswith(_FORMULA_START):
        cell.data_type = "s"
        cell.quotePrefix = True


def text_cell(ws, value: object):
    cell = WriteOnlyCell(ws, plain(value))
    as_text(cell)
    return cell


class _SheetNames:
    """Excel's rules: ≤ 31 characters, none of []:*?/\\, not starting or ending with an apostrophe, unique
    regardless of case."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, wanted: str) -> str:
        base = _FORBIDDEN.sub(" ", plain(wanted)).strip().strip("'").strip() or "Sheet"
        name, n = base[:SHEET_NAME_MAX].rstrip(), 1
        while name.casefold() in self.used:
            n += 1
            suffix = f" ({n})"
            name = base[:SHEET_NAME_MAX - len(suffix)].rstrip() + suffix
        self.used.add(name.casefold())
        return name


class _Cells:
    """Write-only cells with a style; styles are interned by openpyxl, so building one per value is cheap."""

    def __init__(self, ws: WriteOnlyWorksheet, places: int = 2) -> None:
        self.ws = ws
        self.points_format = "0." + "0" * places

    def number(self, value: Decimal | int | None, bold: bool = False, fmt: str | None = None):
        cell = WriteOnlyCell(self.ws, value)
        cell.number_format = fmt or self.points_format
        if bold:
            cell.font = _BOLD
        return cell

    def text(self, value: str | None, bold: bool = False, wrap: bool = False):
        cell = text_cell(self.ws, value)
        if bold:
            cell.font = _BOLD
        if wrap:
            cell.alignment = _WRAP
        return cell

    def header(self, values: Sequence[str]) -> list:
        out = []
        for value in values:
            cell = text_cell(self.ws, value)
            cell.font, cell.fill, cell.alignment = _BOLD, _HEADER_FILL, _WRAP
            out.append(cell)
        return out

    def title(self, value: str):
        cell = text_cell(self.ws, value)
        cell.font = _TITLE
        return cell


def _widths(ws: WriteOnlyWorksheet, widths: Sequence[float]) -> None:
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width


def _scored_areas(block: BlockResult) -> list[int]:
    """Positions of the areas shown as columns: a survey-only area is the survey column already."""
    first = block.units[0].areas if block.units else ()
    return [i for i, _ in enumerate(block.area_codes) if not (i < len(first) and first[i].survey_only)]


def _area_headers(block: BlockResult, positions: list[int]) -> list[str]:
    first = block.units[0].areas if block.units else ()
    names = {a.code: a.short or a.name for a in first}
    codes = [block.area_codes[i] for i in positions]
    return [f"{code}. {names[code]}" if code in names else code for code in codes]


def _survey_header(block: BlockResult, lang: str) -> str:
    """The survey column, named after the area it stands for when one area is measured only by the survey
    (e.g. "8. Tác động (Điểm ĐTXHH)"), so a reader does not look for that area's own column."""
    first = block.units[0].areas if block.units else ()
    survey_areas = [a for a in first if a.survey_only]
    if len(survey_areas) != 1:
        return t(lang, "survey")
    area = survey_areas[0]
    return f"{area.code}. {area.short or area.name} ({t(lang, 'survey')})"


def _ranking_sheet(wb: Workbook, block: BlockResult, name: str, lang: str) -> None:
    ws = wb.create_sheet(name)
    cells = _Cells(ws, block.points_decimals)
    with_bonus = any(u.bonus for u in block.units)
    with_deduction = any(u.deduction for u in block.units)
    positions = _scored_areas(block)
    header = [t(lang, "rank"), t(lang, "unit_code"), t(lang, "unit"), *_area_headers(block, positions),
              _survey_header(block, lang)]
    header += [t(lang, "bonus")] * with_bonus + [t(lang, "deduction")] * with_deduction
    header += [t(lang, "total"), t(lang, "maximum"), t(lang, "index_pct"), t(lang, "class")]
    _widths(ws, [8, 12, 44, *[14] * len(positions), 12, *[11] * (with_bonus + with_deduction),
                 11, 11, 11, 16])
    ws.freeze_panes = "D3"  # keep the header and the rank, code and name in view
    ws.append([cells.title(t(lang, "ranking_title", year=block.year, block=block.block_name))])
    ws.append(cells.header(header))
    for unit in block.units:
        row = [cells.number(unit.rank or None, fmt="0"), cells.text(unit.unit.code), cells.text(unit.unit.name),
               *(cells.number(unit.areas[i].points) for i in positions), cells.number(unit.survey)]
        if with_bonus:
            row.append(cells.number(unit.bonus))
        if with_deduction:
            row.append(cells.number(unit.deduction))
        # Left out: no index, and no total when unscored (an empty cell, not a 0 that sums and sorts as a score).
        row += [cells.number(None if unit.excluded == EXCLUDED_UNSCORED else unit.total, bold=True),
                cells.number(unit.maximum),
                cells.number(None if unit.excluded else unit.index, bold=True, fmt=INDEX_FORMAT),
                cells.text(unit.classification if unit.excluded is None else class_label(unit, lang))]
        ws.append(row)
    gap = [None] * (len(header) - 5)  # the columns between the unit's name and the index
    ws.append([None, None, cells.text(t(lang, "block_average"), bold=True), *gap,
               cells.number(block.average_index, bold=True, fmt=INDEX_FORMAT)])


def _mark(cells: _Cells, mark, lang: str):
    return cells.text(t(lang, "not_applicable")) if mark is NA else cells.number(mark)


def _unit_sheet(wb: Workbook, block: BlockResult, unit: UnitResult, name: str, lang: str) -> None:
    ws = wb.create_sheet(name)
    cells = _Cells(ws, block.points_decimals)
    _widths(ws, [10, 60, 11, 11, 11, 11, 11, 50])
    ws.freeze_panes = "A4"
    rank = f"{unit.rank}/{unit.rank_of}" if unit.rank else "—"
    ws.append([cells.title(f"{unit.unit.name} – {block.block_name} {block.year}")])
    ws.append([f"{t(lang, 'index')}: {num(unit.index, lang)}%", None, f"{t(lang, 'rank')}: {rank}", None,
               cells.text(f"{t(lang, 'class')}: {class_label(unit, lang)}")])
    ws.append(cells.header([t(lang, "code"), t(lang, "item"), t(lang, "maximum"), t(lang, "self"),
                            t(lang, "appraised"), t(lang, "points"), t(lang, "lost"), t(lang, "reason")]))
    sections = {"bonus": t(lang, "section_bonus"), "deduction": t(lang, "section_deduction")}
    by_area = {a.code: a for a in unit.areas}
    current = None
    for item in unit.items:
        if item.area_code != current:
            current = item.area_code
            area = by_area.get(current)
            if area is not None:
                ws.append([cells.text(area.code, bold=True), cells.text(area.name, bold=True),
                           cells.number(area.maximum, bold=True), cells.number(area.self_points, bold=True), None,
                           cells.number(area.points, bold=True), cells.number(area.maximum - area.points, bold=True)])
            else:
                ws.append([cells.text(current, bold=True), cells.text(sections[item.section], bold=True)])
        ws.append([cells.text(item.code), cells.text(item.name, wrap=True), cells.number(item.maximum),
                   _mark(cells, item.self_points, lang) if item.self_points is not None else None,
                   _mark(cells, item.appraised_points, lang) if item.appraised_points is not None else None,
                   cells.number(item.points), cells.number(item.lost), cells.text(item.reason, wrap=True)])
    ws.append([None, cells.text(t(lang, "total"), bold=True), cells.number(unit.maximum, bold=True),
               cells.number(unit.self_total, bold=True), None, cells.number(unit.total, bold=True)])


def results_xlsx(blocks: Sequence[BlockResult], path_or_buffer: str | IO[bytes], lang: str = "vi") -> None:
    """Write the workbook to a path or a binary buffer: the ranking sheets first, in the blocks' order,
    then a detail sheet per unit whose result was computed with its items."""
    t(lang, "unit")  # refuse an unsupported language before writing anything
    wb = Workbook(write_only=True)
    names = _SheetNames()
    for block in blocks:
        _ranking_sheet(wb, block, names.take(block.block_name), lang)
    for block in blocks:
        for unit in block.units:
            if unit.items:
                _unit_sheet(wb, block, unit, names.take(f"{unit.unit.code} {abbreviate(unit.unit.name)}"), lang)
    wb.save(path_or_buffer)
