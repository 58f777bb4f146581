"""The publication's files as `parbot report` and the demo write them: the PDF report and, next to it under
the same name, the annex of the decision in Word and in Excel (the results workbook)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Callable, Mapping, Sequence

from parbot.core.results import BlockResult

from .annex import Heading

TITLE = "Báo cáo kết quả Chỉ số cải cách hành chính năm {year}"
PROVISIONAL = " (tạm tính – chưa công bố)"


@dataclass(frozen=True)
class ReportFiles:
    pdf: Path
    docx: Path
    xlsx: Path
    pages: int


def annex_paths(pdf: Path) -> tuple[Path, Path]:
    """The Word and the Excel annex of the report ``pdf``."""
    return pdf.with_suffix(".docx"), pdf.with_suffix(".xlsx")


def write_report(blocks: Sequence[BlockResult], pdf: Path, heading: Heading,
                 previous: Mapping[str, Decimal] | None = None, lang: str = "vi",
                 done: Callable[[], None] = lambda: None) -> ReportFiles:
    """Write the three files; ``done`` is called after each of the first two (a progress display's step)."""
    from .docx import results_docx
    from .pdf import results_report_pdf
    from .xlsx import results_xlsx

    files = ReportFiles(pdf, *annex_paths(pdf), results_report_pdf(blocks, pdf, heading, previous, lang))
    done()
    results_docx(blocks, files.docx, heading, previous, lang)
    done()
    results_xlsx(blocks, str(files.xlsx), lang)
    return files
