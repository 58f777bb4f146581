"""`parbot reminders preview` and `parbot outbox status|retry`."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Optional
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from .localized import App
from .common import console, err_console, handle_errors, say, settings, uow

reminders_app = App(no_args_is_help=True)
outbox_app = App(no_args_is_help=True)


def _moment(text: str | None, tz: ZoneInfo) -> datetime:
    if text is None:
        return datetime.now(timezone.utc)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(say("cli.reminders.bad_moment", text=text), param_hint="'--at'") from None
    return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(timezone.utc)


@reminders_app.command("preview")
@handle_errors
def preview(period: Optional[int] = typer.Option(None, "--period", "--year"),
            at: Optional[str] = typer.Option(None, "--at"),
            days: int = typer.Option(14, "--days", min=0)) -> None:
    from ..core.services.notifications import preview_notifications

    config = settings()
    tz = ZoneInfo(config.timezone)
    moment = _moment(at, tz)
    work = uow()
    lines = preview_notifications(work, at=moment, year=period, horizon=timedelta(days=days), tz=config.timezone,
                                  grace=timedelta(hours=config.reminder_grace_hours))
    with work:
        people = {p.id: p for p in work.people.list()}
    superseded = sum(line.reason == "superseded" for line in lines)
    lines = [line for line in lines if line.reason != "superseded"]
    if superseded:
        console.print(say("cli.reminders.superseded", count=superseded), markup=False)
    if not lines:
        console.print(say("cli.reminders.nothing_due", at=f"{moment.astimezone(tz):%H:%M %d/%m/%Y}", days=days),
                      markup=False)
        if not people:  # reminders go to people bound to the bot: none yet is the usual first-day reason
            console.print(say("cli.reminders.nobody_joined"), markup=False)
    for line in lines:
        n = line.notification
        person = people.get(n.person_id)
        who = f"{person.name or person.telegram_id} (p{n.person_id})" if person else f"p{n.person_id}"
        what = f"{_kind(n.kind)}: {say('cli.reminders.stage.' + n.payload['stage'])}" \
            + (f" {n.payload['unit']}" if "unit" in n.payload else "")
        action = say(f"cli.reminders.action.{line.action}") \
            + (f" ({say('cli.reminders.reason.' + line.reason)})" if line.reason else "")
        console.print(f"{line.at.astimezone(tz):%Y-%m-%d %H:%M}\t{action}\t{what}\t{who}", markup=False)


@outbox_app.command("status")
@handle_errors
def status(show: int = typer.Option(10, "--show", min=0)) -> None:
    from ..storage.outbox_sender_repo import STATUSES

    tz = ZoneInfo(settings().timezone)
    with uow() as work:
        rows = work.outbox_rows
        counts = rows.counts()
        next_due = rows.next_due()
        problems = [item for status in ("failed", "unreachable", "uncertain") for item in rows.by_status(status, show)]
    kinds = sorted({kind for _status, kind in counts})
    # A table: the Vietnamese status names take several words, which tab-separated columns would misalign.
    table = Table(say("cli.outbox.kind"), *(say(f"outbox.status.{s}") for s in STATUSES))
    for kind in kinds:
        table.add_row(_kind(kind), *(str(counts.get((s, kind), 0)) for s in STATUSES))
    table.add_row(say("cli.outbox.total"), *(str(sum(n for (s, _k), n in counts.items() if s == st)) for st in STATUSES))
    console.print(table)
    if next_due is not None:
        console.print(say("cli.outbox.next_due", at=f"{next_due.astimezone(tz):%H:%M:%S %d/%m/%Y}"), markup=False)
    for item in problems:
        console.print(say("cli.outbox.problem", id=item.id, status=say(f"outbox.status.{item.status}"),
                          kind=_kind(item.kind), chat=item.chat_id, attempts=item.attempts,
                          error=outbox_error(item.error) if item.error else ""), markup=False)


# What bot.sender stores in a row's error: its own sentences, the prefixes it adds, and the platforms' usual
# refusals (Telegram's and Zalo's English), each with the catalog key saying the same.
OUTBOX_ERRORS = [(re.compile(r"^delivery unknown: (?P<detail>.+)$", re.DOTALL), "cli.outbox.error.unknown"),
                 (re.compile(r"^part (?P<part>\d+/\d+): (?P<detail>.+)$", re.DOTALL), "cli.outbox.error.part"),
                 (re.compile(r"^render: (?P<detail>.+)$", re.DOTALL), "cli.outbox.error.render"),
                 (re.compile(r"^no renderer for kind (?P<kind>\S+)$"), "cli.outbox.error.no_renderer"),
                 (re.compile(r"^recipient unreachable$"), "cli.outbox.error.unreachable"),  # storage's
                 (re.compile(r"bot was blocked by the user"), "cli.outbox.error.blocked"),
                 (re.compile(r"user is deactivated"), "cli.outbox.error.deactivated"),
                 (re.compile(r"[Cc]hat not found"), "cli.outbox.error.chat_not_found"),
                 (re.compile(r"^(TimedOut|ReadTimeout|TimeoutError)\b"), "cli.outbox.error.timeout")]


def outbox_error(text: str) -> str:
    """A row's error in words; a platform's text not known here is quoted as the platform's."""
    for pattern, key in OUTBOX_ERRORS:
        found = pattern.search(text)
        if found:
            params = found.groupdict()
            if "detail" in params and key != "cli.outbox.error.render":  # the rest is a stored error too
                params["detail"] = outbox_error(params["detail"])
            return say(key, **params)
    return say("cli.outbox.error.platform", detail=text)


def _kind(kind: str) -> str:
    """A message kind's name; a kind added later without a catalog name shows its code."""
    from ..i18n import has

    return say(f"outbox.kind.{kind}") if has(f"outbox.kind.{kind}") else kind


@outbox_app.command("retry")
@handle_errors
def retry(item_id: Optional[int] = typer.Option(None, "--id"),
          all_failed: bool = typer.Option(False, "--all-failed")) -> None:
    if (item_id is None) == (not all_failed):
        err_console.print(say("cli.outbox.one_of"), markup=False)
        raise typer.Exit(2)
    with uow() as work:
        rows = work.outbox_rows
        if item_id is not None and rows.get(item_id) is None:
            err_console.print(say("cli.outbox.no_row", id=item_id), markup=False)
            raise typer.Exit(1)
        ids = [item_id] if item_id is not None else rows.failed_ids()
        count = rows.retry(ids, datetime.now(timezone.utc))
        work.commit()
    console.print(say("cli.outbox.requeued", count=count), markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(reminders_app, name="reminders")
    app.add_typer(outbox_app, name="outbox")
