"""Commands for the foundation: database, criteria sets, units, periods, scores, results, audit."""
from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..core.criteria import load_criteria_set
from ..core.decimals import fmt, round_half_up
from ..core.services import catalog, periods, results, scores, units
from ..core.services.periods import get_period
from ..storage.db import current_revision
from ..storage.files import read_table
from .common import _engine, admin, console, err_console, handle_errors, settings, uow

db_app = typer.Typer(help="The database.", no_args_is_help=True)
framework_app = typer.Typer(help="Criteria sets (bộ tiêu chí).", no_args_is_help=True)
units_app = typer.Typer(help="The unit registry (departments, districts, communes).", no_args_is_help=True)
period_app = typer.Typer(help="Assessment periods (one per year).", no_args_is_help=True)
scores_app = typer.Typer(help="Scores from spreadsheets.", no_args_is_help=True)


class Format(str, Enum):
    table = "table"
    csv = "csv"
    xlsx = "xlsx"
    json = "json"


@db_app.command("upgrade")
@handle_errors
def db_upgrade() -> None:
    """Apply every migration to the database in PARBOT_DATABASE_URL (done by every command anyway)."""
    engine = _engine(settings().database_url)
    console.print(f"Database at revision {current_revision(engine)}.")


@framework_app.command("validate")
def framework_validate(files: list[Path] = typer.Argument(..., help="Criteria-set YAML files.")) -> None:
    """Check criteria-set files; print every problem with file:line and path. Exit 0 only when all are valid."""
    bad = 0
    for file in files:
        criteria_set, problems = load_criteria_set(file)
        if criteria_set is None:
            bad += 1
            for problem in problems:
                err_console.print(str(problem), markup=False)
            err_console.print(f"{file}: {len(problems)} problem(s)", markup=False)
        else:
            spec = criteria_set.spec
            for block in spec.blocks:
                view = criteria_set.for_block(block.code)
                console.print(f"{file}: valid — {spec.code} v{spec.version} ({spec.year}), block {block.code}: "
                              f"{len(view.areas)} areas, {len(view.assessed_items())} items, "
                              f"maximum {fmt(view.maximum)}", markup=False)
    raise typer.Exit(1 if bad else 0)


@framework_app.command("import")
@handle_errors
def framework_import(file: Path) -> None:
    """Store a criteria set in the database (the same code and version must keep the same content)."""
    criteria_set, set_id = catalog.import_file(uow(), caller=admin(), path=catalog.locate(str(file)))
    console.print(f"Stored {criteria_set.code} v{criteria_set.spec.version} (id {set_id}).")


@framework_app.command("list")
@handle_errors
def framework_list(shipped: bool = typer.Option(False, help="List the sets shipped with parbot instead.")) -> None:
    """Criteria sets in the database (or shipped with parbot)."""
    if shipped:
        for path in sorted(catalog.shipped_sets_dir().glob("*.yaml")):
            criteria_set, _ = load_criteria_set(path)
            title = criteria_set.spec.title if criteria_set else "(invalid)"
            console.print(f"{path.name}\t{title}", markup=False)
        return
    with uow() as work:
        for code, version, year, title in work.criteria_sets.list():
            console.print(f"{code}\tv{version}\t{year}\t{title}", markup=False)


@framework_app.command("revise")
@handle_errors
def framework_revise(file: Path = typer.Argument(..., help="The new version of a criteria set the period uses."),
                     period: Optional[int] = typer.Option(None, "--period", help="The year (default: latest)."),
                     mapping: Optional[Path] = typer.Option(None, "--map", help="YAML 'old code: new code(s)' for "
                                                            "renamed, split or merged items."),
                     dry_run: bool = typer.Option(False, "--dry-run", help="Print the mapping and what would "
                                                  "change; write nothing."),
                     show_all: bool = typer.Option(False, "--all", help="List the unchanged items too.")) -> None:
    """Attach a new version of a criteria set to a running period: unchanged items keep their answers, changed
    ones are asked again, every unit is told in the chat, all of it audited (docs/criteria-format.md, section 12)."""
    from datetime import datetime, timezone

    from ..core.errors import DomainError, ValidationFailed
    from ..core.services import revision
    from ..i18n import error_text, render, t

    lang = settings().language
    path = catalog.locate(str(file))
    reference = path.name if path.parent == catalog.shipped_sets_dir() else str(path.resolve())
    try:
        result = revision.revise(uow(), caller=admin(), criteria_set=catalog.load_file(path), reference=reference,
                                 year=period, now=datetime.now(timezone.utc), dry_run=dry_run,
                                 mapping=revision.load_mapping(mapping) if mapping else None)
    except DomainError as error:
        if not error.code.startswith("revision."):
            raise
        err_console.print(error_text(error, lang, settings().timezone), markup=False)
        for problem in getattr(error, "problems", []) if isinstance(error, ValidationFailed) else []:
            err_console.print(f"  • {render(problem, lang)}", markup=False)
        raise typer.Exit(2 if isinstance(error, ValidationFailed) else 1) from None
    if not result.blocks:
        console.print(t("revise.noop", lang, year=result.year, set=result.set_code, version=result.version),
                      markup=False)
        return
    for block in result.blocks:
        _print_revision(block, result.set_code, lang, show_all)
    if result.self_assessment_closed:
        console.print(t("revise.closed_warning", lang), style="yellow", markup=False)
    if not result.applied:
        console.print(t("revise.dry_run", lang), style="bold", markup=False)
        return
    console.print(t("revise.applied", lang, set=result.set_code, version=result.version, year=result.year,
                    blocks=", ".join(b.block for b in result.blocks),
                    notices=sum(u.notices for b in result.blocks for u in b.units)), markup=False)


def _print_revision(block, set_code: str, lang: str, show_all: bool) -> None:
    from ..core.services.revision import KEPT
    from ..i18n import t

    table = Table(title=t("revise.table.title", lang, set=set_code, block=block.block, old=block.old_version,
                          new=block.new_version))
    for key in ("kind", "old", "new", "name", "max", "what"):
        table.add_column(t(f"revise.col.{key}", lang), justify="right" if key == "max" else "left")
    kept = 0
    for change in block.changes:
        if change.kind == KEPT:
            kept += 1
            if not show_all:
                continue
        before = fmt(change.old.maximum) if change.old else ""
        after = fmt(sum((i.maximum for i in change.new), Decimal(0))) if change.new else ""
        table.add_row(t(f"revise.kind.{change.kind}", lang), change.old_code or "", ", ".join(change.new_codes),
                      (change.old or change.new[0]).name,
                      f"{before} → {after}" if before and after and before != after else before or after,
                      ", ".join(t(f"revise.diff.{d}", lang) for d in change.differences))
    table.caption = t("revise.notice.kept", lang, count=kept)
    console.print(table)
    units = Table(title=t("revise.units.title", lang, block=block.block))
    for key in ("unit", "moved", "superseded", "reopened", "notices"):
        units.add_column(t(f"revise.col.{key}", lang), justify="right" if key == "notices" else "left")
    for unit in block.units:
        units.add_row(f"{unit.unit_code} {unit.unit_name}", ", ".join(unit.moved), ", ".join(unit.superseded),
                      t("revise.yes", lang) if unit.reopened else "", str(unit.notices))
    console.print(units)


@units_app.command("import")
@handle_errors
def units_import(file: Path) -> None:
    """Import units from CSV/XLSX: code,name,block[,parent,valid_from,valid_to,predecessors,block_name]."""
    header, rows = read_table(file)
    added, updated = units.import_units(uow(), caller=admin(), header=header, rows=rows)
    console.print(f"Units: {added} added, {updated} updated.")


@units_app.command("list")
@handle_errors
def units_list(block: Optional[str] = None, year: Optional[int] = None) -> None:
    """List units, optionally of one block or existing in one year."""
    with uow() as work:
        for unit in work.units.list(block=block, year=year):
            extra = f"\tparent {unit.parent_code}" if unit.parent_code else ""
            console.print(f"{unit.code}\t{unit.block}\t{unit.name}{extra}", markup=False)


@period_app.command("create")
@handle_errors
def period_create(file: Path) -> None:
    """Create or update a period from a YAML file (year, criteria per block, deadlines, bands, tie rule)."""
    period = periods.create_from_file(uow(), caller=admin(), path=file)
    console.print(f"Period {period.year} saved with blocks {', '.join(period.blocks)}.")


@period_app.command("show")
@handle_errors
def period_show(year: Optional[int] = typer.Option(None, "--year", "--period")) -> None:
    """Show a period's configuration: criteria sets, deadlines, bands, tie rule."""
    with uow() as work:
        period = get_period(work, year)
    config = period.config
    console.print(f"Period {period.year}", style="bold")
    for block, criteria_set in period.criteria_sets.items():
        view = criteria_set.for_block(block)
        console.print(f"  block {block}: {criteria_set.code} v{criteria_set.spec.version} — "
                      f"{len(view.assessed_items())} items, maximum {fmt(view.maximum)}", markup=False)
    console.print("  deadlines:")
    for name, value in config.deadlines.model_dump().items():
        if value is not None:
            console.print(f"    {name}: {value.isoformat()}", markup=False)
    for block in period.blocks:
        bands = config.bands_for(block)
        text = ", ".join(f"{b.label} {'>' if b.exclusive else '≥'} {fmt(b.min_index)}%"
                         + (f" (every area ≥ {fmt(b.min_area_index)}%)" if b.min_area_index is not None else "")
                         for b in bands) or "(none)"
        console.print(f"  bands {block}: {text}", markup=False)
    console.print(f"  tie rule: {config.tie_rule}; leader approval required: {config.leader_approval_required}")
    rule = config.ranking_rule()
    console.print(f"  ranking: index {'unrounded' if rule.precision is None else f'at {rule.precision} decimals'}"
                  + "".join(f", then {b}" for b in rule.tie_breakers), markup=False)


@scores_app.command("import")
@handle_errors
def scores_import(file: Path, period: int = typer.Option(..., "--period", help="The year."),
                  reason: Optional[str] = typer.Option(None, help="Recorded in the audit for every row.")) -> None:
    """Import scores (CSV/XLSX: unit,item,source,points[,reason]); all rows or none."""
    header, rows = read_table(file)
    count, changed = scores.import_scores(uow(), caller=admin(), year=period, header=header, rows=rows,
                                         reason=reason)
    console.print(f"Scores: {count} rows read, {changed} changed.")


def _render(value: object) -> object:
    """ranking_table's values come rounded half-up as shown; format(.2f) would round half-even (97.685 → 97.68)."""
    return format(value, "f") if isinstance(value, Decimal) else value


def _index(value: Decimal) -> str:
    return format(round_half_up(value), "f")


@handle_errors
def results_command(period: Optional[int] = typer.Option(None, "--period", help="The year (default: latest)."),
                    block: Optional[str] = typer.Option(None, help="Only this block."),
                    format: Format = typer.Option(Format.table, "--format"),  # noqa: A002 - the option's name
                    out: Optional[Path] = typer.Option(None, "--out", help="Write to this file."),
                    items: bool = typer.Option(False, help="Include item detail (xlsx, json).")) -> None:
    """The ranking per block, as provinces publish it: rank, unit, areas, survey, total, maximum, index, class."""
    period_obj, blocks = results.period_results(uow(), year=period, block=block, with_items=items or format == Format.xlsx)
    if format == Format.xlsx:
        from ..reports.xlsx import results_xlsx

        target = out or Path(f"parbot-results-{period_obj.year}.xlsx")
        results_xlsx(blocks, target)
        console.print(f"Wrote {target}.")
        return
    tables = [(b, *_table(period_obj, b)) for b in blocks]
    if format == Format.json:
        payload = {"year": period_obj.year, "blocks": [
            {"block": b.block, "name": b.block_name, "average_index": _index(b.average_index),
             "units": [dict(zip(header, [_render(v) for h, v in zip(header, r)]))
                       for r in rows]} for b, header, rows in tables]}
        text = json.dumps(payload, ensure_ascii=False, indent=2)
    elif format == Format.csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for b, header, rows in tables:
            writer.writerow(["block", *header])
            for r in rows:
                writer.writerow([b.block, *[_render(v) for h, v in zip(header, r)]])
        text = buffer.getvalue()
    else:
        if out is not None:
            raise typer.BadParameter("--out needs --format csv, json or xlsx")
        for b, header, rows in tables:
            table = Table(title=f"{b.block_name} — {period_obj.year} (average index {_index(b.average_index)}%)")
            for h in header:
                table.add_column(h, justify="left" if h in ("unit", "unit_code", "class") else "right")
            for r in rows:
                table.add_row(*[str(_render(v)) for h, v in zip(header, r)])
            console.print(table)
        return
    if out is None:
        console.print(text, end="", markup=False)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"Wrote {out}.")


def _table(period, block_result):
    from ..core.results import ranking_table

    return ranking_table(block_result, period.criteria_for(block_result.block))


@handle_errors
def audit_command(period: Optional[int] = typer.Option(None, "--period"),
                  unit: Optional[str] = typer.Option(None, "--unit"),
                  item: Optional[str] = typer.Option(None, "--item")) -> None:
    """The history of every score: who, when, source, old → new, reason."""
    with uow() as work:
        period_obj = get_period(work, period)
        entries = work.audit.query(period_obj.id, unit, item)
    tz = settings().timezone
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    for e in entries:
        when = e.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if e.at else "-"
        console.print(f"{when}\t{e.actor}\t{e.action}\t{e.unit_code or '-'}\t{e.item_code or '-'}\t{e.source or '-'}\t"
                      f"{e.old if e.old is not None else '∅'} → {e.new if e.new is not None else '∅'}\t{e.reason or ''}",
                      markup=False)
    if not entries:
        console.print("No audit entries match.")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(framework_app, name="framework")
    app.add_typer(units_app, name="units")
    app.add_typer(period_app, name="period")
    app.add_typer(scores_app, name="scores")
    app.command("results")(results_command)
    app.command("audit")(audit_command)
