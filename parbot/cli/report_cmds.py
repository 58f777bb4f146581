"""`parbot report`: the Vietnamese results report (PDF) and the annex of the publication decision (DOCX and
XLSX next to it)."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Optional

import typer

from ..core.services import reporting
from .common import console, handle_errors, uow

TITLE = "Báo cáo kết quả Chỉ số cải cách hành chính năm {year}"
PROVISIONAL = " (tạm tính – chưa công bố)"


def _date(text: Optional[str]) -> Optional[date]:
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"ngày không hợp lệ {text!r}: viết theo dạng NĂM-THÁNG-NGÀY, ví dụ 2026-03-15 "
                                 f"(invalid date; use YYYY-MM-DD)") from None


@handle_errors
def report_command(period: Optional[int] = typer.Option(None, "--period", help="The year (default: latest)."),
                   out: Path = typer.Option(..., "--out", help="The PDF file to write; the annex goes next to "
                                                               "it with the same name (.docx, .xlsx)."),
                   province: Optional[str] = typer.Option(None, help='e.g. "tỉnh Thanh Hóa" (default: the '
                                                                     "period file's report.province)."),
                   issuer: Optional[str] = typer.Option(None, help='The issuing body, e.g. "Sở Nội vụ".'),
                   decision: Optional[str] = typer.Option(None, help='The decision number, e.g. "123/QĐ-UBND".'),
                   decision_date: Optional[str] = typer.Option(None, "--date", help="The decision's date, "
                                                                                    "YYYY-MM-DD."),
                   place: Optional[str] = typer.Option(None, help="Where it is signed (default: the province)."),
                   ) -> None:
    """The cover with the publisher and decision, contents, per block the ranking table and chart, a page
    per unit with its areas and lost points; the annex (ranking tables) as Word and Excel. From the
    published snapshots, or the current results marked provisional. Options override the period file's
    ``report`` section."""
    from ..reports.annex import Heading
    from ..reports.docx import results_docx
    from ..reports.pdf import results_report_pdf
    from ..reports.xlsx import results_xlsx

    when = _date(decision_date)
    period_obj, blocks, provisional, previous = reporting.report_blocks(uow(), year=period)
    spec = period_obj.config.report
    heading = Heading(TITLE.format(year=period_obj.year) + (PROVISIONAL if provisional else ""),
                      province=province or spec.province, issuer=issuer or spec.issuer,
                      decision=decision or spec.decision, date=when or spec.date, place=place or spec.place)
    pages = results_report_pdf(blocks, out, heading, previous)
    word, workbook = out.with_suffix(".docx"), out.with_suffix(".xlsx")
    results_docx(blocks, word, heading, previous)
    results_xlsx(blocks, str(workbook))
    console.print(f"Wrote {out}: {pages} pages; the annex: {word}, {workbook}"
                  + (" (provisional: not every block is published)." if provisional else "."), markup=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
