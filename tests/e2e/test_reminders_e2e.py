"""Reminders end to end through the Bot API emulator: the jobs at simulated times, 429 storms, blocked users,
a sender process killed with SIGKILL in the middle of a wave, two sender processes on PostgreSQL."""
from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa


from emulator_fixtures import make_bot  # noqa: E402
from reminder_fixtures import VN, make_province, submit  # noqa: E402

from parbot.bot.jobs import ReminderJobs  # noqa: E402
from parbot.bot.outbox_kinds import RENDERERS  # noqa: E402
from parbot.storage.process_locks import SENDER_LOCK  # noqa: E402
from parbot.bot.sender import START_GROUP, Sender  # noqa: E402
from parbot.core.services.notifications import queue_due_notifications  # noqa: E402
from parbot.sandbox.emulator import EmulatorServer, RateLimits  # noqa: E402
from parbot.sandbox.emulator.faults import Faults  # noqa: E402
from parbot.settings import Settings  # noqa: E402
from parbot.storage.db import make_engine, upgrade  # noqa: E402
from parbot.storage.tables import OutboxRow  # noqa: E402
from parbot.storage.uow import SqlUnitOfWork  # noqa: E402

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
WAVE_AT = datetime(2025, 12, 24, 8, 0, 30, tzinfo=VN)
# Waits end on the event; the ceiling only bounds a hang. It is generous because a sender process's start-up
# and a wave paced at Telegram's rate take many times longer on a busy machine than on an idle one.
CEILING = 180


def database(url: str) -> SqlUnitOfWork:
    engine = make_engine(url)
    upgrade(engine)
    return SqlUnitOfWork(engine)


def start_users(server: EmulatorServer, people: dict) -> None:
    """Everyone pressed Start once (a bot cannot write first)."""
    for role in people.values():
        for person, _unit in role:
            server.create_user(person.telegram_id, person.name).user.started = True


def statuses(uow: SqlUnitOfWork) -> dict[str, int]:
    with uow:
        rows = uow.session.execute(sa.select(OutboxRow.status, sa.func.count()).group_by(OutboxRow.status))
        return dict(rows.all())


async def until(predicate, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_reminders_arrive_at_the_simulated_times_with_the_right_content(tmp_path):
    uow = database(f"sqlite:///{tmp_path / 'p.db'}")
    people = make_province(uow, units=2)
    (officer_a, unit_a), (officer_b, unit_b) = people["officer"]
    leader_a = next(p for p, u in people["unit_leader"] if u == unit_a)
    clock = [datetime(2025, 12, 23, 8, 0, tzinfo=VN)]
    async with EmulatorServer() as server:
        start_users(server, people)
        async with make_bot(server) as bot:
            jobs = ReminderJobs(uow.engine, bot, Settings(), now=lambda: clock[0])

            async def at(moment: datetime) -> None:
                clock[0] = moment
                await jobs.run_sweep()
                await jobs.run_sender()

            def got(person) -> list[str]:
                return [m.text for m in server.user(person.telegram_id).bot_messages()]

            await at(datetime(2025, 12, 24, 7, 59, tzinfo=VN))
            assert got(officer_a) == []
            await at(datetime(2025, 12, 24, 8, 0, 20, tzinfo=VN))
            [first] = got(officer_a)
            assert first.startswith("⏰ Nhắc hạn tự đánh giá, chấm điểm — Đơn vị 0")
            assert "Hạn: 17:00 31/12/2025 (còn 7 ngày 8 giờ)." in first and "Đã trả lời 0/27 tiêu chí." in first
            button = server.user(officer_a.telegram_id).last_bot_message.inline_keyboard[0][0]
            assert button["text"] == "▶️ Tiếp tục" and button["callback_data"].endswith(f":m:{unit_a}")
            assert len(got(officer_b)) == 1 and got(leader_a) == []
            await at(datetime(2025, 12, 24, 8, 1, 20, tzinfo=VN))  # the next minute's sweep: nothing new
            assert len(got(officer_a)) == 1
            submit(uow, unit_b, datetime(2025, 12, 26, 10, tzinfo=VN))
            await at(datetime(2025, 12, 28, 8, 0, 20, tzinfo=VN))
            assert len(got(officer_a)) == 2 and "còn 3 ngày 8 giờ" in got(officer_a)[-1]
            assert len(got(officer_b)) == 1  # submitted: no more reminders
            await at(datetime(2025, 12, 30, 8, 0, 20, tzinfo=VN))  # the third reminder: the leader is told
            assert got(leader_a)[-1].startswith("⏰") and "đã được nhắc 2 lần" in got(leader_a)[-1]
            await at(datetime(2026, 1, 1, 8, 0, 20, tzinfo=VN))
            assert got(officer_a)[-1].startswith("❗ Quá hạn") and "đã quá 0 ngày 15 giờ" in got(officer_a)[-1]
            digest = got(people["admin"][0][0])[-1]
            assert "đã nộp 0/1" in digest and "đã nộp 1/1, đúng hạn 1" in digest and f"{unit_a} Đơn vị 0" in digest


async def test_a_429_storm_loses_nothing_and_blocked_users_are_marked(tmp_path):
    uow = database(f"sqlite:///{tmp_path / 'p.db'}")
    people = make_province(uow, units=40, leaders=False)
    limits = RateLimits(global_per_second=8, per_chat_per_second=1, per_chat_burst=1)
    async with EmulatorServer(rate_limits=limits) as server:
        start_users(server, people)
        blocked = [p for p, _u in people["officer"][:3]]
        for person in blocked:
            server.user(person.telegram_id).block()
        queue_due_notifications(uow, WAVE_AT)
        async with make_bot(server) as bot:
            started = time.monotonic()
            sender = Sender(uow.engine, bot, renderers=RENDERERS, rate_global=40,
                            now=lambda: WAVE_AT + timedelta(seconds=5 + time.monotonic() - started))
            for _ in range(100):
                await sender.drain()
                if statuses(uow).get("pending", 0) == 0:
                    break
                await asyncio.sleep(0.2)
    assert server.emulator.limiter.refused >= 3, "the storm did not happen"
    assert sender.stats.rate_limited == server.emulator.limiter.refused
    counts = {p.telegram_id: server.emulator.chats[p.telegram_id].bot_sent for p, _u in people["officer"]}
    assert {t for t, n in counts.items() if n != 1} == {p.telegram_id for p in blocked}
    assert all(counts[p.telegram_id] == 0 for p in blocked)
    with uow:
        assert all(uow.people.get(p.id).unreachable_at is not None for p in blocked)
    admin = people["admin"][0][0]
    notices = [m.text for m in server.user(admin.telegram_id).bot_messages() if m.text.startswith("⚠️")]
    # one notice per blocked officer, naming them and their unit
    blocked_units = {p.name: u for p, u in people["officer"][:3]}
    assert sorted(next(name for name, unit in blocked_units.items() if f"{name} ({unit})" in n)
                  for n in notices) == sorted(blocked_units)
    assert statuses(uow) == {"sent": 37 + 1 + 3, "unreachable": 3, "skipped": 22}


# ---- sender processes ------------------------------------------------------------------------------------


def spawn(url: str, server: EmulatorServer, log: Path) -> subprocess.Popen:
    env = os.environ | {"PARBOT_DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": server.token,
                        "TELEGRAM_API_BASE": server.base_url, "PARBOT_SEND_RATE_GLOBAL": "100000",
                        "PARBOT_SWEEP_INTERVAL_SECONDS": "3600", "PARBOT_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "parbot.bot.jobs"], cwd=ROOT, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def delivered(server: EmulatorServer) -> int:
    return sum(chat.bot_sent for chat in server.emulator.chats.values())


def one_each(server: EmulatorServer, people: dict) -> dict[int, int]:
    """Recipients that did not get exactly one message: {telegram id: count}."""
    counts = {p.telegram_id: server.emulator.chats[p.telegram_id].bot_sent for role in people.values()
              for p, _u in role}
    return {t: n for t, n in counts.items() if n != 1}


async def test_kill_9_at_random_points_never_sends_anyone_two(tmp_path):
    """A sender process killed at random moments of a wave (while claiming, between stamping a row and its
    request, with requests in flight, after a delivery before its commit), restarted each time: nobody gets a
    reminder twice. A row whose request had left when the process died is ``uncertain`` (delivered or not,
    nobody can tell), never re-sent; everyone else gets exactly one."""
    rng = random.Random(1405)
    url = f"sqlite:///{tmp_path / 'p.db'}"
    uow = database(url)
    people = make_province(uow, units=300, officers_per_unit=2, leaders=False)
    total = 601
    # Latency keeps requests in flight, so a kill lands among them and not only between them.
    faults = Faults(seed=1405, latency=(0.0, 0.03))
    kills = 4
    async with EmulatorServer(faults=faults) as server:
        start_users(server, people)
        assert queue_due_notifications(uow, WAVE_AT).queued == total
        for n in range(kills + 1):
            process = spawn(url, server, tmp_path / f"bot{n}.log")
            try:
                if n < kills:
                    target = delivered(server) + rng.randint(1, total // (kills + 1))
                    await until(lambda: delivered(server) >= target or process.poll() is not None, CEILING,
                                "the wave to reach the kill point")
                    process.send_signal(signal.SIGKILL)
                else:
                    await until(lambda: not statuses(uow).keys() & {"pending", "sending"}, CEILING,
                                "the last sender to finish the wave")
            finally:
                process.kill()
                process.wait(10)
            await server.settled(CEILING)  # what the dead process wrote is served: nothing more can arrive
    with uow:
        outcome = dict(uow.session.execute(sa.select(OutboxRow.chat_id, OutboxRow.status)
                                           .where(OutboxRow.status != "skipped")).all())  # older digests
    assert len(outcome) == total and set(outcome.values()) <= {"sent", "uncertain"}
    counts = {chat_id: server.emulator.chats[chat_id].bot_sent if chat_id in server.emulator.chats else 0
              for chat_id in outcome}
    assert max(counts.values()) == 1, "someone got the reminder twice"
    assert all(counts[chat] == 1 for chat, status in outcome.items() if status == "sent")
    uncertain = [chat for chat, status in outcome.items() if status == "uncertain"]
    # at most what one process had on its way when it died: its slots in flight and one stamped group
    assert len(uncertain) <= kills * (64 + START_GROUP)
    assert delivered(server) == sum(counts.values()) and delivered(server) >= total - len(uncertain)


async def test_a_second_sender_on_the_same_sqlite_file_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    database(url)
    async with EmulatorServer() as server:
        first = spawn(url, server, tmp_path / "bot1.log")
        try:
            lock = tmp_path / "p.db.sender.lock"
            # The sender writes its pid into the lock file only once it holds the lock.
            await until(lambda: lock.exists() and lock.read_text() == str(first.pid), CEILING,
                        "the first sender's lock")
            second = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "parbot.bot.jobs"], cwd=ROOT,
                                             env=os.environ | {"PARBOT_DATABASE_URL": url,
                                                               "TELEGRAM_BOT_TOKEN": server.token,
                                                               "TELEGRAM_API_BASE": server.base_url},
                                             capture_output=True,
                                             text=True, timeout=CEILING)
            assert first.poll() is None
        finally:
            first.terminate()
            first.wait(10)
    assert second.returncode == 1 and "another parbot process is sending" in second.stderr


def sender_lock_held(uow: SqlUnitOfWork) -> bool:
    """A sender process holds the PostgreSQL advisory lock of this database (it is polling the outbox)."""
    with uow:
        return bool(uow.session.execute(sa.text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
            "database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND "
            "(classid::bigint << 32 | objid::bigint) = :k"), {"k": SENDER_LOCK}).scalar())


@pytest.mark.postgres
async def test_two_sender_processes_on_postgresql_send_each_message_once(tmp_path):
    from tests.conftest import _fresh_postgres_database, require_postgres

    require_postgres()
    url, drop = _fresh_postgres_database()
    try:
        uow = database(url)
        people = make_province(uow, units=150, officers_per_unit=2, leaders=False)
        async with EmulatorServer() as server:
            start_users(server, people)
            bots = [spawn(url, server, tmp_path / f"bot{n}.log") for n in (1, 2)]
            try:
                await until(lambda: server.emulator.method_calls["getMe"] >= 2 and sender_lock_held(uow), CEILING,
                            "both running, one of them the sender, before the wave is queued")
                assert queue_due_notifications(uow, WAVE_AT).queued == 301
                await until(lambda: statuses(uow).get("sent") == 301, CEILING, "the wave")
                assert all(b.poll() is None for b in bots)
                # one process dies (whichever was sending): the other sends the next wave
                bots[0].send_signal(signal.SIGKILL)
                bots[0].wait(10)
                assert queue_due_notifications(uow, WAVE_AT + timedelta(days=4)).queued == 301
                await until(lambda: statuses(uow).get("sent") == 602, CEILING, "the second wave")
            finally:
                for bot in bots:
                    bot.terminate()
                    bot.wait(10)
            await server.settled(CEILING)  # nothing more can arrive
            uow.engine.dispose()
        counts = {p.telegram_id: server.emulator.chats[p.telegram_id].bot_sent
                  for role in people.values() for p, _u in role}
        assert set(counts.values()) == {2} and delivered(server) == 602
    finally:
        drop()
