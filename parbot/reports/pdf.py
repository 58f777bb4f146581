"""The results report as a PDF in Vietnamese: a title page, per block the ranking table and the ranking
chart, the area comparison, then a page per unit with its summary chart and the items where it lost points.

Drawn with matplotlib's PdfPages on A4 ``Figure`` pages (no new dependency); fonts are embedded as
TrueType (``pdf.fonttype`` 42 in ``charts.RC``) so Vietnamese renders and extracts; no creation date, so
the same results give the same file.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import IO, Mapping, Sequence

from . import charts  # sets MPLCONFIGDIR before matplotlib is imported
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.table import Table  # noqa: E402

from parbot.core.decimals import ZERO  # noqa: E402
from parbot.core.results import NA, BlockResult, ItemResult, UnitResult  # noqa: E402

from . import class_label, num, short_name, signed, t  # noqa: E402

LANG = "vi"
A4 = (8.27, 11.69)
MARGIN = 0.45
LINE = 0.17  # inches per line of 8-point table text
PAD = 0.07  # inches of padding per table row
CHAR = 0.068  # inches an average 8-point character takes, with room for the cell's padding
TABLE_TOP = 0.85
TABLE_ROWS = 38  # ranking table rows per page
RANKING_ROWS = int((A4[1] - charts.RANK_TOP - charts.RANK_BOTTOM) / charts.RANK_ROW)
METADATA = {"Creator": "parbot", "Producer": None, "CreationDate": None}


def _page() -> Figure:
    return charts.figure_in(*A4)


def _table(fig: Figure, top: float, widths: Sequence[float], header: Sequence[str],
           rows: Sequence[Sequence[str]], right_aligned: Sequence[int] = ()) -> None:
    """A table whose rows are as tall as their wrapped text, from ``top`` inches down."""
    header = [short_name(h, int(w / CHAR), 2) for h, w in zip(header, widths)]
    heights = [_row_height(row) for row in (header, *rows)]
    total_w, total_h = sum(widths), sum(heights)
    ax = charts.axes_at(fig, MARGIN, top, total_w, total_h)
    ax.set_axis_off()
    table = Table(ax, loc="upper left")
    for r, (row, height) in enumerate(zip((header, *rows), heights)):
        for c, (text, width) in enumerate(zip(row, widths)):
            cell = table.add_cell(r, c, width / total_w, height / total_h, text=text,
                                  loc="right" if c in right_aligned and r else "left",
                                  facecolor="#ddebf7" if r == 0 else "white")
            cell.set_linewidth(0.4)
            cell.PAD = 0.04
            if r == 0:
                cell.get_text().set_fontweight("bold")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    ax.add_table(table)


def _row_height(row: Sequence[str]) -> float:
    return max(cell.count("\n") + 1 for cell in row) * LINE + PAD


def _chunks(rows: list[list[str]], first: float, rest: float) -> list[list[list[str]]]:
    """Split rows of varying height over pages: ``first`` inches on the first page, ``rest`` after."""
    pages: list[list[list[str]]] = [[]]
    room = first
    for row in rows:
        height = _row_height(row)
        if height > room and pages[-1]:
            pages.append([])
            room = rest
        pages[-1].append(row)
        room -= height
    return pages


def _title_page(blocks: Sequence[BlockResult], title: str) -> Figure:
    fig = _page()
    charts.text_at(fig, A4[0] / 2, 3.0, short_name(title, 40, 5), fontsize=20, fontweight="bold",
                   ha="center", linespacing=1.3)
    years = sorted({b.year for b in blocks})
    charts.text_at(fig, A4[0] / 2, 5.2, t(LANG, "report_year", year=", ".join(map(str, years))), fontsize=13,
                   ha="center")
    lines = [t(LANG, "block_line", block=b.block_name, n=len(b.units), average=num(b.average_index, LANG))
             for b in blocks]
    charts.text_at(fig, 1.0, 6.2, "\n".join(lines), fontsize=11, linespacing=1.8)
    return fig


def _ranking_table_pages(block: BlockResult, previous: Mapping[str, Decimal]) -> list[Figure]:
    header = [t(LANG, "rank"), t(LANG, "unit"), t(LANG, "total"), t(LANG, "maximum"), t(LANG, "index_pct"),
              t(LANG, "class")]
    widths = [0.55, 3.35, 0.8, 0.8, 0.8, 1.0]
    if previous:
        header.append(t(LANG, "change"))
        widths = [0.55, 2.85, 0.7, 0.7, 0.7, 0.9, 0.95]
    rows = []
    for unit in block.units:
        row = [str(unit.rank), short_name(unit.unit.name, int(widths[1] / CHAR), 1),
               num(unit.total, LANG), num(unit.maximum, LANG), num(unit.index, LANG), class_label(unit, LANG)]
        if previous:
            before = previous.get(unit.unit.code)
            row.append(signed(unit.index - before, LANG) if before is not None else "—")
        rows.append(row)
    pages = [rows[i:i + TABLE_ROWS] for i in range(0, len(rows), TABLE_ROWS)]
    figures = []
    for number, chunk in enumerate(pages, start=1):
        fig = _page()
        heading = t(LANG, "table_title", block=f"{block.block_name} {block.year}")
        if len(pages) > 1:
            heading += f" · {t(LANG, 'page', page=number, pages=len(pages))}"
        charts.text_at(fig, MARGIN, 0.35, heading, fontsize=12, fontweight="bold")
        _table(fig, TABLE_TOP, widths, header, chunk, right_aligned=(0, 2, 3, 4, *([6] if previous else [])))
        figures.append(fig)
    return figures


def _ranking_chart_pages(block: BlockResult) -> list[Figure]:
    rows = charts.page_rows(len(block.units), RANKING_ROWS)
    chunks = [block.units[i:i + rows] for i in range(0, len(block.units), rows)]
    figures = []
    for page, chunk in enumerate(chunks, start=1):
        fig = _page()
        charts.draw_ranking(fig, block, chunk, RANKING_ROWS, page, len(chunks), LANG)
        figures.append(fig)
    return figures


def _lost(item: ItemResult) -> Decimal:
    """Points an item cost the unit: below its maximum in an area, or a deduction taken."""
    return item.points if item.section == "deduction" else item.lost


def _mark(value) -> str:
    if value is None:
        return ""
    return t(LANG, "not_applicable") if value is NA else num(value, LANG, False)


def _unit_pages(block: BlockResult, unit: UnitResult, previous_index: Decimal | None) -> list[Figure]:
    fig = _page()
    end = charts.draw_unit_summary(fig, unit, block, previous_index, LANG, top=0.3)
    header = [t(LANG, "code"), t(LANG, "item"), t(LANG, "maximum"), t(LANG, "self"), t(LANG, "points"),
              t(LANG, "lost"), t(LANG, "reason")]
    widths = [0.55, 2.75, 0.6, 0.6, 0.6, 0.7, 1.57]
    rows = [[item.code, short_name(item.name, int(widths[1] / CHAR), 4), num(item.maximum, LANG, False),
             _mark(item.self_points), num(item.points, LANG, False), num(_lost(item), LANG, False),
             short_name(item.reason or "", int(widths[6] / CHAR), 6)]
            for item in unit.items if _lost(item) > ZERO]
    charts.text_at(fig, MARGIN, end + 0.1, t(LANG, "lost_title"), fontsize=11, fontweight="bold")
    if not rows:
        charts.text_at(fig, MARGIN, end + 0.45, t(LANG, "no_lost" if unit.items else "no_items"), fontsize=9.5)
        return [fig]
    bottom = A4[1] - MARGIN
    head = _row_height(header)
    chunks = _chunks(rows, bottom - (end + 0.45) - head, bottom - TABLE_TOP - head)
    _table(fig, end + 0.45, widths, header, chunks[0], right_aligned=(2, 3, 4, 5))
    figures = [fig]
    for chunk in chunks[1:]:
        fig = _page()
        charts.text_at(fig, MARGIN, 0.35, f"{short_name(unit.unit.name, 70, 1)} {t(LANG, 'continued')}",
                       fontsize=12, fontweight="bold")
        _table(fig, TABLE_TOP, widths, header, chunk, right_aligned=(2, 3, 4, 5))
        figures.append(fig)
    return figures


def results_report_pdf(blocks: Sequence[BlockResult], path: str | Path | IO[bytes], title: str,
                       previous: Mapping[str, Decimal] | None = None) -> int:
    """Write the report; ``previous`` maps unit codes to last year's index. Returns the number of pages."""
    previous = previous or {}
    pages = 0
    with charts.style(), PdfPages(path, metadata=METADATA) as pdf:
        def emit(fig: Figure) -> None:
            nonlocal pages
            pdf.savefig(fig)
            pages += 1

        emit(_title_page(blocks, title))
        for block in blocks:
            for fig in _ranking_table_pages(block, previous) + _ranking_chart_pages(block):
                emit(fig)
        if any(b.units for b in blocks):
            fig = _page()
            with_units = [b for b in blocks if b.units]
            charts.draw_area_comparison(fig, with_units, LANG,
                                        height=min(charts.area_comparison_height(with_units), A4[1]))
            emit(fig)
        for block in blocks:
            for unit in block.units:
                for fig in _unit_pages(block, unit, previous.get(unit.unit.code)):
                    emit(fig)
    return pages
