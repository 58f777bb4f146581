"""`parbot report`: the Vietnamese results report (PDF) and the annex of the publication decision (DOCX and
XLSX next to it)."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Optional

import typer

from .common import Steps, console, handle_errors, say, uow

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
    from ..reports.bundle import PROVISIONAL, TITLE, annex_paths, write_report

    when = _date(decision_date)
    word, workbook = annex_paths(out)
    with Steps(say("cli.progress.results"), say("cli.progress.write", file=out), say("cli.progress.write", file=word),
               say("cli.progress.write", file=workbook)) as steps:
        period_obj, blocks, provisional, previous = reporting.report_blocks(uow(), year=period)
        spec = period_obj.config.report
        heading = Heading(TITLE.format(year=period_obj.year) + (PROVISIONAL if provisional else ""),
                          province=province or spec.province, issuer=issuer or spec.issuer,
                          decision=decision or spec.decision, date=when or spec.date, place=place or spec.place)
        steps.done()
        files = write_report(blocks, out, heading, previous, done=steps.done)
    console.print(say("cli.report.written", pdf=files.pdf, pages=files.pages, docx=files.docx, xlsx=files.xlsx)
                  + (say("cli.report.provisional") if provisional else ""), markup=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
