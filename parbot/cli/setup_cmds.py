"""Commands for the foundation: database, criteria sets, units, periods, scores, results, audit."""
from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .localized import App
from .common import Steps, _engine, admin, console, err_console, handle_errors, problem_text, say, settings, uow

db_app = App(no_args_is_help=True)
framework_app = App(no_args_is_help=True)
units_app = App(no_args_is_help=True)
period_app = App(no_args_is_help=True)
scores_app = App(no_args_is_help=True)


class Format(str, Enum):
    table = "table"
    csv = "csv"
    xlsx = "xlsx"
    json = "json"


@db_app.command("upgrade")
@handle_errors
def db_upgrade() -> None:
    from ..storage.db import current_revision

    engine = _engine(settings().database_url)
    console.print(say("cli.db.revision", revision=current_revision(engine)), markup=False)


@framework_app.command("validate")
@handle_errors
def framework_validate(files: list[Path] = typer.Argument(...)) -> None:
    from ..core.criteria import load_criteria_set
    from ..core.decimals import fmt

    bad = 0
    for file in files:
        criteria_set, problems = load_criteria_set(file)
        if criteria_set is None:
            bad += 1
            for problem in problems:
                err_console.print(problem_text(problem), markup=False)
            err_console.print(say("cli.validate.problems", file=file, count=len(problems)), markup=False)
        else:
            spec = criteria_set.spec
            for block in spec.blocks:
                view = criteria_set.for_block(block.code)
                console.print(say("cli.framework.valid", file=file, code=spec.code, version=spec.version,
                                  year=spec.year, block=block.code, areas=len(view.areas),
                                  items=len(view.assessed_items()), maximum=fmt(view.maximum)), markup=False)
    raise typer.Exit(1 if bad else 0)


@framework_app.command("import")
@handle_errors
def framework_import(file: Path) -> None:
    from ..core.services import catalog

    criteria_set, set_id = catalog.import_file(uow(create=True), caller=admin(), path=catalog.locate(str(file)))
    console.print(say("cli.framework.stored", code=criteria_set.code, version=criteria_set.spec.version, id=set_id),
                  markup=False)


@framework_app.command("list")
@handle_errors
def framework_list(shipped: bool = typer.Option(False)) -> None:
    from ..core.criteria import load_criteria_set
    from ..core.services import catalog

    if shipped:
        for path in sorted(catalog.shipped_sets_dir().glob("*.yaml")):
            criteria_set, _ = load_criteria_set(path)
            title = criteria_set.spec.title if criteria_set else say("cli.framework.invalid")
            console.print(f"{path.name}\t{title}", markup=False)
        return
    with uow() as work:
        for code, version, year, title in work.criteria_sets.list():
            console.print(f"{code}\tv{version}\t{year}\t{title}", markup=False)


@framework_app.command("revise")
@handle_errors
def framework_revise(file: Path = typer.Argument(...),
                     period: Optional[int] = typer.Option(None, "--period"),
                     mapping: Optional[Path] = typer.Option(None, "--map"),
                     dry_run: bool = typer.Option(False, "--dry-run"),
                     show_all: bool = typer.Option(False, "--all")) -> None:
    from datetime import datetime, timezone

    from ..core.services import catalog, revision

    path = catalog.locate(str(file))
    reference = path.name if path.parent == catalog.shipped_sets_dir() else str(path.resolve())
    result = revision.revise(uow(), caller=admin(), criteria_set=catalog.load_file(path), reference=reference,
                             year=period, now=datetime.now(timezone.utc), dry_run=dry_run,
                             mapping=revision.load_mapping(mapping) if mapping else None)
    if not result.blocks:
        console.print(say("revise.noop", year=result.year, set=result.set_code, version=result.version),
                      markup=False)
        return
    for block in result.blocks:
        _print_revision(block, result.set_code, show_all)
    if result.self_assessment_closed:
        console.print(say("revise.closed_warning"), style="yellow", markup=False)
    if not result.applied:
        console.print(say("revise.dry_run"), style="bold", markup=False)
        return
    console.print(say("revise.applied", set=result.set_code, version=result.version, year=result.year,
                      blocks=", ".join(b.block for b in result.blocks),
                      notices=sum(u.notices for b in result.blocks for u in b.units)), markup=False)


def _print_revision(block, set_code: str, show_all: bool) -> None:  # noqa: ANN001 - a revision.BlockRevision
    from ..core.decimals import fmt
    from ..core.services.revision import KEPT

    table = Table(title=say("revise.table.title", set=set_code, block=block.block, old=block.old_version,
                            new=block.new_version))
    for key in ("kind", "old", "new", "name", "max", "what"):
        table.add_column(say(f"revise.col.{key}"), justify="right" if key == "max" else "left")
    kept = 0
    for change in block.changes:
        if change.kind == KEPT:
            kept += 1
            if not show_all:
                continue
        before = fmt(change.old.maximum) if change.old else ""
        after = fmt(sum((i.maximum for i in change.new), Decimal(0))) if change.new else ""
        table.add_row(say(f"revise.kind.{change.kind}"), change.old_code or "", ", ".join(change.new_codes),
                      (change.old or change.new[0]).name,
                      f"{before} → {after}" if before and after and before != after else before or after,
                      ", ".join(say(f"revise.diff.{d}") for d in change.differences))
    table.caption = say("revise.notice.kept", count=kept)
    console.print(table)
    units = Table(title=say("revise.units.title", block=block.block))
    for key in ("unit", "moved", "superseded", "reopened", "notices"):
        units.add_column(say(f"revise.col.{key}"), justify="right" if key == "notices" else "left")
    for unit in block.units:
        units.add_row(f"{unit.unit_code} {unit.unit_name}", ", ".join(unit.moved), ", ".join(unit.superseded),
                      say("revise.yes") if unit.reopened else "", str(unit.notices))
    console.print(units)


@units_app.command("import")
@handle_errors
def units_import(file: Path) -> None:
    from ..core.services import units
    from ..storage.files import read_table

    with Steps(say("cli.progress.read", file=file), say("cli.progress.save")) as steps:
        header, rows = read_table(file)
        steps.done()
        added, updated = units.import_units(uow(create=True), caller=admin(), header=header, rows=rows)
    console.print(say("cli.units.imported", added=added, updated=updated), markup=False)


@units_app.command("list")
@handle_errors
def units_list(block: Optional[str] = None, year: Optional[int] = None) -> None:
    with uow() as work:
        for unit in work.units.list(block=block, year=year):
            extra = "\t" + say("cli.units.parent", parent=unit.parent_code) if unit.parent_code else ""
            console.print(f"{unit.code}\t{unit.block}\t{unit.name}{extra}", markup=False)


@period_app.command("create")
@handle_errors
def period_create(file: Path) -> None:
    from ..core.services import periods

    period = periods.create_from_file(uow(create=True), caller=admin(), path=file)
    console.print(say("cli.period.saved", year=period.year, blocks=", ".join(period.blocks)), markup=False)


@period_app.command("show")
@handle_errors
def period_show(year: Optional[int] = typer.Option(None, "--year", "--period")) -> None:
    from ..core.decimals import fmt
    from ..core.services.periods import get_period
    from ..i18n import when

    with uow() as work:
        period = get_period(work, year)
    config = period.config
    console.print(say("cli.period.title", year=period.year), style="bold", markup=False)
    for block, criteria_set in period.criteria_sets.items():
        view = criteria_set.for_block(block)
        console.print(say("cli.period.block", block=block, set=criteria_set.code, version=criteria_set.spec.version,
                          items=len(view.assessed_items()), maximum=fmt(view.maximum)), markup=False)
    console.print(say("cli.period.deadlines"), markup=False)
    for name, value in config.deadlines.model_dump().items():
        if value is not None:
            console.print(say("cli.period.deadline", name=say(f"cli.period.deadline.{name}"), field=name,
                              at=when(value, settings().timezone)), markup=False)
    for block in period.blocks:
        bands = [say("cli.period.band", label=b.label, sign=">" if b.exclusive else "≥", min=fmt(b.min_index))
                 + (say("cli.period.band_areas", min=fmt(b.min_area_index)) if b.min_area_index is not None else "")
                 for b in config.bands_for(block)]
        console.print(say("cli.period.bands", block=block, bands=", ".join(bands) or say("cli.period.no_bands")),
                      markup=False)
    console.print(say("cli.period.rules", tie=say(f"cli.period.tie.{config.tie_rule}"),
                      approval=say(f"cli.period.approval.{config.leader_approval_required}")), markup=False)
    rule = config.ranking_rule()
    ranking = say("cli.period.unrounded") if rule.precision is None else say("cli.period.rounded",
                                                                              precision=rule.precision)
    breakers = [say("cli.period.breaker.total") if b == "total" else say("cli.period.breaker.area", area=b[5:])
                for b in rule.tie_breakers]
    console.print(say("cli.period.ranking", ranking=ranking) + "".join(say("cli.period.then", breaker=b)
                                                                       for b in breakers), markup=False)


@scores_app.command("import")
@handle_errors
def scores_import(file: Path, period: int = typer.Option(..., "--period"),
                  reason: Optional[str] = typer.Option(None)) -> None:
    from ..core.services import scores
    from ..storage.files import read_table

    with Steps(say("cli.progress.read", file=file), say("cli.progress.save")) as steps:
        header, rows = read_table(file)
        steps.done()
        count, changed = scores.import_scores(uow(), caller=admin(), year=period, header=header, rows=rows,
                                             reason=reason)
    console.print(say("cli.scores.imported", count=count, changed=changed), markup=False)


def _render(value: object) -> object:
    """ranking_table's values come rounded half-up as shown; format(.2f) would round half-even (97.685 → 97.68)."""
    return format(value, "f") if isinstance(value, Decimal) else value


def _index(value: Decimal) -> str:
    from ..core.decimals import round_half_up

    return format(round_half_up(value), "f")


@handle_errors
def results_command(period: Optional[int] = typer.Option(None, "--period"),
                    block: Optional[str] = typer.Option(None),
                    format: Format = typer.Option(Format.table, "--format"),  # noqa: A002 - the option's name
                    out: Optional[Path] = typer.Option(None, "--out"),
                    items: bool = typer.Option(False),
                    wide: bool = typer.Option(False, "--wide")) -> None:
    from ..core.services import results

    if format == Format.xlsx:
        from ..reports.xlsx import results_xlsx

        with Steps(say("cli.progress.results"), say("cli.progress.write", file=out or "…")) as steps:
            period_obj, blocks = results.period_results(uow(), year=period, block=block, with_items=True)
            steps.done()
            target = out or Path(f"parbot-results-{period_obj.year}.xlsx")
            results_xlsx(blocks, target)
        console.print(say("cli.results.wrote", file=target), markup=False)
        return
    period_obj, blocks = results.period_results(uow(), year=period, block=block, with_items=items)
    tables = [(b, *_table(period_obj, b)) for b in blocks]
    if format == Format.json:
        payload = {"year": period_obj.year, "blocks": [
            {"block": b.block, "name": b.block_name, "average_index": _index(b.average_index),
             "units": [dict(zip(header, [_render(v) for h, v in zip(header, r)]))
                       for r in rows]} for b, header, rows in tables]}
        text = json.dumps(payload, ensure_ascii=False, indent=2)
    elif format == Format.csv:
        _write_csv(tables, out)
        return
    else:
        if out is not None:
            err_console.print(say("cli.results.out_format"), markup=False)  # click would say "Invalid value"
            raise typer.Exit(2)
        _print_tables(period_obj, tables, wide)
        return
    if out is None:
        console.print(text, end="", markup=False)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(say("cli.results.wrote", file=out), markup=False)


NARROW = 100  # below this many columns the ranking is shown as a list of units, not a table
_TEXT_COLUMNS = ("unit_code", "unit", "class", "excluded")


def _label(column: str, short: bool) -> str:

    if column.startswith("area_"):
        return column.removeprefix("area_") if short else say("sheets.results.area", code=column[5:])
    return say(f"sheets.results.{'short' if short else 'col'}.{column}")


def _print_tables(period, tables, wide: bool) -> None:
    """The ranking as fits the terminal: every column with full names (--wide); from NARROW columns a table
    with short headers and wrapped names when it fits without cutting a number; else one unit per
    paragraph. Every view shows the CSV's very numbers; why a unit is left out reads in words (the CSV keeps
    its code for scripts)."""
    import shutil

    from rich import box
    from rich.text import Text


    width = shutil.get_terminal_size((console.width, 24)).columns  # COLUMNS first, like every terminal tool
    for b, header, rows in tables:
        title = say("sheets.results.title", block=b.block_name, year=period.year,
                  average=_index(b.average_index))
        cells = [[_cell(h, v) for h, v in zip(header, r)] for r in rows]
        areas = [a for a in period.criteria_for(b.block).areas if f"area_{a.code}" in header]
        legend = say("sheets.results.legend", areas="; ".join(f"{a.code} = {a.short or a.name}" for a in areas))
        table = Table(title=title, caption=None if wide else legend, box=box.HEAVY_HEAD if wide else box.SIMPLE_HEAD)
        for h in header:
            table.add_column(_label(h, not wide), justify="left" if h in _TEXT_COLUMNS else "right",
                             no_wrap=wide or h not in ("unit", "excluded"))
        for values in cells:
            table.add_row(*map(Text, values))  # names are shown as typed, never read as rich markup
        needed = console.measure(table, options=console.options.update_width(10_000))
        if wide:
            console.print(table, width=max(width, needed.maximum), soft_wrap=False)
        elif width >= NARROW and needed.minimum <= width:
            console.print(table, width=width, soft_wrap=False)
        else:
            console.print(Text(title, style="bold"), width=width, soft_wrap=False)
            for values in cells:
                record = dict(zip(header, values))
                console.print(Text(f"{record['rank'] or '–'}. {record['unit']} ({record['unit_code']})",
                                   style="bold"), width=width, soft_wrap=False)
                fields = [f"{_label(h, True)}: {v}" for h, v in record.items()
                          if h not in ("rank", "unit", "unit_code") and v != ""]
                for line in _pack(fields, width - 3):
                    console.print("   " + line, markup=False, width=width, soft_wrap=False)
            console.print(legend, width=width, markup=False, soft_wrap=False)


def _cell(column: str, value: object) -> str:
    if column == "excluded" and value:
        return say(f"report.label.excluded_{value}")
    return str(_render(value))


def _pack(fields: list[str], width: int) -> list[str]:
    """Fields joined by ' · ' into lines of at most ``width``, never splitting a "label: value" pair."""
    lines: list[str] = []
    for field in fields:
        if lines and len(lines[-1]) + 3 + len(field) <= width:
            lines[-1] += " · " + field
        else:
            lines.append(field)
    return lines


def _csv_text(block_result, header, rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["block", *header])
    writer.writerows([block_result.block, *[_render(v) for v in r]] for r in rows)
    return buffer.getvalue()


def _write_csv(tables, out: Optional[Path]) -> None:
    """One header per file: blocks have different areas, so each block gets its own file. A file starts
    with a UTF-8 BOM, without which Excel reads the Vietnamese names as Windows-1258."""

    if len(tables) > 1 and out is None:
        err_console.print(say("sheets.results.csv_needs_block", blocks=", ".join(b.block for b, *_ in tables)))
        raise typer.Exit(2)
    if out is None:
        typer.echo(_csv_text(*tables[0]), nl=False)  # not rich: it would wrap long rows
        return
    targets = [out] if len(tables) == 1 else [out.with_name(f"{out.stem}-{b.block}{out.suffix or '.csv'}")
                                               for b, *_ in tables]
    for target, table in zip(targets, tables):
        target.write_text(_csv_text(*table), encoding="utf-8-sig", newline="")
        console.print(say("sheets.results.wrote", path=target), markup=False)


def _table(period, block_result):
    from ..core.results import ranking_table

    return ranking_table(block_result, period.criteria_for(block_result.block))


@handle_errors
def audit_command(period: Optional[int] = typer.Option(None, "--period"),
                  unit: Optional[str] = typer.Option(None, "--unit"),
                  item: Optional[str] = typer.Option(None, "--item")) -> None:
    from ..core.services.periods import get_period

    with uow() as work:
        period_obj = get_period(work, period)
        entries = work.audit.query(period_obj.id, unit, item)
    tz = settings().timezone
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    for e in entries:
        when = e.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if e.at else "-"
        console.print(f"{when}\t{_audit_actor(e.actor)}\t{_audit_word('action', e.action)}\t{e.unit_code or '-'}\t"
                      f"{e.item_code or '-'}\t{_audit_source(e.source)}\t{_audit_value(e.old)} → {_audit_value(e.new)}\t"
                      f"{_audit_value(e.reason) if e.reason else ''}", markup=False)
    if not entries:
        console.print(say("cli.audit.none"), markup=False)


def _audit_word(kind: str, code: str) -> str:
    """An audit code (action, source) in words; a code without a message (a newer one) is shown as stored."""
    from ..i18n import has

    return say(f"cli.audit.{kind}.{code}") if has(f"cli.audit.{kind}.{code}") else code


def _audit_source(source: str | None) -> str:
    if not source:
        return "-"
    if source.startswith("snapshot:"):  # a publication: the block's results
        return say("cli.audit.source.snapshot", block=source.partition(":")[2])
    name, _, round_no = source.partition(":round")  # appraised:round2
    return _audit_word("source", name) + (f" ({say('cli.audit.round', round=round_no)})" if round_no else "")


def _audit_actor(actor: str) -> str:
    kind, _, value = actor.partition(":")
    return f"p{value}" if kind == "person" else actor  # p3, as `parbot members list` names people


# The words the services store in an audit row's old, new and reason (core/services: assessment, appraisal,
# revision), and the catalog key saying the same; anything else (points, names, references) is shown as stored.
# Rows keep these codes rather than sentences, so rows written in any release read in the reader's language.
_SET = r"(?P<set>[A-Za-z0-9][A-Za-z0-9._-]{0,23})"  # a criteria set's code (core.criteria.Code)
_REVISION = _SET + r" v(?P<old>\d+) → v(?P<new>\d+)"  # core.services.revision's label of one revision
_KINDS = "kept|renamed|changed|replaced|removed|added"  # core.services.revision's kinds of change
AUDIT_TEXTS = [(re.compile(r"^(?P<word>na|closed|open|submitted|forced)$"), "cli.audit.value.{word}"),
               (re.compile(r"^reference (?P<text>.+)$", re.DOTALL), "cli.audit.value.reference"),
               (re.compile(r"^file (?P<hash>[0-9a-f]+)$"), "cli.audit.value.file"),
               (re.compile(r"^evidence (?P<id>\d+) of (?P<item>\S+)$"), "cli.audit.value.evidence_moved"),
               (re.compile(r"^(?P<what>answer|explanation) (?P<item>\S+) changed$"), "cli.audit.value.{what}_changed"),
               (re.compile(f"^{_SET} v(?P<version>\\d+)$"), "cli.audit.value.set_version"),
               (re.compile(f"^{_REVISION}$"), "revise.label"),
               (re.compile(f"^{_REVISION}: (?P<kind>changed|replaced|removed)$"), "cli.audit.value.revision_{kind}"),
               (re.compile(f"^{_REVISION}: (?P<items>\\S+(?:, \\S+)*)$"), "cli.audit.value.revision_reopen")]
_COUNTS = re.compile(f"^(?:(?:{_KINDS}) \\d+(?:, |$))+$")  # a revision's summary: "kept 32, changed 1"


def _audit_value(value: str | None) -> str:
    if value is None:
        return "∅"
    if _COUNTS.match(value):
        return ", ".join(say(f"cli.audit.value.count_{kind}", count=count)
                         for kind, count in (part.split(" ") for part in value.split(", ")))
    for pattern, key in AUDIT_TEXTS:
        match = pattern.match(value)
        if match:
            return say(key.format(**match.groupdict()), **match.groupdict())
    return value


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(framework_app, name="framework")
    app.add_typer(units_app, name="units")
    app.add_typer(period_app, name="period")
    app.add_typer(scores_app, name="scores")
    app.command("results")(results_command)
    app.command("audit")(audit_command)
