"""The results report as a PDF a Sở Nội vụ can attach to its decision: a cover with the province, issuing
body, decision number and date, a table of contents, then per block the ranking table in the shape
provinces publish and a vector ranking chart sized to its units, then a page per unit with its areas, the
items where it lost points and the appraisers' reasons; "Trang 3/40" on every page.

Typeset with reportlab's platypus (measured against matplotlib, which laid out every line of text itself:
37× less CPU for the same pages, see docs/benchmarks.md). DejaVu Sans is embedded as TrueType subsets so
Vietnamese renders and extracts. Built twice: the first pass finds the pages of the contents' entries and
the page count, the second prints them (the contents keep one line per entry, so the pages do not move).
``invariant``: no creation date or random ids, so the same results give the same file.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import IO, Mapping, Sequence
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (BaseDocTemplate, CondPageBreak, Flowable, Frame, KeepTogether, PageBreak,
                                PageTemplate, Paragraph, Spacer, Table, TableStyle)

from parbot.core.decimals import ZERO
from parbot.core.results import NA, BlockResult, ItemResult, UnitResult
from parbot.i18n import t as msg

from . import abbreviate, class_label, num, signed, t
from .annex import Heading, ranking_header, ranking_rows

FONT, BOLD, ITALIC = "DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique"
LEFT, RIGHT, TOP, BOTTOM = 2.5 * cm, 1.5 * cm, 1.8 * cm, 2.0 * cm
WIDTH = A4[0] - LEFT - RIGHT
HEIGHT = A4[1] - TOP - BOTTOM
HEADER_FILL = colors.HexColor("#ddebf7")
RULE = colors.HexColor("#9e9e9e")
# The ranking chart: one bar a row; the labels' column, the bars' scale and the axis below.
BAR_ROW = 14.0
CHART_LABEL = 0.42 * WIDTH
CHART_AXIS = 30.0
CLASS_COLOURS = ("#1a9850", "#66bd63", "#a6d96a", "#fdae61", "#d73027", "#a50026")
UNCLASSED = "#9e9e9e"


@lru_cache(maxsize=None)
def _fonts() -> None:
    """DejaVu Sans from matplotlib's data (found without importing matplotlib), registered once a process."""
    from reportlab.lib.fonts import addMapping

    folder = Path(importlib.util.find_spec("matplotlib").submodule_search_locations[0]) / "mpl-data/fonts/ttf"
    for name in (FONT, BOLD, ITALIC, "DejaVuSans-BoldOblique"):
        pdfmetrics.registerFont(TTFont(name, str(folder / f"{name}.ttf")))
    for bold, italic, name in ((0, 0, FONT), (1, 0, BOLD), (0, 1, ITALIC), (1, 1, "DejaVuSans-BoldOblique")):
        addMapping(FONT, bold, italic, name)


def _style(name: str, size: float, font: str = FONT, **kwargs) -> ParagraphStyle:
    return ParagraphStyle(name, fontName=font, fontSize=size, leading=size * 1.3, **kwargs)


@dataclass(frozen=True)
class _Styles:
    body: ParagraphStyle = field(default_factory=lambda: _style("body", 10, spaceAfter=4))
    cell: ParagraphStyle = field(default_factory=lambda: _style("cell", 9))
    cell_bold: ParagraphStyle = field(default_factory=lambda: _style("cell_bold", 9, BOLD))
    reason: ParagraphStyle = field(default_factory=lambda: _style("reason", 8.5, ITALIC))
    h1: ParagraphStyle = field(default_factory=lambda: _style("h1", 14, BOLD, spaceBefore=6, spaceAfter=8))
    h2: ParagraphStyle = field(default_factory=lambda: _style("h2", 12, BOLD, spaceAfter=6))
    h3: ParagraphStyle = field(default_factory=lambda: _style("h3", 10.5, BOLD, spaceBefore=8, spaceAfter=4))
    centre: ParagraphStyle = field(default_factory=lambda: _style("centre", 11, alignment=TA_CENTER))
    centre_bold: ParagraphStyle = field(default_factory=lambda: _style("centre_bold", 11, BOLD,
                                                                       alignment=TA_CENTER))
    title: ParagraphStyle = field(default_factory=lambda: _style("title", 16, BOLD, alignment=TA_CENTER,
                                                                 spaceBefore=40, spaceAfter=12))
    toc: ParagraphStyle = field(default_factory=lambda: _style("toc", 10.5))


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    """User text (names, reasons) escaped: "<b>" or "&" print as written, not as markup."""
    return Paragraph(escape(text), style)


class _Entry(Paragraph):
    """A heading that is an entry of the contents (``level`` 0) or only of the PDF outline (1)."""

    def __init__(self, text: str, style: ParagraphStyle, level: int, key: str) -> None:
        super().__init__(escape(text), style)
        self.entry = (level, text, key)


class _Document(BaseDocTemplate):
    def __init__(self, target, heading: Heading, lang: str, pages: int | None) -> None:
        super().__init__(target, pagesize=A4, leftMargin=LEFT, rightMargin=RIGHT, topMargin=TOP,
                         bottomMargin=BOTTOM, title=heading.title, author=heading.issuer or "",
                         creator="parbot", invariant=1)
        self.lang, self.total = lang, pages
        self.entries: list[tuple[int, str, int]] = []
        frame = Frame(LEFT, BOTTOM, WIDTH, HEIGHT, id="body", leftPadding=0, rightPadding=0, topPadding=0,
                      bottomPadding=0)
        self.addPageTemplates([PageTemplate("page", [frame], onPage=self._footer)])

    def _footer(self, canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 9)
        pages = self.total if self.total is not None else 0
        canvas.drawCentredString(A4[0] / 2, BOTTOM / 2, msg("report.page", self.lang, page=doc.page, pages=pages))
        canvas.restoreState()

    def afterFlowable(self, flowable: Flowable) -> None:
        entry = getattr(flowable, "entry", None)
        if entry is not None:
            level, text, key = entry
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(text, key, level=level)
            if level == 0:
                self.entries.append((level, text, self.page))


def _grid(data, widths, header_rows: int = 1, right_from: int | None = None, extra=()) -> Table:
    style = [("FONT", (0, 0), (-1, -1), FONT, 9), ("FONT", (0, 0), (-1, header_rows - 1), BOLD, 9),
             ("BACKGROUND", (0, 0), (-1, header_rows - 1), HEADER_FILL),
             ("GRID", (0, 0), (-1, -1), 0.4, RULE), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3), *extra]
    if right_from is not None:
        style.append(("ALIGN", (right_from, header_rows), (-1, -1), "RIGHT"))
    return Table(data, colWidths=widths, repeatRows=header_rows, style=TableStyle(style), hAlign="LEFT")


def _cover(heading: Heading, blocks: Sequence[BlockResult], lang: str, s: _Styles) -> list[Flowable]:
    left = [_p(heading.province.upper(), s.centre)] if heading.province else []
    if heading.issuer:
        left.append(_p(heading.issuer.upper(), s.centre_bold))
    if heading.decision:
        left.append(_p(msg("report.decision_number", lang, decision=heading.decision), s.centre))
    right = [Paragraph(msg("report.nation", lang), s.centre_bold), Paragraph(msg("report.motto", lang), s.centre_bold)]
    place_date = heading.place_date(lang)
    if place_date:
        right.append(Paragraph(f"<i>{escape(place_date)}</i>", s.centre))
    story: list[Flowable] = [Table([[left, right]], colWidths=[0.42 * WIDTH, 0.58 * WIDTH],
                                   style=[("VALIGN", (0, 0), (-1, -1), "TOP")])]
    story.append(_p(heading.title, s.title))
    decision = heading.decision_line(lang)
    if decision:
        story.append(Paragraph(f"<i>({escape(decision)})</i>", s.centre))
    story.append(Spacer(1, 14))
    years = ", ".join(str(y) for y in sorted({b.year for b in blocks}))
    story.append(Paragraph(escape(t(lang, "report_year", year=years)), s.body))
    for block in blocks:
        story.append(_p("• " + t(lang, "block_line", block=block.block_name, n=len(block.units),
                                 average=num(block.average_index, lang)), s.body))
    return story


def _contents(entries: Sequence[tuple[int, str, int]] | None, keys: Sequence[str], lang: str,
              s: _Styles) -> list[Flowable]:
    """One line per entry; before the first pass knows the pages, the same lines with no page."""
    rows = [[_p(text, s.toc), str(page) if entries else ""]
            for text, page in zip(keys, [e[2] for e in entries] if entries else [0] * len(keys))]
    table = Table(rows, colWidths=[WIDTH - 1.5 * cm, 1.5 * cm], hAlign="LEFT",
                  style=[("FONT", (0, 0), (-1, -1), FONT, 10.5), ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                         ("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("LINEBELOW", (0, 0), (-1, -1), 0.3, RULE)])
    return [Spacer(1, 18), Paragraph(msg("report.contents", lang), s.h1), table]


def _ranking_table(block: BlockResult, previous: Mapping[str, Decimal], lang: str, s: _Styles) -> Table:
    header = [Paragraph(escape(h), s.cell_bold) for h in ranking_header(lang, bool(previous))]
    rows = ranking_rows(block, previous, lang)
    data = [header] + [[r[0], _p(r[1], s.cell_bold if not r[0] else s.cell), *r[2:]] for r in rows]
    widths = [1.1 * cm, None, 1.9 * cm, 1.9 * cm, 1.9 * cm, 2.3 * cm] + ([2.1 * cm] if previous else [])
    fixed = sum(w for w in widths if w)
    widths[1] = WIDTH - fixed
    extra = [("FONT", (0, len(data) - 1), (-1, -1), BOLD, 9)] if block.units else []
    return _grid(data, widths, right_from=2, extra=[("ALIGN", (0, 1), (0, -1), "RIGHT"), *extra])


def _fit(text: str, width: float, size: float) -> str:
    """The name cut at a word to fit ``width`` points, with "…" when cut."""
    if pdfmetrics.stringWidth(text, FONT, size) <= width:
        return text
    words = text.split()
    while words and pdfmetrics.stringWidth(" ".join(words) + "…", FONT, size) > width:
        words.pop()
    return " ".join(words) + "…" if words else text[:8] + "…"


def _colour(block: BlockResult, unit: UnitResult) -> colors.Color:
    labels = [b.label for b in block.bands]
    if unit.classification in labels:
        return colors.HexColor(CLASS_COLOURS[min(labels.index(unit.classification), len(CLASS_COLOURS) - 1)])
    return colors.HexColor(UNCLASSED)


def _ranking_chart(block: BlockResult, units: Sequence[UnitResult], lang: str) -> Drawing:
    """Horizontal bars of the index (0–100 %), one row per unit: the drawing's height follows the units."""
    height = len(units) * BAR_ROW + CHART_AXIS
    scale = (WIDTH - CHART_LABEL - 30) / 100
    drawing = Drawing(WIDTH, height)
    for tick in range(0, 101, 20):
        x = CHART_LABEL + tick * scale
        drawing.add(Line(x, CHART_AXIS - 3, x, height, strokeColor=colors.HexColor("#dddddd"), strokeWidth=0.4))
        drawing.add(String(x, CHART_AXIS - 13, str(tick), fontName=FONT, fontSize=7, textAnchor="middle"))
    for row, unit in enumerate(units):
        y = height - (row + 1) * BAR_ROW
        label = _fit(f"{unit.rank}. {abbreviate(unit.unit.name)}", CHART_LABEL - 6, 8)
        drawing.add(String(CHART_LABEL - 4, y + 4, label, fontName=FONT, fontSize=8, textAnchor="end"))
        width = float(min(max(unit.index, ZERO), Decimal(100))) * scale
        drawing.add(Rect(CHART_LABEL, y + 2, width, BAR_ROW - 4, fillColor=_colour(block, unit), strokeColor=None))
        drawing.add(String(CHART_LABEL + width + 3, y + 4, num(unit.index, lang), fontName=FONT, fontSize=7.5))
    average = CHART_LABEL + float(block.average_index) * scale
    drawing.add(Line(average, CHART_AXIS - 3, average, height, strokeColor=colors.HexColor("#333333"),
                     strokeWidth=0.8, strokeDashArray=[3, 2]))
    drawing.add(String(average, 2, f"{t(lang, 'block_average')} {num(block.average_index, lang)}%",
                       fontName=FONT, fontSize=7, textAnchor="middle"))
    return drawing


def _ranking_charts(block: BlockResult, lang: str, s: _Styles) -> list[Flowable]:
    """The chart split in parts of at most a page's rows, each kept with its title."""
    units = block.ranked
    if not units:
        return []
    per_page = int((HEIGHT - 60 - CHART_AXIS) / BAR_ROW)
    parts = [units[i:i + per_page] for i in range(0, len(units), per_page)]
    story: list[Flowable] = []
    for number, part in enumerate(parts, start=1):
        title = (msg("report.ranking_chart", lang, block=block.block_name) if len(parts) == 1 else
                 msg("report.ranking_chart_part", lang, block=block.block_name, part=number, parts=len(parts)))
        story.append(KeepTogether([_p(title, s.h3), _ranking_chart(block, part, lang)]))
    return story


def _lost(item: ItemResult) -> Decimal:
    """Points an item cost the unit: below its maximum in an area, or a deduction taken."""
    return item.points if item.section == "deduction" else item.lost


def _mark(value) -> str:
    return "" if value is None else t("vi", "not_applicable") if value is NA else num(value, "vi", False)


def _areas_table(unit: UnitResult, lang: str, s: _Styles) -> Table:
    data = [[Paragraph(escape(h), s.cell_bold) for h in (t(lang, "area"), t(lang, "maximum"), t(lang, "points"),
                                                         t(lang, "index_pct"))]]
    for area in unit.areas:
        data.append([_p(f"{area.code}. {area.name}", s.cell), num(area.maximum, lang), num(area.points, lang),
                     num(area.index, lang)])
    for key, value in (("bonus", unit.bonus), ("deduction", unit.deduction)):
        if value:
            data.append([_p(t(lang, key), s.cell), "", num(value if key == "bonus" else -value, lang), ""])
    data.append([_p(t(lang, "total"), s.cell_bold), num(unit.maximum, lang), num(unit.total, lang),
                 num(unit.index, lang)])
    return _grid(data, [WIDTH - 3 * 2.2 * cm, 2.2 * cm, 2.2 * cm, 2.2 * cm], right_from=1,
                 extra=[("FONT", (0, len(data) - 1), (-1, -1), BOLD, 9)])


def _lost_table(unit: UnitResult, lang: str, s: _Styles) -> Table | None:
    """Items that lost points, under their area with the area's loss; names and reasons wrapped in full."""
    names = {a.code: f"{a.code}. {a.name}" for a in unit.areas}
    names.update(bonus=t(lang, "section_bonus"), deduction=t(lang, "section_deduction"))
    groups: dict[str, list[ItemResult]] = {}
    for item in unit.items:
        if _lost(item) > ZERO:
            groups.setdefault(item.area_code if item.section == "area" else item.section, []).append(item)
    if not groups:
        return None
    header = [t(lang, "code"), t(lang, "item"), t(lang, "self"), t(lang, "points"), t(lang, "lost"), t(lang, "reason")]
    data: list[list] = [[Paragraph(escape(h), s.cell_bold) for h in header]]
    spans = []
    for code, items in groups.items():
        lost = sum((_lost(i) for i in items), ZERO)
        spans.append(len(data))
        data.append([_p(f"{names.get(code, code)} (−{num(lost, lang, False)})", s.cell_bold), "", "", "", "", ""])
        for item in items:
            data.append([item.code, _p(item.name, s.cell), _mark(item.self_points),
                         f"{num(item.points, lang, False)}/{num(item.maximum, lang, False)}",
                         f"−{num(_lost(item), lang, False)}", _p(item.reason, s.reason) if item.reason else ""])
    extra = [style for row in spans for style in (("SPAN", (0, row), (-1, row)),
                                                   ("BACKGROUND", (0, row), (-1, row), colors.HexColor("#f2f2f2")))]
    widths = [1.3 * cm, 6.2 * cm, 1.5 * cm, 1.6 * cm, 1.5 * cm]
    return _grid(data, widths + [WIDTH - sum(widths)], right_from=None,
                 extra=[("ALIGN", (2, 1), (4, -1), "RIGHT"), ("VALIGN", (0, 1), (-1, -1), "TOP"), *extra])


def _unit(block: BlockResult, unit: UnitResult, previous: Decimal | None, lang: str, s: _Styles) -> list[Flowable]:
    story: list[Flowable] = [PageBreak(), _Entry(unit.unit.name, s.h2, 1, f"unit-{block.block}-{unit.unit.code}")]
    rank = str(unit.rank) if unit.rank else "—"
    story.append(_p(msg("report.unit_summary", lang, rank=rank, of=unit.rank_of or len(block.ranked),
                        total=num(unit.total, lang), maximum=num(unit.maximum, lang), index=num(unit.index, lang),
                        classification=class_label(unit, lang)), s.body))
    if previous is not None and not unit.excluded:
        story.append(_p(msg("report.unit_change", lang, change=signed(unit.index - previous, lang)), s.body))
    if unit.missing_survey:
        story.append(_p(t(lang, "missing_survey", n=unit.missing_survey), s.body))
    if unit.areas:
        story.append(_areas_table(unit, lang, s))
    story.append(_p(t(lang, "lost_title"), s.h3))
    lost = _lost_table(unit, lang, s)
    story.append(lost if lost is not None else _p(t(lang, "no_lost" if unit.items else "no_items"), s.body))
    return story


def _story(blocks: Sequence[BlockResult], heading: Heading, previous: Mapping[str, Decimal], lang: str,
           entries: Sequence[tuple[int, str, int]] | None) -> list[Flowable]:
    s = _Styles()
    sections: list[tuple[str, list[Flowable]]] = []
    for block in blocks:
        table = msg("report.ranking_table", lang, year=block.year, block=block.block_name)
        sections.append((table, [_ranking_table(block, previous, lang, s), Spacer(1, 10),
                                 CondPageBreak(5 * cm), *_ranking_charts(block, lang, s)]))
        if block.units:
            units = msg("report.units_section", lang, block=block.block_name)
            body = [f for u in block.units for f in _unit(block, u, previous.get(u.unit.code), lang, s)]
            body[0:1] = []  # the section's own page break stands for the first unit's
            sections.append((units, body))
    story = _cover(heading, blocks, lang, s) + _contents(entries, [title for title, _ in sections], lang, s)
    for number, (title, body) in enumerate(sections):
        story += [PageBreak(), _Entry(title, s.h1, 0, f"section-{number}"), *body]
    return story


def results_report_pdf(blocks: Sequence[BlockResult], path: str | Path | IO[bytes], heading: Heading | str,
                       previous: Mapping[str, Decimal] | None = None, lang: str = "vi") -> int:
    """Write the report; ``heading`` is the cover's publisher and decision (a plain title for a draft);
    ``previous`` maps unit codes to last year's index. Returns the number of pages."""
    _fonts()
    heading = Heading(heading) if isinstance(heading, str) else heading
    previous = dict(previous or {})
    first = _Document(BytesIO(), heading, lang, None)
    first.build(_story(blocks, heading, previous, lang, None))
    final = _Document(str(path) if isinstance(path, Path) else path, heading, lang, first.page)
    final.build(_story(blocks, heading, previous, lang, first.entries))
    return final.page
