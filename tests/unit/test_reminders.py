"""The reminder policy across a whole period, with time travel: Vietnam time (no DST), month ends, weekends,
quiet hours, a deadline moved mid-period, downtime, and a unit submitting between the sweep and the send."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine


from callers import ADMIN  # noqa: E402
from reminder_fixtures import CLOSES, VN, make_province, period_config, submit  # noqa: E402

from parbot.core import reminders  # noqa: E402
from parbot.core.model import Unit, UnitStage  # noqa: E402
from parbot.core.services.notifications import queue_due_notifications  # noqa: E402

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def local(o: reminders.Occurrence) -> datetime:
    return o.due_at.astimezone(HCM)


def test_default_schedule_is_7_3_1_days_before_and_the_morning_then_three_overdue_days():
    schedule = reminders.stage_schedule(period_config(), "self_assessment", HCM)
    assert [(local(o).date().isoformat(), local(o).time(), o.overdue, o.number) for o in schedule] == [
        ("2025-12-24", time(8), False, 1), ("2025-12-28", time(8), False, 2), ("2025-12-30", time(8), False, 3),
        ("2025-12-31", time(8), False, 4), ("2026-01-01", time(8), True, 5), ("2026-01-02", time(8), True, 6),
        ("2026-01-03", time(8), True, 7)]
    # 08:00 in Vietnam is 01:00 UTC on every day of the year: no daylight saving moves it
    for closes in (datetime(2025, 3, 31, 17, tzinfo=VN), datetime(2025, 10, 27, 17, tzinfo=VN)):
        for o in reminders.stage_schedule(period_config(closes), "self_assessment", HCM):
            assert (o.due_at.hour, o.due_at.minute) == (1, 0)


def test_month_ends_and_leap_day():
    config = period_config(datetime(2024, 3, 1, 17, tzinfo=VN))
    days = [local(o).date() for o in reminders.stage_schedule(config, "self_assessment", HCM)]
    assert days == [date(2024, 2, 23), date(2024, 2, 27), date(2024, 2, 29), date(2024, 3, 1),
                    date(2024, 3, 2), date(2024, 3, 3), date(2024, 3, 4)]


def test_a_deadline_before_the_send_time_drops_the_morning_of_reminder():
    early = datetime(2025, 12, 31, 7, 30, tzinfo=VN)
    schedule = reminders.stage_schedule(period_config(early), "self_assessment", HCM)
    before = [local(o).date() for o in schedule if not o.overdue]
    assert before == [date(2025, 12, 24), date(2025, 12, 28), date(2025, 12, 30)]


def test_weekends_skipped_move_reminders_to_friday_and_overdue_to_working_days():
    # Wednesday 31 Dec 2025: 7 days before is Wednesday 24, 3 days before is Sunday 28 -> Friday 26
    schedule = reminders.stage_schedule(period_config(skip_weekends=True), "self_assessment", HCM)
    assert [local(o).date() for o in schedule] == [
        date(2025, 12, 24), date(2025, 12, 26), date(2025, 12, 30), date(2025, 12, 31),
        date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 5)]  # Sat 3 and Sun 4 January skipped


def test_send_time_inside_quiet_hours_moves_to_their_end():
    schedule = reminders.stage_schedule(period_config(send_at="22:30"), "self_assessment", HCM)
    assert {local(o).time() for o in schedule} == {time(7, 0)}
    assert local(schedule[0]).date() == date(2025, 12, 25)  # 22:30 on the 24th -> 07:00 on the 25th


def test_per_stage_override_and_disabled_stage():
    config = period_config(stages={"self_assessment": {"days_before": [2], "overdue_daily_max": 0}})
    assert [local(o).date() for o in reminders.stage_schedule(config, "self_assessment", HCM)] == [date(2025, 12, 29)]
    off = period_config(stages={"self_assessment": {"enabled": False}})
    assert reminders.stage_schedule(off, "self_assessment", HCM) == []


def test_triage_after_downtime_sends_only_the_latest_within_grace():
    audience = reminders.Audience(officers={"A": [reminders.Recipient(1, 101)]})
    config = period_config(digest=False)
    at = datetime(2025, 12, 30, 12, tzinfo=VN)
    due = reminders.due_notifications(config, HCM, {"self_assessment": ["A"]}, audience, until=at)
    decided = {d.notification.key.rsplit("/", 1)[1]: (d.send, d.reason)
               for d in reminders.triage(due, at, timedelta(hours=12), config.reminders, HCM)}
    assert decided == {"2025-12-24": (False, "superseded"), "2025-12-28": (False, "superseded"),
                       "2025-12-30": (True, None)}
    late = datetime(2025, 12, 30, 21, 30, tzinfo=VN)  # 13.5 h after the 08:00 reminder
    decided = [(d.send, d.reason) for d in reminders.triage(due, late, timedelta(hours=12), config.reminders, HCM)
               if d.notification.key.endswith("2025-12-30")]
    assert decided == [(False, "stale")]


def test_a_late_send_in_quiet_hours_waits_for_the_morning():
    audience = reminders.Audience(officers={"A": [reminders.Recipient(1, 101)]})
    config = period_config(digest=False)
    at = datetime(2025, 12, 30, 19, 0, tzinfo=VN)
    due = reminders.due_notifications(config, HCM, {"self_assessment": ["A"]}, audience, until=at)
    [sent] = [d for d in reminders.triage(due, at, timedelta(hours=48), config.reminders, HCM) if d.send]
    assert sent.not_before == at  # 19:00 is outside 21:00-07:00
    night = datetime(2025, 12, 30, 23, 0, tzinfo=VN)
    [sent] = [d for d in reminders.triage(due, night, timedelta(hours=48), config.reminders, HCM) if d.send]
    assert sent.not_before.astimezone(HCM) == datetime(2025, 12, 31, 7, 0, tzinfo=HCM)


def test_digest_counts_per_block_and_overdue_list():
    units = [Unit("A", "A", "tinh"), Unit("B", "B", "tinh"), Unit("C", "C", "xa")]
    stages = {"A": UnitStage("A", submitted_at=CLOSES - timedelta(days=1)),
              "B": UnitStage("B", submitted_at=CLOSES + timedelta(hours=3))}
    counts, overdue = reminders.digest_counts("self_assessment", CLOSES, units, stages, CLOSES + timedelta(days=1))
    assert [(c.block, c.expected, c.submitted, c.on_time) for c in counts] == [("tinh", 2, 2, 1), ("xa", 1, 0, 0)]
    assert [u.code for u in overdue] == ["C"]


def test_explanation_stage_is_owed_after_round_one_until_the_unit_explains():
    closed = {"appraisal": {"round1_closed_at": "2026-01-20T17:00:00+07:00"}}
    assert not reminders.owes("explanation", UnitStage("A"))
    assert reminders.owes("explanation", UnitStage("A", state=closed))
    explained = {"appraisal": closed["appraisal"] | {"contests": {"1.1": {"at": "2026-01-22T09:00:00+07:00"}}}}
    assert not reminders.owes("explanation", UnitStage("A", state=explained))


def test_time_left():
    assert reminders.time_left(CLOSES, CLOSES - timedelta(days=2, hours=5, minutes=30)) == (2, 5)
    assert reminders.time_left(CLOSES, CLOSES + timedelta(hours=26)) == (-1, -2)


# ---- the sweep against a database, with the clock travelling ---------------------------------------------


@pytest.fixture
def uow(sqlite_url):
    from parbot.storage.db import make_engine, upgrade
    from parbot.storage.uow import SqlUnitOfWork

    engine = make_engine(sqlite_url)
    upgrade(engine)
    yield SqlUnitOfWork(engine)
    engine.dispose()


def outbox(uow) -> dict[str, str]:
    from parbot.storage.tables import OutboxRow
    from sqlmodel import select

    with uow:
        return {r.key: r.status for r in uow.session.exec(select(OutboxRow))}


def sweep_through(uow, start: datetime, end: datetime, step: timedelta, on=None) -> None:
    """Sweep every ``step`` from start to end, as the scheduler would, with the process clock moved there."""
    moment = start
    with time_machine.travel(start, tick=False) as traveller:
        while moment <= end:
            traveller.move_to(moment)
            if on:
                on(moment)
            queue_due_notifications(uow, datetime.now(timezone.utc))
            moment += step


def pending(rows: dict[str, str], person_id: int) -> list[str]:
    return sorted(k.split("/", 4)[-1] for k, s in rows.items() if f"/p{person_id}/" in k and s == "pending")


def test_a_whole_period_every_six_hours(uow):
    people = make_province(uow, units=2)
    (a_officer, a), (b_officer, b) = people["officer"]
    leader_a = next(p for p, u in people["unit_leader"] if u == a)
    admin = people["admin"][0][0]

    def on(moment: datetime) -> None:
        if moment == datetime(2025, 12, 29, 12, tzinfo=VN):
            submit(uow, b, moment)

    sweep_through(uow, datetime(2025, 12, 1, 0, tzinfo=VN), datetime(2026, 1, 6, 0, tzinfo=VN),
                  timedelta(hours=6), on)
    rows = outbox(uow)
    assert pending(rows, a_officer.id) == [f"reminder/{d}" for d in (
        "2025-12-24", "2025-12-28", "2025-12-30", "2025-12-31", "2026-01-01", "2026-01-02", "2026-01-03")]
    assert pending(rows, b_officer.id) == ["reminder/2025-12-24", "reminder/2025-12-28"]  # submitted on the 29th
    # escalation from the third reminder on (escalate_after = 2)
    assert pending(rows, leader_a.id) == [f"reminder_escalation/{d}" for d in (
        "2025-12-30", "2025-12-31", "2026-01-01", "2026-01-02", "2026-01-03")]
    digests = pending(rows, admin.id)
    assert digests[0] == "2025-12-02" and digests[-1] == "2026-01-03" and len(digests) == 33
    assert set(rows.values()) == {"pending"}  # nothing stale: each sweep came within the grace
    before = dict(rows)
    queue_due_notifications(uow, datetime(2026, 1, 6, tzinfo=VN))
    assert outbox(uow) == before  # sweeping again changes nothing


def test_deadline_moved_mid_period(uow):
    people = make_province(uow, units=1, leaders=False, admins=0)
    officer = people["officer"][0][0]
    sweep_through(uow, datetime(2025, 12, 20, tzinfo=VN), datetime(2025, 12, 29, tzinfo=VN), timedelta(hours=6))
    from parbot.core.services.periods import save_period

    # The admin extends the deadline.
    save_period(uow, caller=ADMIN, config=period_config(datetime(2026, 1, 10, 17, tzinfo=VN)))
    sweep_through(uow, datetime(2025, 12, 29, 6, tzinfo=VN), datetime(2026, 1, 15, tzinfo=VN), timedelta(hours=6))
    assert pending(outbox(uow), officer.id) == [f"reminder/{d}" for d in (
        "2025-12-24", "2025-12-28",  # sent under the old deadline
        "2026-01-03", "2026-01-07", "2026-01-09", "2026-01-10",  # the new one's 7, 3, 1 days and the morning
        "2026-01-11", "2026-01-12", "2026-01-13")]  # no overdue reminder for the old 31 December


def test_downtime_sends_the_latest_once_and_records_the_rest_as_skipped(uow):
    people = make_province(uow, units=1, leaders=False, admins=0)
    officer = people["officer"][0][0]
    sweep_through(uow, datetime(2025, 12, 20, tzinfo=VN), datetime(2025, 12, 23, tzinfo=VN), timedelta(hours=6))
    # down from the 23rd until 10:00 on the 30th, then every minute for a while
    sweep_through(uow, datetime(2025, 12, 30, 10, tzinfo=VN), datetime(2025, 12, 30, 10, 5, tzinfo=VN),
                  timedelta(minutes=1))
    rows = {k.rsplit("/", 1)[1]: s for k, s in outbox(uow).items() if f"/p{officer.id}/" in k}
    assert rows == {"2025-12-24": "skipped", "2025-12-28": "skipped", "2025-12-30": "pending"}


def test_a_unit_that_submits_between_sweep_and_send_gets_nothing(uow):
    from parbot.bot.outbox_kinds import RENDERERS
    from parbot.bot.sender import Sender

    people = make_province(uow, units=2, leaders=False, admins=0)
    (a_officer, a), (b_officer, b) = people["officer"]
    at = datetime(2025, 12, 24, 8, 1, tzinfo=VN)
    assert queue_due_notifications(uow, at).queued == 2
    submit(uow, b, at + timedelta(seconds=20))
    sender = Sender(uow.engine, bot=None, renderers=RENDERERS, now=lambda: at + timedelta(seconds=30))
    claimed = sender._claim()
    assert [item.payload["unit"] for item, _ in claimed] == [a]
    text = claimed[0][1].text
    assert "0/27" in text and "còn 7 ngày 8 giờ" in text and "1.1.1" in text
    rows = {k.split("/")[2]: s for k, s in outbox(uow).items()}
    assert rows == {a: "sending", b: "skipped"}


def test_a_member_removed_between_sweep_and_send_gets_nothing(uow):
    from parbot.bot.outbox_kinds import RENDERERS
    from parbot.bot.sender import Sender
    from parbot.core.services import people as members

    people = make_province(uow, units=2, leaders=False, admins=0)
    (a_officer, a), (b_officer, b) = people["officer"]
    at = datetime(2025, 12, 24, 8, 1, tzinfo=VN)
    assert queue_due_notifications(uow, at).queued == 2
    assert members.remove_member(uow, caller=ADMIN, who=f"p{a_officer.id}", now=at + timedelta(seconds=20)) == 1
    claimed = Sender(uow.engine, bot=None, renderers=RENDERERS, now=lambda: at + timedelta(seconds=30))._claim()
    assert [item.person_id for item, _ in claimed] == [b_officer.id]
    assert {k.split("/")[2]: s for k, s in outbox(uow).items()} == {a: "skipped", b: "sending"}


def test_only_the_role_a_message_was_queued_for_justifies_it():
    from parbot.core.permissions import Grant, Role

    leader_of_a = [Grant(Role.UNIT_LEADER, "A"), Grant(Role.OFFICER, "B")]
    assert reminders.addressed(reminders.ESCALATION, {"unit": "A"}, leader_of_a)
    assert not reminders.addressed(reminders.REMINDER, {"unit": "A"}, leader_of_a)  # officer of B, not of A
    assert reminders.addressed(reminders.REMINDER, {"unit": "B"}, leader_of_a)
    assert not reminders.addressed(reminders.DIGEST, {}, leader_of_a)
    assert reminders.addressed(reminders.DIGEST, {}, [Grant(Role.PROVINCE_LEADER)])
    assert not reminders.addressed("appraisal_round1", {"unit": "A"}, [])  # every grant removed
    assert reminders.addressed("evidence_received", {}, [])  # kinds without addressees are not filtered
