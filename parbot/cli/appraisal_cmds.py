"""Commands for appraisal, survey and publication: councils' workbooks, closing rounds, survey results, publishing."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from ..core.services import appraisal, publication, survey
from ..core.services.tabular import Row
from ..storage import files
from ..storage.files import read_table
from .common import admin, console, handle_errors, uow

appraisal_app = typer.Typer(help="Appraisal (thẩm định): council workbooks and rounds.", no_args_is_help=True)
survey_app = typer.Typer(help="Survey results (điều tra xã hội học).", no_args_is_help=True)

MARKER = "parbot-appraisal"  # workbook subject: the import finds the period in the keywords
EDITABLE = ("appraised_points", "reason")
_EDIT_FILL = PatternFill("solid", fgColor="FFF2CC")


def write_workbook(year: int, sheets: list, path: Path) -> None:
    """One sheet per unit (named by its code): the item rows, with the two columns the council fills."""
    from ..reports.xlsx import as_text, plain

    workbook = Workbook()
    workbook.remove(workbook.active)
    workbook.properties.subject, workbook.properties.keywords = MARKER, str(year)
    for unit, rows in sheets:
        sheet = workbook.create_sheet(unit.code)
        sheet.append(list(appraisal.EXPORT_COLUMNS))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            if cell.value in EDITABLE:
                cell.fill = _EDIT_FILL
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
    workbook = files.read_workbook(path)
    year = int(workbook.keywords) if workbook.subject == MARKER and workbook.keywords.isdigit() else None
    return year, [(title, rows) for title, _, rows in workbook.sheets]


@appraisal_app.command("export")
@handle_errors
def appraisal_export(period: Optional[int] = typer.Option(None, "--period", help="The year (default: current)."),
                     unit: Optional[str] = typer.Option(None, "--unit", help="Only this unit."),
                     out: Path = typer.Option(..., "--out", help="The .xlsx file to write.")) -> None:
    """Write a workbook for a council: a sheet per unit with items, answers, self points, evidence, and
    columns for the appraised points and the reason."""
    year, sheets = appraisal.export_sheets(uow(), caller=admin(), unit_code=unit, year=period)
    write_workbook(year, sheets, out)
    console.print(f"Wrote {out}: {len(sheets)} unit(s), {sum(len(r) for _, r in sheets)} items.", markup=False)


@appraisal_app.command("import")
@handle_errors
def appraisal_import(file: Path,
                     period: Optional[int] = typer.Option(None, "--period",
                                                          help="The year (default: the one stored at export).")
                     ) -> None:
    """Read a council's workbook back: every row checked, nothing written unless all rows are valid.
    Blank appraised_points leaves an item alone; "ok" accepts the self points."""
    stored, sheets = read_workbook(file)
    count, changed = appraisal.import_appraisal(uow(), caller=admin(), sheets=sheets, year=period or stored)
    console.print(f"Appraisal: {count} rows read, {changed} scores changed.")


@appraisal_app.command("close-round")
@handle_errors
def appraisal_close_round(period: Optional[int] = typer.Option(None, "--period"),
                          round_no: int = typer.Option(..., "--round", min=1, max=2, help="1 or 2."),
                          block: Optional[str] = typer.Option(None, "--block", help="Only this block."),
                          force: bool = typer.Option(False, help="Close although items or contests are open.")
                          ) -> None:
    """The chair closes a round. Round 1: each unit is told what was lowered, why, and its provisional total."""
    summary = appraisal.close_round(uow(), caller=admin(), round_no=round_no, block=block, force=force,
                                    year=period)
    console.print(f"Round {summary.round} closed for {len(summary.closed)} unit(s); {summary.notices} notice(s) "
                  f"queued.", markup=False)
    if summary.not_submitted:
        console.print(f"Not submitted (not appraised): {', '.join(summary.not_submitted)}", markup=False)


@survey_app.command("import")
@handle_errors
def survey_import(file: Path, period: Optional[int] = typer.Option(None, "--period"),
                  weights: Optional[str] = typer.Option(None, help="Answer options' weights in percent, "
                                                                   "default A=100,B=60,C=20,D=0.")) -> None:
    """Import survey results (CSV/XLSX): unit,item (survey item or component) and points, or answer counts
    in columns count_a, count_b, …; all rows or none."""
    header, rows = read_table(file)
    count, changed = survey.import_survey(uow(), caller=admin(), header=header, rows=rows, year=period,
                                          weights=survey.parse_weights(weights) if weights else None)
    console.print(f"Survey: {count} rows read, {changed} scores changed.")


@handle_errors
def publish_command(period: Optional[int] = typer.Option(None, "--period"),
                    block: Optional[str] = typer.Option(None, "--block", help="Only this block."),
                    revise: bool = typer.Option(False, help="Publish a new revision of published results."),
                    reason: Optional[str] = typer.Option(None, help="Why (required with --revise).")) -> None:
    """Publish: refuse while anything is missing, freeze the results (content hash), notify units and leaders."""
    for snapshot in publication.publish(uow(), caller=admin(), block=block, revise=revise, reason=reason,
                                            year=period):
        units = snapshot.results["units"]
        console.print(f"Published {snapshot.block} revision {snapshot.revision}: {len(units)} units, average index "
                      f"{snapshot.results['average_index']}%, hash {snapshot.content_hash}.", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(appraisal_app, name="appraisal")
    app.add_typer(survey_app, name="survey")
    app.command("publish")(publish_command)
