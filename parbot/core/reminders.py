"""The reminder policy: which reminders and digests fall due when, for whom, and which are still worth sending.

Pure: it sees the period's configuration, who still owes each stage's work, who holds which role, and the
clock. Nothing is remembered between sweeps — every due notification is derived again and carries a unique
key (period/stage/unit/recipient/kind/local date), so the outbox, not this module, knows what was queued.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Iterable

from . import appraisal_state
from .model import Unit, UnitStage
from .period import PeriodConfig, ReminderPolicy
from .permissions import Grant, Role

# stage -> (the Deadlines field that opens it, the one that closes it)
STAGE_WINDOWS = {
    "self_assessment": ("self_assessment_opens", "self_assessment_closes"),
    "explanation": ("appraisal_round1_closes", "explanation_closes"),
}
REMINDER = "reminder"
ESCALATION = "reminder_escalation"
DIGEST = "digest"


# kind -> (the roles that make a person its addressee, whether held for the payload's unit): a message queued
# before its recipient lost that role is dropped at send time. Kinds not listed go to whoever they were queued for.
ADDRESSEES: dict[str, tuple[frozenset[Role], bool]] = {
    REMINDER: (frozenset({Role.OFFICER}), True),
    ESCALATION: (frozenset({Role.UNIT_LEADER}), True),
    DIGEST: (frozenset({Role.ADMIN, Role.PROVINCE_LEADER}), False),
    "appraisal_round1": (frozenset({Role.OFFICER, Role.UNIT_LEADER}), True),  # appraisal.close_round's notice
}


def addressed(kind: str, payload: dict, grants: Iterable[Grant]) -> bool:
    """Whether the grants a person holds now still justify a message of ``kind`` about ``payload``."""
    if kind not in ADDRESSEES:
        return True
    roles, per_unit = ADDRESSEES[kind]
    return any(g.role in roles and (not per_unit or g.unit_code == payload.get("unit")) for g in grants)


def expected(stage: str, unit_stage: UnitStage) -> bool:
    """Every unit self-assesses; the explanation round concerns units whose first appraisal round closed
    until the second one closes."""
    if stage == "self_assessment":
        return True
    return appraisal_state.of(unit_stage).in_explanation_round


def submitted_at(stage: str, unit_stage: UnitStage) -> datetime | None:
    """When the unit delivered the stage: its submission, or its first explanation (contest) of an item."""
    if stage == "self_assessment":
        return unit_stage.submitted_at
    return min((c.at for c in appraisal_state.of(unit_stage).contests), default=None)


def owes(stage: str, unit_stage: UnitStage) -> bool:
    """Whether the unit still owes the stage's work (only those get reminders)."""
    return expected(stage, unit_stage) and submitted_at(stage, unit_stage) is None


def window(config: PeriodConfig, stage: str) -> tuple[datetime | None, datetime | None]:
    opens, closes = STAGE_WINDOWS[stage]
    return getattr(config.deadlines, opens), getattr(config.deadlines, closes)


# ---- local time ---------------------------------------------------------------------------------------


def at_local(day: date, moment: time, tz: tzinfo) -> datetime:
    """The UTC instant of a local wall-clock time (Vietnam has no DST, but other zones stay correct)."""
    return datetime.combine(day, moment, tzinfo=tz).astimezone(timezone.utc)


def in_quiet_hours(instant: datetime, policy: ReminderPolicy, tz: tzinfo) -> bool:
    clock = instant.astimezone(tz).time()
    start, end = policy.quiet_start, policy.quiet_end
    if start == end:
        return False
    return start <= clock < end if start < end else (clock >= start or clock < end)


def out_of_quiet_hours(instant: datetime, policy: ReminderPolicy, tz: tzinfo) -> datetime:
    """The instant itself, or the end of the quiet hours it falls in."""
    if not in_quiet_hours(instant, policy, tz):
        return instant
    local = instant.astimezone(tz)
    end_today = at_local(local.date(), policy.quiet_end, tz)
    return end_today if end_today > instant else at_local(local.date() + timedelta(days=1), policy.quiet_end, tz)


def _weekend(day: date) -> bool:
    return day.weekday() >= 5


# ---- the schedule -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    stage: str
    overdue: bool
    number: int  # 1-based among the stage's reminders: escalation counts the ignored ones before it
    day: date  # local date, part of the key
    due_at: datetime  # UTC
    deadline: datetime


def stage_schedule(config: PeriodConfig, stage: str, tz: tzinfo) -> list[Occurrence]:
    """Every reminder instant of a stage: the days before the deadline, then daily overdue ones up to the cap.

    A day before that falls on a weekend moves to the Friday before when weekends are skipped; overdue
    reminders then go on working days only. Send times inside quiet hours move to their end."""
    policy = config.reminders.for_stage(stage)
    opens, closes = window(config, stage)
    if not policy.enabled or closes is None:
        return []
    deadline_day = closes.astimezone(tz).date()
    before: dict[date, datetime] = {}
    for n in sorted(set(policy.days_before), reverse=True):
        day = deadline_day - timedelta(days=n)
        while policy.skip_weekends and _weekend(day):
            day -= timedelta(days=1)
        due = out_of_quiet_hours(at_local(day, policy.send_at, tz), policy, tz)
        if due < closes and (opens is None or due >= opens):
            before.setdefault(day, due)
    overdue: dict[date, datetime] = {}
    day = deadline_day
    while len(overdue) < policy.overdue_daily_max:
        day += timedelta(days=1)
        if not (policy.skip_weekends and _weekend(day)):
            overdue[day] = out_of_quiet_hours(at_local(day, policy.send_at, tz), policy, tz)
    slots = [(d, due, False) for d, due in sorted(before.items())] + [(d, due, True) for d, due in overdue.items()]
    return [Occurrence(stage, late, number, d, due, closes) for number, (d, due, late) in enumerate(slots, 1)]


def digest_schedule(config: PeriodConfig, tz: tzinfo) -> list[tuple[date, datetime, str]]:
    """(local date, instant, stage) of each daily digest: every day some stage is open, up to the end of its
    overdue reminders; a day reports the earliest such stage."""
    policy = config.reminders
    if not (policy.enabled and policy.digest):
        return []
    spans = []
    for stage in STAGE_WINDOWS:
        opens, closes = window(config, stage)
        stage_policy = policy.for_stage(stage)
        if closes is not None and stage_policy.enabled:
            last = closes.astimezone(tz).date() + timedelta(days=stage_policy.overdue_daily_max)
            spans.append((stage, opens, last))
    if not spans:
        return []
    first = config.deadlines.self_assessment_opens.astimezone(tz).date()
    out = []
    day = first
    while day <= spans[-1][2]:
        due = at_local(day, policy.digest_at, tz)
        stage = next((s for s, opens, last in spans
                      if (opens is None or opens.astimezone(tz).date() <= day) and day <= last), None)
        if stage and not (policy.skip_weekends and _weekend(day)) and due >= config.deadlines.self_assessment_opens:
            out.append((day, due, stage))
        day += timedelta(days=1)
    return out


# ---- who gets what ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    person_id: int
    chat_id: int | None  # None: reached on another channel only (joined on Zalo)


@dataclass(frozen=True)
class Notification:
    key: str
    stream: str  # notifications of one stream supersede each other: only the latest is worth sending
    person_id: int
    chat_id: int | None
    kind: str
    payload: dict
    due_at: datetime
    deadline: datetime | None = None


@dataclass(frozen=True)
class Audience:
    """Who stands where: the sweep builds it from the role table."""

    officers: dict[str, list[Recipient]] = field(default_factory=dict)  # unit -> officers
    leaders: dict[str, list[Recipient]] = field(default_factory=dict)  # unit -> unit leaders
    admins: list[Recipient] = field(default_factory=list)
    province_leaders: list[Recipient] = field(default_factory=list)


def due_notifications(config: PeriodConfig, tz: tzinfo, owing: dict[str, Iterable[str]], audience: Audience,
                      until: datetime, since: datetime | None = None) -> list[Notification]:
    """Reminders, escalations and digests with ``since < due_at <= until`` (all so far when ``since`` is None).

    ``owing`` maps each stage to the units that still owe its work *now*: a unit that has submitted gets
    nothing more, whatever was due earlier."""
    year = config.year
    out: list[Notification] = []

    def wanted(due: datetime) -> bool:
        return due <= until and (since is None or due > since)

    for stage, units in owing.items():
        schedule = [o for o in stage_schedule(config, stage, tz) if wanted(o.due_at)]
        if not schedule:
            continue
        escalate_after = config.reminders.for_stage(stage).escalate_after
        for unit in units:
            for o in schedule:
                payload = {"year": year, "stage": stage, "unit": unit, "deadline": o.deadline.isoformat(),
                           "number": o.number, "overdue": o.overdue, "due_at": o.due_at.isoformat()}
                targets = [(REMINDER, r) for r in audience.officers.get(unit, [])]
                if o.number > escalate_after:
                    targets += [(ESCALATION, r) for r in audience.leaders.get(unit, [])]
                for kind, r in targets:
                    out.append(Notification(
                        key=f"{year}/{stage}/{unit}/p{r.person_id}/{kind}/{o.day.isoformat()}",
                        stream=f"{year}/{stage}/{unit}/p{r.person_id}/{kind}", person_id=r.person_id,
                        chat_id=r.chat_id, kind=kind, payload=payload, due_at=o.due_at, deadline=o.deadline))
    readers = audience.admins + (audience.province_leaders if config.reminders.digest_to_leaders else [])
    readers = list({r.person_id: r for r in readers}.values())
    for day, due, stage in digest_schedule(config, tz):
        if not wanted(due):
            continue
        for r in readers:
            out.append(Notification(
                key=f"{year}/digest/p{r.person_id}/{day.isoformat()}", stream=f"{year}/digest/p{r.person_id}",
                person_id=r.person_id, chat_id=r.chat_id, kind=DIGEST,
                payload={"year": year, "stage": stage, "day": day.isoformat()}, due_at=due))
    return out


@dataclass(frozen=True)
class Decision:
    notification: Notification
    send: bool
    not_before: datetime | None = None  # when sending
    reason: str | None = None  # when skipping: superseded | stale | deadline_passed


def triage(notifications: Iterable[Notification], now: datetime, grace: timedelta, policy: ReminderPolicy,
           tz: tzinfo) -> list[Decision]:
    """Which due notifications to send. After downtime only the latest of each stream is sent, and only
    within the grace (a missed "3 days left" is not sent once "1 day left" is due); the rest are skipped,
    so a restart never floods anyone. A late send waits for the end of the quiet hours."""
    streams: dict[str, list[Notification]] = defaultdict(list)
    for n in notifications:
        streams[n.stream].append(n)
    decisions = []
    for items in streams.values():
        items.sort(key=lambda n: n.due_at)
        *older, latest = items
        decisions += [Decision(n, False, reason="superseded") for n in older]
        if now - latest.due_at > grace:
            decisions.append(Decision(latest, False, reason="stale"))
        elif latest.kind != DIGEST and not latest.payload["overdue"] and latest.deadline and now >= latest.deadline:
            decisions.append(Decision(latest, False, reason="deadline_passed"))
        else:
            decisions.append(Decision(latest, True, not_before=max(latest.due_at,
                                                                   out_of_quiet_hours(now, policy, tz))))
    return decisions


# ---- what a digest says -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockCount:
    block: str
    expected: int
    submitted: int
    on_time: int


def digest_counts(stage: str, deadline: datetime | None, units: Iterable[Unit],
                  stages: dict[str, UnitStage], now: datetime) -> tuple[list[BlockCount], list[Unit]]:
    """Per block: units expected to deliver the stage, those that did, those on time; and the overdue units
    (past the deadline and still owing), by block then code."""
    counts: dict[str, list[int]] = {}
    overdue = []
    for unit in sorted(units, key=lambda u: (u.block, u.code)):
        state = stages.get(unit.code, UnitStage(unit_code=unit.code))
        if not expected(stage, state):
            continue
        row = counts.setdefault(unit.block, [0, 0, 0])
        row[0] += 1
        done = submitted_at(stage, state)
        if done is not None and not owes(stage, state):
            row[1] += 1
            row[2] += deadline is None or done <= deadline
        elif deadline is not None and now > deadline:
            overdue.append(unit)
    return [BlockCount(b, *c) for b, c in counts.items()], overdue


def time_left(deadline: datetime, now: datetime) -> tuple[int, int]:
    """(days, hours) until the deadline, both negative once it has passed (whole hours, toward zero)."""
    seconds = (deadline - now).total_seconds()
    hours = int(abs(seconds) // 3600)
    sign = 1 if seconds >= 0 else -1
    return sign * (hours // 24), sign * (hours % 24)
