"""`parbot report`: the Vietnamese results report (PDF) and the annex of the publication decision (DOCX and
XLSX next to it)."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Optional

import typer

from .common import Steps, console, handle_errors, say, uow

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
def report_command(period: Optional[int] = typer.Option(None, "--period"),
                   out: Path = typer.Option(..., "--out"),
                   province: Optional[str] = typer.Option(None),
                   issuer: Optional[str] = typer.Option(None),
                   decision: Optional[str] = typer.Option(None),
                   decision_date: Optional[str] = typer.Option(None, "--date"),
                   place: Optional[str] = typer.Option(None),
                   ) -> None:
    from ..core.services import reporting
    from ..reports.annex import Heading
    from ..reports.docx import results_docx
    from ..reports.pdf import results_report_pdf
    from ..reports.xlsx import results_xlsx

    when = _date(decision_date)
    word, workbook = out.with_suffix(".docx"), out.with_suffix(".xlsx")
    with Steps(say("cli.progress.results"), say("cli.progress.write", file=out), say("cli.progress.write", file=word),
               say("cli.progress.write", file=workbook)) as steps:
        period_obj, blocks, provisional, previous = reporting.report_blocks(uow(), year=period)
        spec = period_obj.config.report
        heading = Heading(TITLE.format(year=period_obj.year) + (PROVISIONAL if provisional else ""),
                          province=province or spec.province, issuer=issuer or spec.issuer,
                          decision=decision or spec.decision, date=when or spec.date, place=place or spec.place)
        steps.done()
        pages = results_report_pdf(blocks, out, heading, previous)
        steps.done()
        results_docx(blocks, word, heading, previous)
        steps.done()
        results_xlsx(blocks, str(workbook))
    console.print(say("cli.report.written", pdf=out, pages=pages, docx=word, xlsx=workbook)
                  + (say("cli.report.provisional") if provisional else ""), markup=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
