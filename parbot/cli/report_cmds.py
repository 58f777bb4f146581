"""`parbot report`: the Vietnamese results report (PDF), the annex of the publication decision."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import console, handle_errors, uow

TITLE = "Báo cáo kết quả Chỉ số cải cách hành chính năm {year}"
PROVISIONAL = " (tạm tính – chưa công bố)"


@handle_errors
def report_command(period: Optional[int] = typer.Option(None, "--period", help="The year (default: latest)."),
                   out: Path = typer.Option(..., "--out", help="The PDF file to write."),
                   workers: Optional[int] = typer.Option(None, help="Processes rendering unit pages "
                                                                     "(default: one per core).")) -> None:
    """Per block the ranking table and chart, the area comparison, and a page per unit with its summary and
    lost points: from the published snapshots, or the current results marked provisional."""
    from ..core.services import reporting
    from ..reports.pdf import results_report_pdf

    period_obj, blocks, provisional, previous = reporting.report_blocks(uow(), year=period)
    title = TITLE.format(year=period_obj.year) + (PROVISIONAL if provisional else "")
    pages = results_report_pdf(blocks, out, title, previous, workers=workers)
    console.print(f"Wrote {out}: {pages} pages" + (" (provisional: not every block is published)."
                                                    if provisional else "."), markup=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
