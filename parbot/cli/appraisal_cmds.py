"""Commands for appraisal, survey and publication: councils' workbooks, closing rounds, survey results, publishing."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from .localized import App
from .common import Steps, admin, console, handle_errors, say, uow

if TYPE_CHECKING:
    from ..core.services.tabular import Row

appraisal_app = App(no_args_is_help=True)
survey_app = App(no_args_is_help=True)

MARKER = "parbot-appraisal"  # workbook subject: the import finds the period in the keywords
EDITABLE = ("appraised_points", "reason")


def write_workbook(year: int, sheets: list, path: Path) -> None:
    """One sheet per unit (named by its code): the item rows, with the two columns the council fills."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    from ..core.services import appraisal
    from ..reports.xlsx import as_text, plain

    edit_fill = PatternFill("solid", fgColor="FFF2CC")
    workbook = Workbook()
    workbook.remove(workbook.active)
    workbook.properties.subject, workbook.properties.keywords = MARKER, str(year)
    for unit, rows in sheets:
        sheet = workbook.create_sheet(unit.code)
        sheet.append(list(appraisal.EXPORT_COLUMNS))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            if cell.value in EDITABLE:
                cell.fill = edit_fill
        for row in rows:
            sheet.append([plain(row[c]) for c in appraisal.EXPORT_COLUMNS])
            for cell in sheet[sheet.max_row]:
                as_text(cell)
        for column, width in zip("ABCDEFGHIJK", (8, 8, 6, 48, 6, 24, 10, 32, 32, 12, 40)):
            sheet.column_dimensions[column].width = width
        for cells in sheet.iter_rows(min_row=2, min_col=4, max_col=4):
            cells[0].alignment = Alignment(wrap_text=True, vertical="top")
        sheet.freeze_panes = "A2"
    workbook.save(path)


def read_workbook(path: Path) -> tuple[int | None, list[tuple[str, list[Row]]]]:
    """Every sheet's rows and the period year stored at export, if still there."""
    from ..storage import files

    workbook = files.read_workbook(path)
    year = int(workbook.keywords) if workbook.subject == MARKER and workbook.keywords.isdigit() else None
    return year, [(title, rows) for title, _, rows in workbook.sheets]


@appraisal_app.command("export")
@handle_errors
def appraisal_export(period: Optional[int] = typer.Option(None, "--period"),
                     unit: Optional[str] = typer.Option(None, "--unit"),
                     out: Path = typer.Option(..., "--out")) -> None:
    from ..core.services import appraisal

    with Steps(say("cli.progress.results"), say("cli.progress.write", file=out)) as steps:
        year, sheets = appraisal.export_sheets(uow(), caller=admin(), unit_code=unit, year=period)
        steps.done()
        write_workbook(year, sheets, out)
    console.print(say("cli.appraisal.exported", out=out, units=len(sheets), items=sum(len(r) for _, r in sheets)),
                  markup=False)


@appraisal_app.command("import")
@handle_errors
def appraisal_import(file: Path,
                     period: Optional[int] = typer.Option(None, "--period")
                     ) -> None:
    from ..core.services import appraisal

    with Steps(say("cli.progress.read", file=file), say("cli.progress.save")) as steps:
        stored, sheets = read_workbook(file)
        steps.done()
        count, changed = appraisal.import_appraisal(uow(), caller=admin(), sheets=sheets, year=period or stored)
    console.print(say("cli.appraisal.imported", count=count, changed=changed), markup=False)


@appraisal_app.command("close-round")
@handle_errors
def appraisal_close_round(period: Optional[int] = typer.Option(None, "--period"),
                          round_no: int = typer.Option(..., "--round", min=1, max=2),
                          block: Optional[str] = typer.Option(None, "--block"),
                          force: bool = typer.Option(False)
                          ) -> None:
    from ..core.services import appraisal

    summary = appraisal.close_round(uow(), caller=admin(), round_no=round_no, block=block, force=force,
                                    year=period)
    console.print(say("cli.appraisal.closed", round=summary.round, units=len(summary.closed),
                      notices=summary.notices), markup=False)
    if summary.not_submitted:
        console.print(say("cli.appraisal.not_submitted", units=", ".join(summary.not_submitted)), markup=False)


@survey_app.command("import")
@handle_errors
def survey_import(file: Path, period: Optional[int] = typer.Option(None, "--period"),
                  weights: Optional[str] = typer.Option(None)) -> None:
    from ..core.services import survey
    from ..storage.files import read_table

    with Steps(say("cli.progress.read", file=file), say("cli.progress.save")) as steps:
        header, rows = read_table(file)
        steps.done()
        count, changed = survey.import_survey(uow(), caller=admin(), header=header, rows=rows, year=period,
                                              weights=survey.parse_weights(weights) if weights else None)
    console.print(say("cli.survey.imported", count=count, changed=changed), markup=False)


@handle_errors
def publish_command(period: Optional[int] = typer.Option(None, "--period"),
                    block: Optional[str] = typer.Option(None, "--block"),
                    revise: bool = typer.Option(False),
                    reason: Optional[str] = typer.Option(None)) -> None:
    from ..core.services import publication

    for snapshot in publication.publish(uow(), caller=admin(), block=block, revise=revise, reason=reason,
                                            year=period):
        units = snapshot.results["units"]
        console.print(say("cli.published", block=snapshot.block, revision=snapshot.revision, units=len(units),
                          average=snapshot.results["average_index"], hash=snapshot.content_hash), markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(appraisal_app, name="appraisal")
    app.add_typer(survey_app, name="survey")
    app.command("publish")(publish_command)
