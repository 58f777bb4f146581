"""The annex as a Word document (python-docx), because decisions are drafted in Word: the publisher's
heading, then per block the ranking table in the shape provinces publish. Times New Roman, the typeface of
administrative documents (Nghị định 30/2020/NĐ-CP)."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import IO, Mapping, Sequence

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from parbot.core.results import BlockResult
from parbot.i18n import t as msg

from .annex import Heading, area_table, ranking_header, ranking_rows

FONT = "Times New Roman"
WIDTHS = (Cm(1.2), Cm(7.0), Cm(1.9), Cm(1.9), Cm(1.9), Cm(2.3), Cm(2.0))
BELOW = "F4C7C3"  # the PDF's shade of an area under the top class's condition


def _centred(document, text: str, bold: bool = False, italic: bool = False, size: float = 13) -> None:
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run(text)
    run.bold, run.italic, run.font.size = bold, italic, Pt(size)


def _page_numbers(section, lang: str) -> None:
    """"Trang 3/12" centred in the footer, the numbers as Word fields (PAGE, NUMPAGES) so they follow edits."""
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    text = msg("report.page", lang, page="\0PAGE\0", pages="\0NUMPAGES\0")
    for position, part in enumerate(text.split("\0")):
        run = paragraph.add_run()
        run.font.size = Pt(10)
        if position % 2 == 0:
            run.text = part
            continue
        for kind in ("begin", None, "end"):
            element = run._r.makeelement(qn("w:fldChar") if kind else qn("w:instrText"),
                                         {qn("w:fldCharType"): kind} if kind else {})
            if kind is None:
                element.text = part
            run._r.append(element)


def _table(document, header: Sequence[str], rows: Sequence[Sequence[str]], widths, total: bool,
           centred: tuple[int, ...], size: float = 11):
    """A grid with the header repeated on every page, numbers right-aligned (the name column left, the
    ``centred`` ones centred), the last row (a block average) bold when ``total``."""
    table = document.add_table(rows=1 + len(rows), cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for r, values in enumerate([header, *rows]):
        for c, value in enumerate(values):
            cell = table.rows[r].cells[c]
            cell.width = widths[c]
            paragraph = cell.paragraphs[0]
            run = paragraph.add_run(value)
            run.font.size = Pt(size)
            run.bold = r == 0 or (r == len(rows) and total)
            if c != 1:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER if r == 0 or c in centred else \
                    WD_ALIGN_PARAGRAPH.RIGHT
    header_row = table.rows[0]._tr.get_or_add_trPr()
    header_row.append(header_row.makeelement(qn("w:tblHeader"), {}))  # the header repeats on every page
    return table


def results_docx(blocks: Sequence[BlockResult], path: str | Path | IO[bytes], heading: Heading,
                 previous: Mapping[str, Decimal] | None = None, lang: str = "vi") -> None:
    previous = dict(previous or {})
    document = Document()
    style = document.styles["Normal"]
    style.font.name, style.font.size = FONT, Pt(12)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)  # Word takes Vietnamese letters from this slot too
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin, section.right_margin, section.top_margin, section.bottom_margin = Cm(2.5), Cm(1.5), \
        Cm(2), Cm(2)
    _page_numbers(section, lang)
    years = sorted({b.year for b in blocks})
    _centred(document, msg("report.annex_title", lang, year=", ".join(map(str, years))).upper(), bold=True)
    decision = heading.decision_line(lang)
    if decision:
        _centred(document, f"({decision})", italic=True)
    if heading.issuer or heading.province:
        _centred(document, " – ".join(x for x in (heading.issuer, heading.province) if x), size=12)
    for block in blocks:
        document.add_heading(msg("report.ranking_table", lang, year=block.year, block=block.block_name), level=2)
        _table(document, ranking_header(lang, bool(previous)), ranking_rows(block, previous, lang), WIDTHS,
               total=bool(block.units), centred=(0, 5))
        areas = area_table(block, lang)
        if areas is not None:
            document.add_heading(msg("report.area_section", lang, block=block.block_name), level=2)
            for line in (areas.legend, areas.condition):
                if line:
                    document.add_paragraph(line)
            name = 17 - 1.0 - 1.6 - 1.35 * (len(areas.header) - 3)  # cm: the width left for the name
            table = _table(document, areas.header, areas.rows,
                           (Cm(1.0), Cm(max(name, 3.0)), *[Cm(1.35)] * (len(areas.header) - 3), Cm(1.6)),
                           total=True, centred=(0,), size=10)
            for row, column in areas.below:
                cell = table.rows[1 + row].cells[column]._tc.get_or_add_tcPr()
                cell.append(cell.makeelement(qn("w:shd"), {qn("w:val"): "clear", qn("w:fill"): BELOW}))
    document.save(str(path) if isinstance(path, Path) else path)
