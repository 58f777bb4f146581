"""What the PDF report and the Word annex share: who publishes (the cover's heading), the ranking table
in the shape provinces publish (STT, Tên đơn vị, Điểm tối đa, Điểm đạt, Chỉ số (%), Xếp loại) and the units
compared area by area."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Mapping

from parbot.core.decimals import ZERO
from parbot.core.results import EXCLUDED_UNSCORED, BlockResult
from parbot.i18n import t as msg

from . import abbreviate, class_label, num, points, signed, t


@dataclass(frozen=True)
class Heading:
    """The publisher's lines of the cover: ``province`` "tỉnh Thanh Hóa", ``issuer`` "Sở Nội vụ",
    ``decision`` "123/QĐ-UBND" and its ``date``; ``place`` defaults to the province without "tỉnh"."""

    title: str
    province: str | None = None
    issuer: str | None = None
    decision: str | None = None
    date: date | None = None
    place: str | None = None

    def place_date(self, lang: str) -> str | None:
        if self.date is None:
            return None
        place = self.place or (self.province or "").removeprefix("tỉnh ").removeprefix("Tỉnh ").strip()
        when = dict(day=self.date.day, month=self.date.month, year=self.date.year)
        return msg("report.place_date", lang, place=place, **when) if place else msg("report.date", lang, **when)

    def decision_line(self, lang: str) -> str | None:
        """"Kèm theo Quyết định số 123/QĐ-UBND ngày 15 tháng 3 năm 2026"."""
        if not self.decision:
            return None
        line = msg("report.decision", lang, decision=self.decision)
        if self.date is not None:
            line += " " + msg("report.date", lang, day=self.date.day, month=self.date.month, year=self.date.year)
        return line


def ranking_header(lang: str, previous: bool) -> list[str]:
    header = [msg("report.stt", lang), msg("report.unit_name", lang), t(lang, "maximum"), t(lang, "points"),
              t(lang, "index_pct"), t(lang, "class")]
    return header + [t(lang, "change")] if previous else header


def ranking_rows(block: BlockResult, previous: Mapping[str, Decimal], lang: str) -> list[list[str]]:
    """One row per unit in rank order (excluded units last, "—" for their rank, the reason as their class),
    then the block average; the change column only when last year's indices are given."""
    rows = []
    for unit in block.units:
        # A unit left out has no index to publish and an unscored one no points: "—", not a 0,00 read as a score.
        total = "—" if unit.excluded == EXCLUDED_UNSCORED else points(unit.total, block, lang)
        row = [str(unit.rank) if unit.rank else "—", unit.unit.name, points(unit.maximum, block, lang), total,
               "—" if unit.excluded else num(unit.index, lang), class_label(unit, lang)]
        if previous:
            before = previous.get(unit.unit.code)
            row.append(signed(unit.index - before, lang) if before is not None and not unit.excluded else "—")
        rows.append(row)
    if block.units:
        average = ["", msg("report.block_average", lang), "", "", num(block.average_index, lang), ""]
        rows.append(average + [""] if previous else average)
    return rows


@dataclass(frozen=True)
class AreaTable:
    """Areas × units: per ranked unit its index in each area and in total, the block's averages last.
    ``below`` holds the (row, column) cells under the top class's ``min_area_index`` (``condition`` says so),
    which shows why a unit with a high index missed that class."""

    legend: str
    condition: str | None
    header: list[str]  # STT, the unit's name, one column per area code, the index
    rows: list[list[str]]
    below: frozenset[tuple[int, int]]


def area_table(block: BlockResult, lang: str) -> AreaTable | None:
    units = block.ranked
    if not units or not units[0].areas:
        return None
    areas = units[0].areas
    legend = msg("report.area_legend", lang, areas="; ".join(f"{a.code} – {a.short or a.name}" for a in areas))
    band = block.area_condition
    condition = None if band is None else msg("report.area_below", lang, label=band.label,
                                              minimum=num(band.min_area_index, lang, False))
    rows, below = [], set()
    for row, unit in enumerate(units):
        cells = [str(unit.rank), abbreviate(unit.unit.name)]
        under = block.areas_below(unit)
        for column, area in enumerate(unit.areas, start=2):
            cells.append(num(area.index, lang) if area.maximum > 0 else "—")
            if area.code in under:
                below.add((row, column))
        rows.append(cells + [num(unit.index, lang)])
    averages = block.area_averages()
    rows.append(["", msg("report.block_average", lang), *(num(averages.get(a.code, ZERO), lang) for a in areas),
                 num(block.average_index, lang)])
    header = [msg("report.stt", lang), msg("report.unit_name", lang), *(a.code for a in areas), t(lang, "index_pct")]
    return AreaTable(legend, condition, header, rows, frozenset(below))
