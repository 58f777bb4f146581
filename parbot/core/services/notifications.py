"""The reminder sweep: derive what fell due from the database and queue it in the outbox; and what follows
when a recipient cannot be reached.

Nothing is scheduled ahead: every sweep asks the policy again (deadlines may have moved, units may have
submitted), and the outbox's unique keys make repeating a sweep harmless.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..model import Period, UnitStage
from . import channels
from .periods import get_period
from ..permissions import Role
from ..ports import UnitOfWork
from ..reminders import (STAGE_WINDOWS, Audience, Decision, Notification, Recipient, digest_schedule,
                         due_notifications, owes, stage_schedule, triage)

DEFAULT_TZ = "Asia/Ho_Chi_Minh"
DEFAULT_GRACE = timedelta(hours=12)
UNREACHABLE = "unreachable"  # the admins' notice about a recipient who blocked the bot


@dataclass
class SweepReport:
    queued: int = 0
    skipped: int = 0
    already: int = 0
    decisions: list[Decision] = field(default_factory=list)


def audience(uow: UnitOfWork) -> Audience:
    """Reachable people by role (two queries): those no channel reaches get nothing."""
    found = Audience()
    reaches = channels.reachable(uow)
    for person, grant in uow.roles.all():
        if not reaches(person):
            continue
        r = Recipient(person.id, person.chat_id)
        if grant.role is Role.OFFICER and grant.unit_code:
            found.officers.setdefault(grant.unit_code, []).append(r)
        elif grant.role is Role.UNIT_LEADER and grant.unit_code:
            found.leaders.setdefault(grant.unit_code, []).append(r)
        elif grant.role is Role.ADMIN:
            found.admins.append(r)
        elif grant.role is Role.PROVINCE_LEADER:
            found.province_leaders.append(r)
    return found


def owing_units(uow: UnitOfWork, period: Period) -> dict[str, list[str]]:
    stages = uow.stages.for_period(period.id)
    units = [u for block in period.blocks for u in uow.units.list(block=block, year=period.year)]

    return {stage: [u.code for u in units if owes(stage, stages.get(u.code, UnitStage(unit_code=u.code)))]
            for stage in STAGE_WINDOWS}


def _last_due(period: Period, tz: ZoneInfo) -> datetime | None:
    instants = [o.due_at for stage in STAGE_WINDOWS for o in stage_schedule(period.config, stage, tz)]
    instants += [due for _day, due, _stage in digest_schedule(period.config, tz)]
    return max(instants, default=None)


def active_periods(uow: UnitOfWork, now: datetime, tz: ZoneInfo, grace: timedelta) -> list[Period]:
    """Periods that have opened and whose last reminder or digest is not yet beyond the grace."""
    out = []
    for year in uow.periods.years():
        period = uow.periods.get(year)
        last = _last_due(period, tz)
        if period.config.deadlines.self_assessment_opens <= now and last is not None and now - last <= grace:
            out.append(period)
    return out


def plan(uow: UnitOfWork, period: Period, tz: ZoneInfo, until: datetime, *,
         since: datetime | None = None) -> list[Notification]:
    return due_notifications(period.config, tz, owing_units(uow, period), audience(uow), until=until, since=since)


def queue_due_notifications(uow: UnitOfWork, now: datetime, *, tz: str = DEFAULT_TZ,
                            grace: timedelta = DEFAULT_GRACE) -> SweepReport:
    """Queue every reminder and digest that fell due and was not queued yet; those not worth sending any
    more (stale beyond the grace, superseded by a later one) are recorded as skipped, so never sent later."""
    zone = ZoneInfo(tz)
    report = SweepReport()
    with uow:
        for period in active_periods(uow, now, zone, grace):
            decisions = triage(plan(uow, period, zone, now), now, grace, period.config.reminders, zone)
            existing = uow.outbox_rows.existing_keys(f"{period.year}/")
            for decision in decisions:
                n = decision.notification
                if n.key in existing:
                    report.already += 1
                    continue
                if not uow.outbox.enqueue(n.key, n.person_id, n.chat_id, n.kind, n.payload,
                                          not_before=decision.not_before or n.due_at):
                    report.already += 1
                    continue
                if decision.send:
                    report.queued += 1
                else:
                    uow.outbox_rows.mark_skipped(n.key, decision.reason)
                    report.skipped += 1
                report.decisions.append(decision)
        uow.commit()
    return report


def recipient_unreachable(uow: UnitOfWork, *, channel: str, chat: str, person_id: int | None, outbox_id: int,
                          error: str | None, at: datetime) -> None:
    """A channel refused a message for good (Telegram's 403: the user blocked the bot or left): stop writing to
    that account on this channel and tell the admins, in the transaction that records the refusal. The person's
    other channels are untouched. ``chat`` is the refused chat (Telegram's chat id as text)."""
    reason = error or "forbidden"
    rows = uow.outbox_rows
    if channel == "telegram":
        if person_id is None:
            return
        uow.people.mark_unreachable(person_id, reason)
        rows.close_account(channel, chat, reason)
        rows.cancel_for_person(person_id, "recipient unreachable", channel)
    else:
        rows.close_account(channel, chat, reason)
        rows.cancel_for_chat(channel, chat, "recipient unreachable")
    if person_id is None:
        return
    for admin in uow.roles.holders(Role.ADMIN.value):
        if admin.id != person_id and admin.chat_id is not None and admin.unreachable_at is None:
            uow.outbox.enqueue(f"unreachable/p{person_id}/o{outbox_id}/a{admin.id}", admin.id, admin.chat_id,
                               UNREACHABLE, {"person_id": person_id, "reason": error, "channel": channel},
                               not_before=at)


@dataclass(frozen=True)
class PreviewLine:
    at: datetime
    notification: Notification
    action: str  # send | skip | upcoming
    reason: str | None = None


def preview_notifications(uow: UnitOfWork, *, at: datetime, year: int | None = None, horizon: timedelta = timedelta(days=14),
                          tz: str = DEFAULT_TZ, grace: timedelta = DEFAULT_GRACE) -> list[PreviewLine]:
    """What a sweep at ``at`` would queue (not yet in the outbox), then what falls due within the horizon
    after it if nobody submits meanwhile; by time."""
    zone = ZoneInfo(tz)
    with uow:
        period = get_period(uow, year)
        existing = uow.outbox_rows.existing_keys(f"{period.year}/")
        lines = [PreviewLine(d.not_before or d.notification.due_at, d.notification, "send" if d.send else "skip",
                             d.reason)
                 for d in triage(plan(uow, period, zone, at), at, grace, period.config.reminders, zone)
                 if d.notification.key not in existing]
        lines += [PreviewLine(n.due_at, n, "upcoming") for n in plan(uow, period, zone, at + horizon, since=at)]
    return sorted(lines, key=lambda line: (line.at, line.notification.key))
