"""The results report as a PDF a Sở Nội vụ can attach to its decision: a cover with the province, issuing
body, decision number and date, a table of contents, then per block the ranking table in the shape
provinces publish, a vector ranking chart sized to its units and the units compared area by area, then a
page per unit with its areas, the
items where it lost points and the appraisers' reasons; "Trang 3/40" on every page.

Typeset with reportlab's platypus rather than matplotlib, which shaped every line of text itself (the
measure is in docs/benchmarks.md). DejaVu Sans is embedded as TrueType subsets so Vietnamese renders and
extracts. One pass: the canvas keeps the pages and prints "Trang x/N" and the contents' page numbers at the
end. Table cells are plain strings wrapped at spaces (no Paragraph markup to parse), which is what keeps
hundreds of units fast and prints user text literally. ``invariant``: a fixed date and ids, so the same
results give the same file.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import IO, Mapping, Sequence
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (BaseDocTemplate, CondPageBreak, Flowable, Frame, KeepTogether, PageBreak,
                                PageTemplate, Paragraph, Spacer, Table, TableStyle)

from parbot.core.decimals import ZERO
from parbot.core.results import NA, BlockResult, ItemResult, UnitResult
from parbot.i18n import t as msg

from . import abbreviate, class_label, num, points, signed, t
from .annex import Heading, area_table, ranking_header, ranking_rows

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
PADDING = 4  # a table cell's left and right padding


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


def _wrap(text: str, width: float, font: str = FONT, size: float = 9) -> str:
    """A table cell's text broken at spaces to fit a column (less its padding): plain strings, no markup to
    parse, are what keeps 300 units' tables fast."""
    return "\n".join(simpleSplit(text, font, size, width - 2 * PADDING)) or text


class _Entry(Paragraph):
    """A heading that is an entry of the contents (``level`` 0) or only of the PDF outline (1)."""

    def __init__(self, text: str, style: ParagraphStyle, level: int, key: str) -> None:
        # Clipped so a heading never splits across pages: Paragraph.split rebuilds the paragraph with arguments
        # this subclass does not take.
        text = _bounded(text, MAX_HEADING_CHARS)
        super().__init__(escape(text), style)
        self.entry = (level, text, key)


class _ContentsLine(Table):
    """A line of the contents; where it is drawn is noted so its page number is printed once known."""

    def __init__(self, text: str, style: ParagraphStyle, places: list) -> None:
        super().__init__([[_p(text, style)]], colWidths=[WIDTH - 1.5 * cm], hAlign="LEFT",
                         style=[("LINEBELOW", (0, 0), (-1, -1), 0.3, RULE), ("LEFTPADDING", (0, 0), (-1, -1), 0)])
        self.places = places

    def drawOn(self, canvas, x, y, _sW=0) -> None:
        self.places.append((canvas.getPageNumber(), y + 4))
        super().drawOn(canvas, x, y, _sW)


class _Canvas(Canvas):
    """Keeps every page until the end, then prints "Trang x/N" and the contents' page numbers: one
    typesetting pass instead of two."""

    def __init__(self, *args, document: "_Document", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.document, self.kept = document, []

    def showPage(self) -> None:
        self.kept.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        doc, total = self.document, len(self.kept)
        numbers: dict[int, list[tuple[float, str]]] = {}
        for (page, y), (_, _, target) in zip(doc.places, doc.entries):
            numbers.setdefault(page, []).append((y, str(target)))
        for state in self.kept:
            self.__dict__.update(state)
            self.setFont(FONT, 9)
            self.drawCentredString(A4[0] / 2, BOTTOM / 2,
                                   msg("report.page", doc.lang, page=self._pageNumber, pages=total))
            self.setFont(FONT, 10.5)
            for y, number in numbers.get(self._pageNumber, []):
                self.drawRightString(LEFT + WIDTH, y, number)
            super().showPage()
        super().save()


class _Document(BaseDocTemplate):
    def __init__(self, target, heading: Heading, lang: str) -> None:
        super().__init__(target, pagesize=A4, leftMargin=LEFT, rightMargin=RIGHT, topMargin=TOP,
                         bottomMargin=BOTTOM, title=heading.title, author=heading.issuer or "",
                         creator="parbot", invariant=1)
        self.lang = lang
        self.entries: list[tuple[int, str, int]] = []
        self.places: list[tuple[int, float]] = []  # where each contents line was drawn: page, baseline
        frame = Frame(LEFT, BOTTOM, WIDTH, HEIGHT, id="body", leftPadding=0, rightPadding=0, topPadding=0,
                      bottomPadding=0)
        self.addPageTemplates([PageTemplate("page", [frame])])

    def afterFlowable(self, flowable: Flowable) -> None:
        entry = getattr(flowable, "entry", None)
        if entry is not None:
            level, text, key = entry
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(text, key, level=level)
            if level == 0:
                self.entries.append((level, text, self.page))


# About a third of an A4 page of 9-point text in the widest column.
MAX_CELL_CHARS = 1_200
MAX_HEADING_CHARS = 300


def _grid(data, widths, header_rows: int = 1, right_from: int | None = None, extra=()) -> Table:
    style = [("FONT", (0, 0), (-1, -1), FONT, 9), ("FONT", (0, 0), (-1, header_rows - 1), BOLD, 9),
             ("BACKGROUND", (0, 0), (-1, header_rows - 1), HEADER_FILL),
             ("GRID", (0, 0), (-1, -1), 0.4, RULE), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
             ("LEFTPADDING", (0, 0), (-1, -1), PADDING), ("RIGHTPADDING", (0, 0), (-1, -1), PADDING), *extra]
    if right_from is not None:
        style.append(("ALIGN", (right_from, header_rows), (-1, -1), "RIGHT"))
    data = [[_bounded(cell) for cell in row] for row in data]
    return Table(data, colWidths=widths, repeatRows=header_rows, style=TableStyle(style), hAlign="LEFT")


def _bounded(cell: object, limit: int = MAX_CELL_CHARS) -> object:
    """A table row must fit on a page (reportlab aborts the whole report with LayoutError otherwise): a
    5,000-character name or reason is clipped here; the full text stays in the workbook and the audit."""
    if isinstance(cell, str) and len(cell) > limit:
        return cell[:limit - 1].rstrip() + "…"
    return cell


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


def _contents(titles: Sequence[str], places: list, lang: str, s: _Styles) -> list[Flowable]:
    return [Spacer(1, 18), Paragraph(msg("report.contents", lang), s.h1),
            *(_ContentsLine(title, s.toc, places) for title in titles)]


def _ranking_table(block: BlockResult, previous: Mapping[str, Decimal], lang: str, s: _Styles) -> Table:
    widths = [1.1 * cm, None, 1.9 * cm, 1.9 * cm, 1.9 * cm, 2.3 * cm] + ([2.1 * cm] if previous else [])
    widths[1] = WIDTH - sum(w for w in widths if w)
    header = [_wrap(h, w, BOLD) for h, w in zip(ranking_header(lang, bool(previous)), widths)]
    rows = ranking_rows(block, previous, lang)
    data = [header] + [[r[0], _wrap(r[1], widths[1]), *r[2:]] for r in rows]
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


AREA_PADDING = 2
AREA_NAME = 4.0 * cm  # the unit's name column at its narrowest before the areas split in parts
BELOW = colors.HexColor("#f4c7c3")


def _area_comparison(block: BlockResult, lang: str, s: _Styles) -> list[Flowable]:
    """The annex's areas × units table; more areas than fit across the page go into further tables of the
    same rows."""
    table = area_table(block, lang)
    if table is None:
        return []
    story: list[Flowable] = [_p(table.legend, s.body)] + ([_p(table.condition, s.body)] if table.condition else [])
    # Eight areas fit across A4 next to the name: "100,00" in 8-point type with narrow padding.
    column = pdfmetrics.stringWidth("100,00", FONT, 8) + 2 * AREA_PADDING + 1
    fixed = 1.1 * cm + 1.6 * cm
    per_table = max(1, int((WIDTH - fixed - AREA_NAME) / column))
    codes = table.header[2:-1]
    for start in range(0, len(codes), per_table):
        part = range(2 + start, 2 + min(start + per_table, len(codes)))
        widths = [1.1 * cm, WIDTH - fixed - len(part) * column, *[column] * len(part), 1.6 * cm]
        picked = [0, 1, *part, len(table.header) - 1]
        header = [_wrap(table.header[c], w, BOLD) if c in (1, picked[-1]) else table.header[c]
                  for c, w in zip(picked, widths)]
        data = [header] + [[_wrap(row[c], widths[1]) if c == 1 else row[c] for c in picked] for row in table.rows]
        shaded = [("BACKGROUND", (position, row + 1), (position, row + 1), BELOW)
                  for position, c in enumerate(picked) for row in range(len(table.rows)) if (row, c) in table.below]
        if len(codes) > per_table:
            story.append(_p(msg("report.area_part", lang, first=codes[start], last=table.header[part[-1]]), s.h3))
        story.append(_grid(data, widths, right_from=2, extra=[
            ("ALIGN", (0, 1), (0, -1), "RIGHT"), ("ALIGN", (2, 0), (-2, 0), "CENTER"),
            ("FONT", (2, 1), (-2, -2), FONT, 8), ("LEFTPADDING", (2, 0), (-2, -1), AREA_PADDING),
            ("RIGHTPADDING", (2, 0), (-2, -1), AREA_PADDING),
            ("FONT", (0, len(data) - 1), (-1, -1), BOLD, 9), *shaded]))
        story.append(Spacer(1, 8))
    return story


def _lost(item: ItemResult) -> Decimal:
    """Points an item cost the unit: below its maximum in an area, or a deduction taken."""
    return item.points if item.section == "deduction" else item.lost


def _mark(value, block: BlockResult, lang: str) -> str:
    return "" if value is None else t(lang, "not_applicable") if value is NA else points(value, block, lang, False)


def _areas_table(block: BlockResult, unit: UnitResult, lang: str, s: _Styles) -> Table:
    widths = [WIDTH - 3 * 2.2 * cm, 2.2 * cm, 2.2 * cm, 2.2 * cm]
    data = [[_wrap(h, w, BOLD) for h, w in zip((t(lang, "area"), t(lang, "maximum"), t(lang, "points"),
                                                t(lang, "index_pct")), widths)]]
    for area in unit.areas:
        data.append([_wrap(f"{area.code}. {area.name}", widths[0]), points(area.maximum, block, lang),
                     points(area.points, block, lang), num(area.index, lang)])
    for key, value in (("bonus", unit.bonus), ("deduction", unit.deduction)):
        if value:
            data.append([t(lang, key), "", points(value if key == "bonus" else -value, block, lang), ""])
    data.append([t(lang, "total"), points(unit.maximum, block, lang), points(unit.total, block, lang),
                 num(unit.index, lang)])
    return _grid(data, widths, right_from=1, extra=[("FONT", (0, len(data) - 1), (-1, -1), BOLD, 9)])


def _lost_table(block: BlockResult, unit: UnitResult, lang: str, s: _Styles) -> Table | None:
    """Items that lost points, under their area with the area's loss; names and reasons wrapped in full; the
    self-score only where the appraisers changed it."""
    names = {a.code: f"{a.code}. {a.name}" for a in unit.areas}
    names.update(bonus=t(lang, "section_bonus"), deduction=t(lang, "section_deduction"))
    groups: dict[str, list[ItemResult]] = {}
    for item in unit.items:
        if _lost(item) > ZERO:
            groups.setdefault(item.area_code if item.section == "area" else item.section, []).append(item)
    if not groups:
        return None
    widths = [1.3 * cm, 6.2 * cm, 1.5 * cm, 1.6 * cm, 1.5 * cm]
    widths.append(WIDTH - sum(widths))
    header = [t(lang, "code"), t(lang, "item"), t(lang, "self"), t(lang, "points"), t(lang, "lost"), t(lang, "reason")]
    data: list[list] = [[_wrap(h, w, BOLD) for h, w in zip(header, widths)]]
    spans = []
    for code, items in groups.items():
        lost = sum((_lost(i) for i in items), ZERO)
        spans.append(len(data))
        data.append([_wrap(f"{names.get(code, code)} (−{points(lost, block, lang, False)})", WIDTH, BOLD), "", "", "", "", ""])
        for item in items:
            differs = item.self_points is not None and item.self_points != item.points
            data.append([item.code, _wrap(item.name, widths[1]), _mark(item.self_points, block, lang) if differs else "",
                         f"{points(item.points, block, lang, False)}/{points(item.maximum, block, lang, False)}",
                         f"−{points(_lost(item), block, lang, False)}",
                         _wrap(item.reason, widths[5], ITALIC, 8.5) if item.reason else ""])
    extra = [style for row in spans for style in (("SPAN", (0, row), (-1, row)), ("FONT", (0, row), (-1, row), BOLD, 9),
                                                   ("BACKGROUND", (0, row), (-1, row), colors.HexColor("#f2f2f2")))]
    return _grid(data, widths, right_from=None,
                 extra=[("FONT", (5, 1), (5, -1), ITALIC, 8.5), ("ALIGN", (2, 1), (4, -1), "RIGHT"),
                        ("VALIGN", (0, 1), (-1, -1), "TOP"), *extra])


def _unit(block: BlockResult, unit: UnitResult, previous: Decimal | None, lang: str, s: _Styles) -> list[Flowable]:
    story: list[Flowable] = [PageBreak(), _Entry(unit.unit.name, s.h2, 1, f"unit-{block.block}-{unit.unit.code}")]
    rank = str(unit.rank) if unit.rank else "—"
    story.append(_p(msg("report.unit_summary", lang, rank=rank, of=unit.rank_of or len(block.ranked),
                        total=points(unit.total, block, lang), maximum=points(unit.maximum, block, lang),
                        index=num(unit.index, lang), classification=class_label(unit, lang)), s.body))
    if previous is not None and not unit.excluded:
        story.append(_p(msg("report.unit_change", lang, change=signed(unit.index - previous, lang)), s.body))
    if unit.missing_survey:
        story.append(_p(t(lang, "missing_survey", n=unit.missing_survey), s.body))
    if unit.areas:
        story.append(_areas_table(block, unit, lang, s))
    story.append(_p(t(lang, "lost_title"), s.h3))
    lost = _lost_table(block, unit, lang, s)
    story.append(lost if lost is not None else _p(t(lang, "no_lost" if unit.items else "no_items"), s.body))
    return story


def _story(blocks: Sequence[BlockResult], heading: Heading, previous: Mapping[str, Decimal], lang: str,
           places: list) -> list[Flowable]:
    s = _Styles()
    sections: list[tuple[str, list[Flowable]]] = []
    for block in blocks:
        table = msg("report.ranking_table", lang, year=block.year, block=block.block_name)
        sections.append((table, [_ranking_table(block, previous, lang, s), Spacer(1, 10),
                                 CondPageBreak(5 * cm), *_ranking_charts(block, lang, s)]))
        comparison = _area_comparison(block, lang, s)
        if comparison:
            sections.append((msg("report.area_section", lang, block=block.block_name), comparison))
        if block.units:
            units = msg("report.units_section", lang, block=block.block_name)
            body = [f for u in block.units for f in _unit(block, u, previous.get(u.unit.code), lang, s)]
            body[0:1] = []  # the section's own page break stands for the first unit's
            sections.append((units, body))
    story = _cover(heading, blocks, lang, s) + _contents([title for title, _ in sections], places, lang, s)
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
    document = _Document(str(path) if isinstance(path, Path) else path, heading, lang)
    document.build(_story(blocks, heading, previous, lang, document.places),
                   canvasmaker=lambda *args, **kwargs: _Canvas(*args, document=document, **kwargs))
    return document.page
