"""Several webhook processes on one PostgreSQL behind one URL: one chat's updates are never handled by two
processes at once, and an update that reaches all of them (re-sent behind the balancer) is applied once;
three real `parbot bot run --webhook` processes behind a round-robin balancer serve Zalo officers once and
in order while their sweeps queue a reminder once and one sender sends it once."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import web
from e2e_support import invite, load_province, rows
from emulator_fixtures import make_bot
from pydantic import SecretStr

from parbot.bot.app import serve
from parbot.bot.webhook import TELEGRAM_SECRET_HEADER, ZALO_PATH, ZALO_SECRET_HEADER, ChatLocks
from parbot.core.period import ReminderPolicy
from parbot.core.permissions import Grant, Role
from parbot.sandbox.zalo_emulator import ZaloEmulatorServer
from parbot.settings import Settings
from parbot.storage.db import make_engine, upgrade
from parbot.storage.tables import AnswerRow, OutboxRow
from parbot.storage.uow import SqlUnitOfWork

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
SECRET = "webhook-secret-of-the-test"


@pytest.fixture
def pg_engine(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def counting_pauses(locks: ChatLocks) -> asyncio.Event:
    """Set once ``locks`` found a chat held by another process and paused before trying again."""
    paused = asyncio.Event()

    async def pause(seconds: float) -> None:
        paused.set()
        await asyncio.sleep(0)

    locks.pause = pause
    return paused


def lock_connections(engine) -> int:
    """The chat locks' connections to this test's database, as the server lists them."""
    with engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'parbot-chat-locks'")).scalar_one()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_chat_is_handled_by_one_process_at_a_time(pg_engine):
    first, second = ChatLocks(pg_engine), ChatLocks(pg_engine)  # as two processes hold them
    entered, paused = asyncio.Event(), counting_pauses(second)

    async def second_process() -> None:
        async with second.hold(("chat", 1)):
            entered.set()

    try:
        async with first.hold(("chat", 1)):
            task = asyncio.create_task(second_process())
            await asyncio.wait_for(paused.wait(), 30)  # it tried, found the chat held, and waits
            assert not entered.is_set()
            async with second.hold(("chat", 2)):  # another chat is not held up
                pass
        await asyncio.wait_for(task, 30)
        assert entered.is_set()
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_hundred_chats_in_flight_share_one_lock_connection(pg_engine):
    """100 chats with three updates each in flight at once, ten of the chats held by another process first:
    the process connects once for all their locks, and each update is handled once, in its chat's order."""
    locks, other = ChatLocks(pg_engine), ChatLocks(pg_engine)
    connects = []
    sa.event.listen(locks.engine, "connect", lambda *_: connects.append(1))
    paused, release = counting_pauses(locks), asyncio.Event()
    in_flight, handled = set(), []

    async def update(chat: int, n: int) -> None:
        async with locks.hold(("zalo", str(chat))):
            in_flight.add(chat)
            handled.append((chat, n))
            await release.wait()

    try:
        async with contextlib.AsyncExitStack() as held_elsewhere:
            for chat in range(10):
                await held_elsewhere.enter_async_context(other.hold(("zalo", str(chat))))
            tasks = [asyncio.create_task(update(chat, n)) for n in range(3) for chat in range(100)]
            async with asyncio.timeout(60):
                while len(in_flight) < 90:  # every chat not held elsewhere is being handled
                    await asyncio.sleep(0.01)
            assert lock_connections(pg_engine) == 2 and len(connects) == 1  # one per process
            await asyncio.wait_for(paused.wait(), 30)
            assert not in_flight & set(range(10))
        release.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
        assert sorted(handled) == [(chat, n) for chat in range(100) for n in range(3)]  # once each
        for chat in range(100):
            assert [n for c, n in handled if c == chat] == [0, 1, 2]
        assert len(connects) == 1 and lock_connections(pg_engine) == 2
    finally:
        locks.close()
        other.close()
    async with asyncio.timeout(30):  # the server ends a closed connection's backend on its own time
        while lock_connections(pg_engine):
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_dead_lock_connection_is_replaced_and_the_chats_in_hand_locked_again(pg_engine):
    locks, other = ChatLocks(pg_engine), ChatLocks(pg_engine)
    paused, entered = counting_pauses(other), asyncio.Event()

    async def other_process() -> None:
        async with other.hold(("chat", 1)):
            entered.set()

    try:
        async with locks.hold(("chat", 1)):
            with pg_engine.connect() as connection:  # the server ends the lock connection (and its locks)
                connection.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name = 'parbot-chat-locks'"))
            async with asyncio.timeout(30):
                while lock_connections(pg_engine):
                    await asyncio.sleep(0.05)
            async with locks.hold(("chat", 2)):  # on a new connection, which took chat 1's lock again first
                task = asyncio.create_task(other_process())
                await asyncio.wait_for(paused.wait(), 30)
                assert not entered.is_set() and lock_connections(pg_engine) == 2
        await asyncio.wait_for(task, 30)  # released on the new connection
        assert entered.is_set()
    finally:
        locks.close()
        other.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_updates_reaching_two_processes_are_applied_once(pg_engine, database_url, emulator_server, tmp_path):
    load_province(pg_engine)
    settings_kw = dict(_env_file=None, PARBOT_DATABASE_URL=database_url, TELEGRAM_BOT_TOKEN=emulator_server.token,
                       PARBOT_TELEGRAM_API_BASE=emulator_server.base_url,
                       PARBOT_EVIDENCE_DIR=str(tmp_path / "evidence"))
    settings = Settings(**settings_kw).model_copy(update={"webhook_token": SecretStr(SECRET)})
    stops, tasks, ports = [], [], []
    for _ in range(3):  # three servers, each with its own Application, locks and engine, as processes
        stop, ready = asyncio.Event(), asyncio.get_running_loop().create_future()
        tasks.append(asyncio.create_task(serve(settings, webhook=True, listen=("127.0.0.1", 0), stop=stop,
                                               ready=ready.set_result)))
        stops.append(stop)
        ports.append(await asyncio.wait_for(asyncio.shield(ready), 60))
    try:
        officers = [emulator_server.create_user(7600 + i, f"Cán bộ {i}") for i in range(12)]
        for officer in officers:
            officer.send_command("start", invite(pg_engine, "officer", "SNV"))
        async with make_bot(emulator_server) as bot:
            updates = await bot.get_updates(timeout=0)
        assert len(updates) == len(officers)

        async def post(port: int, update) -> int:
            async with aiohttp.ClientSession() as session:
                async with session.post(f"http://127.0.0.1:{port}/telegram", json=update.to_dict(),
                                        headers={TELEGRAM_SECRET_HEADER: SECRET}) as answer:
                    return answer.status

        first, *rest = updates
        assert await post(ports[0], first) == 200
        expected = len(officers[0].bot_messages())  # what one handling of /start <code> sends
        assert expected and any(m.inline_keyboard for m in officers[0].bot_messages())
        # Every other update reaches all three at once (the platform re-sent it behind the balancer).
        statuses = await asyncio.gather(*(post(port, update) for update in rest for port in ports))
        assert statuses == [200] * (len(ports) * len(rest))
        assert [len(officer.bot_messages()) for officer in officers] == [expected] * len(officers)
    finally:
        for stop in stops:
            stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)


# ---- three `parbot bot run --webhook` processes behind one URL -----------------------------------------

PUBLIC = "https://parbot.so-noi-vu.example.vn"
CEILING = 120.0  # generous: three processes and PostgreSQL on a busy machine; only a hang reaches it
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # the settings' default time zone, which the processes use


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def reminder_due_now() -> tuple[ReminderPolicy, datetime]:
    """A policy whose one reminder fell due half an hour ago, before a deadline three hours away, with no
    quiet hours: the first sweep of any process queues it, whatever the time of day."""
    now = datetime.now(timezone.utc)
    closes, due = now + timedelta(hours=3), (now - timedelta(minutes=30)).astimezone(ZONE)
    policy = ReminderPolicy(days_before=[(closes.astimezone(ZONE).date() - due.date()).days],
                            send_at=due.time().replace(second=0, microsecond=0), quiet_start=time(0),
                            quiet_end=time(0), overdue_daily_max=0, digest=False)
    return policy, closes


class Balancer:
    """The province's load balancer in front of the processes, without chat affinity: each chat's deliveries
    go round robin from a different first process, so every chat's updates reach every process (a global
    round robin would leave that to how the chats interleave), and every third one of a chat also reaches
    the next process at the same moment (the platform sent it again, having no answer in time). It answers
    once all copies are."""

    def __init__(self, ports: list[int]) -> None:
        self.ports, self.copies = ports, 0
        self.statuses: list[int] = []
        self.delivered: dict[str, int] = {}  # chat -> its deliveries so far
        self.first: dict[str, int] = {}  # chat -> the index of the process its first update went to
        self.reached: dict[str, set[int]] = {}  # chat -> the processes its updates went to

    async def forward(self, request: web.Request) -> web.Response:
        body, headers = await request.read(), {k: v for k, v in request.headers.items()
                                               if k in (ZALO_SECRET_HEADER, "Content-Type")}
        chat = json.loads(body)["message"]["chat"]["id"]
        n = self.delivered.get(chat, 0)
        self.delivered[chat] = n + 1
        at = self.first.setdefault(chat, len(self.first)) + n
        targets = [self.ports[at % len(self.ports)]]
        if n % 3 == 2:
            targets.append(self.ports[(at + 1) % len(self.ports)])
            self.copies += 1
        self.reached.setdefault(chat, set()).update(targets)
        async with aiohttp.ClientSession() as session:
            async def post(port: int) -> int:
                async with session.post(f"http://127.0.0.1:{port}{ZALO_PATH}", data=body, headers=headers) as answer:
                    return answer.status
            statuses = await asyncio.gather(*(post(port) for port in targets))
        self.statuses += statuses
        return web.Response(status=statuses[0])


async def bot_run_process(env: dict[str, str], port: int, log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "parbot.cli.main", "bot", "run", "--webhook", "--listen", f"127.0.0.1:{port}",
            env=env, stdout=out, stderr=asyncio.subprocess.STDOUT)


async def healthy(port: int, process: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(CEILING), aiohttp.ClientSession() as session:
        while process.returncode is None:
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass  # not listening yet
            await asyncio.sleep(0.2)
    raise AssertionError(f"bot run on port {port} ended with {process.returncode}")


async def zalo_updates(port: int, outcome: str) -> int:
    """The process's count of Zalo updates with that outcome, from its /metrics."""
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as answer:
        metrics = await answer.text()
    line = f'parbot_updates_total{{channel="zalo",outcome="{outcome}"}} '
    return sum(int(float(row[len(line):])) for row in metrics.splitlines() if row.startswith(line))


REMINDER = "⏰ Nhắc hạn"  # the reminder's first words: it reaches each chat once, at any point of a session


def transcript(texts: list[str], *names: str) -> list[str]:
    """What an officer read in reply, without what differs between officers (their name and unit's) and
    without the reminder, which the sweeps send whenever they find it due."""
    texts = [text for text in texts if not text.startswith(REMINDER)]
    for name in names:
        texts = [text.replace(name, "…") for text in texts]
    return texts


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_three_bot_run_processes_serve_officers_once_and_in_order(pg_engine, database_url, emulator_server,
                                                                          tmp_path):
    policy, closes = reminder_due_now()
    load_province(pg_engine, closes=closes, reminders=policy)
    with SqlUnitOfWork(pg_engine) as uow:
        so = uow.units.list(block="so", year=2020)
        xa = [u.code for u in uow.units.list(block="xa", year=2020)][:12]
        # Officers on Telegram who already pressed Start: the reminders' outbox goes to them.
        reminded = []
        for n, unit in enumerate(xa):
            person = uow.people.ensure(7700 + n, 7700 + n, f"Cán bộ xã {n}", None, "vi")
            uow.roles.add(person.id, Grant(Role.OFFICER, unit))
            reminded.append(person)
        uow.commit()
    for person in reminded:
        emulator_server.create_user(person.telegram_id, person.name).user.started = True

    ports = [free_port() for _ in range(3)]
    balancer = Balancer(ports)
    front = web.Application()
    front.router.add_post(ZALO_PATH, balancer.forward)
    runner = web.AppRunner(front, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    async with ZaloEmulatorServer(url_map={PUBLIC: f"http://127.0.0.1:{runner.addresses[0][1]}"}) as zalo:
        env = {k: v for k, v in os.environ.items() if not k.endswith("TELEGRAM_BOT_TOKEN")} | {
            "PARBOT_DATABASE_URL": database_url, "PARBOT_EVIDENCE_DIR": str(tmp_path / "evidence"),
            "TELEGRAM_BOT_TOKEN": emulator_server.token, "PARBOT_TELEGRAM_API_BASE": emulator_server.base_url,
            "PARBOT_ZALO_BOT_TOKEN": zalo.token, "PARBOT_ZALO_API_BASE": zalo.base_url,
            "PARBOT_PUBLIC_URL": PUBLIC, "PARBOT_WEBHOOK_SECRET": SECRET, "PARBOT_SWEEP_INTERVAL_SECONDS": "1"}
        processes = [await bot_run_process(env, port, tmp_path / f"bot{n}.log") for n, port in enumerate(ports)]
        try:
            await asyncio.gather(*(healthy(port, p) for port, p in zip(ports, processes)))
            assert zalo.emulator.webhook is not None and zalo.emulator.webhook.url == f"{PUBLIC}{ZALO_PATH}"

            # The reminder every sweep of every process finds due: queued once, sent once.
            def telegram_sent() -> list[int]:
                return [emulator_server.emulator.chats[p.telegram_id].bot_sent for p in reminded]
            async with asyncio.timeout(CEILING):
                while min(telegram_sent()) < 1:
                    await asyncio.sleep(0.1)

            # Then the officers on Zalo, all at once, each typing after reading the answer; while they do,
            # each process sweeps every second.
            officers = [(zalo.user(f"zalo-{8200 + n}", f"Cán bộ sở {n}"), unit) for n, unit in enumerate(so)]

            async def officer_session(user, unit) -> list[list[str]]:
                steps = [invite(pg_engine, "officer", unit.code), "1", "1", "1", "1", "1"]
                read = []
                for text in steps:
                    seen = len(user.received)
                    await user.send_text(text)  # returns once the balancer answered: handled and sent
                    read.append(transcript([m.text for m in user.received[seen:]], user.record.display_name,
                                           unit.name, unit.code))
                return read

            sessions = await asyncio.gather(*(officer_session(user, unit) for user, unit in officers))
            assert balancer.copies >= len(officers) and set(balancer.statuses) == {200}
            assert all(len(reached) > 1 for reached in balancer.reached.values())  # a chat, several processes
            for read in sessions:
                assert all(read), "every update was answered"
                assert read == sessions[0], "each officer's updates applied once, in order"
            assert sessions[0][0][0].startswith("Chào …") and "1.1.1. " in sessions[0][1][-1]
            answers = [{(a.item_code, str(a.value)) for a in rows(pg_engine, AnswerRow, unit_code=unit.code)}
                       for _, unit in officers]
            assert answers[0] and all(a == answers[0] for a in answers)

            # Every copy was recognised as one: each update handled once in all, by whichever process.
            handled = [await zalo_updates(port, "handled") for port in ports]
            assert sum(handled) == len(officers) * 6 and min(handled) > 0
            assert sum([await zalo_updates(port, "duplicate") for port in ports]) == balancer.copies

            # The officers who joined on Zalo owe their self-assessment too: reminded there, once each.
            def zalo_reminded() -> list[int]:
                return [sum(1 for m in user.received if m.text.startswith(REMINDER)) for user, _ in officers]
            async with asyncio.timeout(CEILING):
                while min(zalo_reminded()) < 1:
                    await asyncio.sleep(0.1)
            outbox = rows(pg_engine, OutboxRow, kind="reminder")
            async with asyncio.timeout(CEILING):  # the last row's outcome is recorded after its send
                while {r.status for r in outbox} != {"sent"}:
                    await asyncio.sleep(0.1)
                    outbox = rows(pg_engine, OutboxRow, kind="reminder")
            assert telegram_sent() == [1] * len(reminded) and zalo_reminded() == [1] * len(officers)
            assert len(outbox) == len({r.person_id for r in outbox}) == len(reminded) + len(officers)
            assert {p.id for p in reminded} <= {r.person_id for r in outbox} and all(r.sent_at for r in outbox)
        finally:
            for process in processes:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            codes = [await asyncio.wait_for(p.wait(), CEILING) for p in processes]
            await runner.cleanup()
        assert codes == [0, 0, 0], [(tmp_path / f"bot{n}.log").read_text()[-3000:] for n in range(3)]
