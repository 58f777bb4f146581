"""The baseline of benchmarks/report.py: parbot's PDF report as it was drawn with matplotlib before
reportlab (parbot/reports/pdf.py at the merge of issue 12), kept only to measure against.

The results report as a PDF in Vietnamese: a title page, per block the ranking table and the ranking
chart, the area comparison, then a page per unit with its summary chart and the items where it lost points.

Drawn with matplotlib's PdfPages on A4 ``Figure`` pages; fonts are embedded as TrueType (``pdf.fonttype``
42 in ``charts.RC``) so Vietnamese renders and extracts; no creation date, so the same results give the
same file.

Speed: matplotlib's PDF text costs about 50 µs a glyph (every string is shaped and its glyphs loaded), so
the layout is frugal with text — tables are plain text artists on ruled rows (no ``Table`` cells), and a
unit's lost points are one line per item in two columns, grouped by area, with the appraisers' reason on
the line below. Unit pages are rendered in chunks of ``CHUNK`` units by a process pool (one process per
core) and the parts are joined with pypdf; chunks do not depend on the number of cores, so the file is
the same on any machine.
"""
from __future__ import annotations

import multiprocessing
import os
import textwrap
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import IO, Mapping, Sequence

from parbot.reports import charts  # sets MPLCONFIGDIR before matplotlib is imported
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from pypdf import PdfReader, PdfWriter  # noqa: E402

from parbot.core.decimals import ZERO  # noqa: E402
from parbot.core.results import NA, BlockResult, ItemResult, UnitResult  # noqa: E402

from parbot.reports import class_label, num, short_name, signed, t  # noqa: E402

LANG = "vi"
A4 = (8.27, 11.69)
MARGIN = 0.45
TABLE_TOP = 0.85
TABLE_ROWS = 38  # ranking table rows per page
ROW = 0.245  # inches per ranking table row
CHAR = 0.068  # inches an average 8-point character takes, with some room
BOLD_CHAR = 0.08
RANKING_ROWS = int((A4[1] - charts.RANK_TOP - charts.RANK_BOTTOM) / charts.RANK_ROW)
# Lost points: two columns of 6.5-point lines.
LOST_FONT = 6.5
LOST_LINE = 0.118
LOST_GAP = 0.25
LOST_COLUMN = (A4[0] - 2 * MARGIN - LOST_GAP) / 2
LOST_CHAR = 0.047  # inches an average 6.5-point character takes
CHUNK = 40  # units per process-pool task
POOL_FROM = 100  # units; below that, starting processes costs more than it saves
METADATA = {"Creator": "parbot", "Producer": None, "CreationDate": None}


def _page() -> Figure:
    return charts.figure_in(*A4)


def _centred(fig: Figure, x: float, y: float, text: str, **kwargs) -> None:
    """Text whose middle is ``y`` inches from the top."""
    fig.text(x / fig.get_figwidth(), 1 - y / fig.get_figheight(), text, va="center", **kwargs)


def _table(fig: Figure, top: float, widths: Sequence[float], header: Sequence[str],
           rows: Sequence[Sequence[str]], right_aligned: Sequence[int] = ()) -> None:
    """One-line rows under a shaded header, ruled, from ``top`` inches down."""
    w, h = fig.get_figwidth(), fig.get_figheight()
    header = [short_name(text, int(width / BOLD_CHAR), 2) for text, width in zip(header, widths)]
    head = ROW * max(text.count("\n") + 1 for text in header)
    total = sum(widths)
    fig.add_artist(Rectangle((MARGIN / w, 1 - (top + head) / h), total / w, head / h, facecolor="#ddebf7",
                             edgecolor="none", transform=fig.transFigure))
    edges = [top, top + head] + [top + head + ROW * (r + 1) for r in range(len(rows))]
    fig.add_artist(LineCollection([[(MARGIN / w, 1 - y / h), ((MARGIN + total) / w, 1 - y / h)] for y in edges],
                                  colors="#9e9e9e", linewidths=0.4, transform=fig.transFigure))
    x = MARGIN
    for c, width in enumerate(widths):
        right = c in right_aligned
        anchor = x + width - 0.05 if right else x + 0.05
        _centred(fig, anchor, top + head / 2, header[c], fontsize=8, fontweight="bold",
                 ha="right" if right else "left", multialignment="right" if right else "left")
        for r, row in enumerate(rows):
            _centred(fig, anchor, top + head + ROW * (r + 0.5), row[c], fontsize=8,
                     ha="right" if right else "left")
        x += width


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
        row = [str(unit.rank) if unit.rank else "—", short_name(unit.unit.name, int(widths[1] / CHAR), 1),
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
    rows = charts.page_rows(len(block.ranked), RANKING_ROWS)
    chunks = [block.ranked[i:i + rows] for i in range(0, len(block.ranked), rows)]
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
    return t(LANG, "not_applicable") if value is NA else num(value, LANG, False)


# A line of the lost-points list: (kind, left text, right text); kind is "area", "item" or "reason".
Line = tuple[str, str, str]


def _lost_lines(unit: UnitResult) -> list[Line]:
    """Only items that lost points, grouped under their area with the area's loss; reasons in full."""
    names = {a.code: f"{a.code}. {a.short or a.name}" for a in unit.areas}
    names.update(bonus=t(LANG, "section_bonus"), deduction=t(LANG, "section_deduction"))
    name_chars = int((LOST_COLUMN - 1.6) / LOST_CHAR)  # room for "Tự chấm 1,5 · 0,5/1,5  −1"
    groups: dict[str, list[ItemResult]] = {}
    for item in unit.items:
        if _lost(item) > ZERO:
            groups.setdefault(item.area_code if item.section == "area" else item.section, []).append(item)
    lines: list[Line] = []
    for code, items in groups.items():
        lost = sum((_lost(i) for i in items), ZERO)
        lines.append(("area", short_name(names.get(code, code), int(LOST_COLUMN / LOST_CHAR) - 8, 1),
                      f"−{num(lost, LANG, False)}"))
        for item in items:
            marks = f"{num(item.points, LANG, False)}/{num(item.maximum, LANG, False)}"
            if item.self_points is not None and item.self_points != item.points:
                marks = f"{t(LANG, 'self')} {_mark(item.self_points)} · {marks}"
            lines.append(("item", f"{item.code}  {short_name(item.name, name_chars, 1)}",
                          f"{marks}  −{num(_lost(item), LANG, False)}"))
            for part in textwrap.wrap(item.reason or "", int((LOST_COLUMN - 0.3) / LOST_CHAR)):
                lines.append(("reason", part, ""))
    return lines


def _draw_lines(fig: Figure, lines: Sequence[Line], x: float, top: float) -> None:
    styles = {"area": {"fontweight": "bold"}, "item": {}, "reason": {"color": "#555555", "fontstyle": "italic"}}
    for row, (kind, left, right) in enumerate(lines):
        y = top + row * LOST_LINE
        charts.text_at(fig, x + (0.3 if kind == "reason" else 0.0), y, left, fontsize=LOST_FONT,
                       **styles[kind])
        if right:
            charts.text_at(fig, x + LOST_COLUMN, y, right, fontsize=LOST_FONT, ha="right", **styles[kind])


def _unit_pages(block: BlockResult, unit: UnitResult, previous_index: Decimal | None) -> list[Figure]:
    fig = _page()
    end = charts.draw_unit_summary(fig, unit, block, previous_index, LANG, top=0.3)
    charts.text_at(fig, MARGIN, end + 0.1, t(LANG, "lost_title"), fontsize=11, fontweight="bold")
    lines = _lost_lines(unit)
    if not lines:
        charts.text_at(fig, MARGIN, end + 0.45, t(LANG, "no_lost" if unit.items else "no_items"), fontsize=9.5)
        return [fig]
    bottom = A4[1] - MARGIN
    figures = [fig]
    top = end + 0.45
    while lines:
        per_column = int((bottom - top) / LOST_LINE)
        for column in range(2):
            _draw_lines(fig, lines[:per_column], MARGIN + column * (LOST_COLUMN + LOST_GAP), top)
            lines = lines[per_column:]
        if lines:
            fig = _page()
            charts.text_at(fig, MARGIN, 0.35, f"{short_name(unit.unit.name, 70, 1)} {t(LANG, 'continued')}",
                           fontsize=12, fontweight="bold")
            figures.append(fig)
            top = TABLE_TOP
    return figures


def _write(figures, target: str | Path | IO[bytes]) -> int:
    pages = 0
    with charts.style(), PdfPages(target, metadata=METADATA) as pdf:
        for fig in figures:
            pdf.savefig(fig)
            pages += 1
    return pages


def _front(blocks: Sequence[BlockResult], title: str, previous: Mapping[str, Decimal]):
    yield _title_page(blocks, title)
    for block in blocks:
        yield from _ranking_table_pages(block, previous)
        yield from _ranking_chart_pages(block)
    with_units = [b for b in blocks if b.units]
    if with_units:
        fig = _page()
        charts.draw_area_comparison(fig, with_units, LANG,
                                    height=min(charts.area_comparison_height(with_units), A4[1]))
        yield fig


def _units(block: BlockResult, units: Sequence[UnitResult], previous: Mapping[str, Decimal]):
    for unit in units:
        yield from _unit_pages(block, unit, previous.get(unit.unit.code))


def _render_front(blocks, title, previous) -> tuple[bytes, int]:
    buffer = BytesIO()
    with charts.style():
        pages = _write(_front(blocks, title, previous), buffer)
    return buffer.getvalue(), pages


def _render_units(block, units, previous) -> tuple[bytes, int]:
    buffer = BytesIO()
    with charts.style():
        pages = _write(_units(block, units, previous), buffer)
    return buffer.getvalue(), pages


def results_report_pdf(blocks: Sequence[BlockResult], path: str | Path | IO[bytes], title: str,
                       previous: Mapping[str, Decimal] | None = None, workers: int | None = None) -> int:
    """Write the report; ``previous`` maps unit codes to last year's index. ``workers`` processes render
    (default: one per core from ``POOL_FROM`` units; 1 renders in this process). Returns the number of pages."""
    previous = dict(previous or {})
    tasks = [(_render_front, (list(blocks), title, previous))]
    for block in blocks:
        for start in range(0, len(block.units), CHUNK):
            units = block.units[start:start + CHUNK]
            tasks.append((_render_units, (block, units, {u.unit.code: previous[u.unit.code] for u in units
                                                         if u.unit.code in previous})))
    if workers is None:
        workers = os.cpu_count() or 1 if sum(len(b.units) for b in blocks) >= POOL_FROM else 1
    workers = min(workers, len(tasks))
    if workers > 1:
        # spawn: the bot's threads must not be forked; each worker imports matplotlib once.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            parts = list(pool.map(_call, tasks))
    else:
        parts = [_call(task) for task in tasks]
    writer = PdfWriter()
    for data, _ in parts:
        writer.append(PdfReader(BytesIO(data)))
    writer.add_metadata({"/Creator": "parbot", "/Producer": "parbot"})
    writer.write(path)
    return sum(pages for _, pages in parts)


def _call(task) -> tuple[bytes, int]:
    function, args = task
    return function(*args)
