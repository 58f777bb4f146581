"""`parbot reminders preview` and `parbot outbox status|retry`."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional
from zoneinfo import ZoneInfo

import typer

from ..core.services.notifications import preview_notifications
from ..storage.outbox_sender_repo import STATUSES
from .common import console, err_console, handle_errors, settings, uow

reminders_app = typer.Typer(help="Deadline reminders and digests.", no_args_is_help=True)
outbox_app = typer.Typer(help="Outgoing messages (the outbox).", no_args_is_help=True)


def _moment(text: str | None, tz: ZoneInfo) -> datetime:
    if text is None:
        return datetime.now(timezone.utc)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not a date and time: {text!r} (e.g. 2025-12-24T08:00)") from None
    return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(timezone.utc)


@reminders_app.command("preview")
@handle_errors
def preview(period: Optional[int] = typer.Option(None, "--period", "--year", help="Year (default: the latest)."),
            at: Optional[str] = typer.Option(None, "--at", help="As if a sweep ran then (local time if no zone)."),
            days: int = typer.Option(14, "--days", min=0, help="Also list what falls due in these days after.")) -> None:
    """What would be sent to whom and when: due at --at (send or skip, with the reason), then upcoming."""
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
        console.print(f"{superseded} earlier reminder(s) would be recorded as skipped (superseded by a later one).")
    if not lines:
        console.print(f"Nothing due at {moment.astimezone(tz):%Y-%m-%d %H:%M} or in the {days} days after.")
    for line in lines:
        n = line.notification
        person = people.get(n.person_id)
        who = f"{person.name or person.telegram_id} (p{n.person_id})" if person else f"p{n.person_id}"
        what = n.kind if n.kind == "digest" else f"{n.kind} {n.payload['stage']} {n.payload['unit']}"
        action = line.action + (f" ({line.reason})" if line.reason else "")
        console.print(f"{line.at.astimezone(tz):%Y-%m-%d %H:%M}\t{action}\t{what}\t{who}", markup=False)


@outbox_app.command("status")
@handle_errors
def status(show: int = typer.Option(10, "--show", min=0, help="Failed, unreachable and uncertain rows to list.")) -> None:
    """Counts by status and kind, the next due row, and the latest failures with their reasons."""
    tz = ZoneInfo(settings().timezone)
    with uow() as work:
        rows = work.outbox_rows
        counts = rows.counts()
        next_due = rows.next_due()
        problems = [item for status in ("failed", "unreachable", "uncertain") for item in rows.by_status(status, show)]
    kinds = sorted({kind for _status, kind in counts})
    console.print("kind\t" + "\t".join(STATUSES))
    for kind in kinds:
        console.print(kind + "\t" + "\t".join(str(counts.get((s, kind), 0)) for s in STATUSES), markup=False)
    console.print("total\t" + "\t".join(str(sum(n for (s, _k), n in counts.items() if s == st)) for st in STATUSES))
    if next_due is not None:
        console.print(f"next pending row due {next_due.astimezone(tz):%Y-%m-%d %H:%M:%S}")
    for item in problems:
        console.print(f"#{item.id}\t{item.status}\t{item.kind}\tchat {item.chat_id}\tattempts {item.attempts}\t"
                      f"{item.error or ''}", markup=False)


@outbox_app.command("retry")
@handle_errors
def retry(item_id: Optional[int] = typer.Option(None, "--id", help="One failed, unreachable or uncertain row."),
          all_failed: bool = typer.Option(False, "--all-failed", help="Every failed row.")) -> None:
    """Queue failed rows again (attempts from zero). An unreachable or uncertain row (perhaps delivered) is
    retried only by --id."""
    if (item_id is None) == (not all_failed):
        err_console.print("Give exactly one of --id N and --all-failed.")
        raise typer.Exit(2)
    with uow() as work:
        rows = work.outbox_rows
        if item_id is not None and rows.get(item_id) is None:
            err_console.print(f"No outbox row #{item_id}.")
            raise typer.Exit(1)
        ids = [item_id] if item_id is not None else rows.failed_ids()
        count = rows.retry(ids, datetime.now(timezone.utc))
        work.commit()
    console.print(f"{count} row(s) queued again.")


def register(app: typer.Typer) -> None:
    app.add_typer(reminders_app, name="reminders")
    app.add_typer(outbox_app, name="outbox")
