"""Load: simulated officers answering items through the emulator, beside a bare python-telegram-bot echo bot.

    python benchmarks/load.py --officers 100 500 1000 --db sqlite postgresql --write docs/benchmarks.md

Every officer joins by invitation (set-up, not measured), opens an area and answers ``--actions`` items, each
action waiting for the bot's reply (closed loop: all officers at once saturate the bot). The echo bot gets the
same number of people and actions (alternately a text it echoes with a button, and a press it answers and edits).
The slow-neighbour case repeats the parbot run while ``--leaders`` province leaders ask ``/ranking xa``.
CPU is this process's (bot, emulator and driver together: the same for both bots, so the ratio is fair).

``--channels zalo`` runs the same officers through the Zalo emulator (``ZaloChat``: they type the numbers of
the options they read) beside a bare aiohttp echo bot polling it; ``--webhooks 1 3`` then runs them through
that many `parbot bot run --webhook` processes on PostgreSQL behind a balancer with chat affinity, against
the Zalo run polling on PostgreSQL:

    python benchmarks/load.py --officers 30 --db postgresql --leaders 0 --channels zalo --webhooks 1 3
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "tests")]

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from e2e.test_webhook_processes import bot_run_process, free_port, healthy  # noqa: E402
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update  # noqa: E402
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters  # noqa: E402

from benchmarks._report import write_section  # noqa: E402
from parbot.bot.deps import Deps  # noqa: E402
from parbot.bot.webhook import ZALO_PATH, ZALO_SECRET_HEADER  # noqa: E402
from parbot.bot.zalo.runner import ZaloRunner  # noqa: E402
from parbot.core.period import Deadlines, PeriodConfig, ReminderPolicy  # noqa: E402
from parbot.core.permissions import Caller  # noqa: E402
from parbot.core.services import people, periods, units  # noqa: E402
from parbot.core.services.tabular import Row  # noqa: E402
from parbot.sandbox.emulator import EmulatorServer  # noqa: E402
from parbot.sandbox.officers import Habits, Officer, Transcript, ZaloChat, ZaloHandled  # noqa: E402
from parbot.sandbox.runtime import running_bot  # noqa: E402
from parbot.sandbox.zalo_emulator import ZaloEmulatorServer  # noqa: E402
from parbot.settings import Settings  # noqa: E402
from parbot.storage import sqlstats  # noqa: E402
from parbot.storage.db import make_engine, upgrade  # noqa: E402
from parbot.storage.evidence_store import EvidenceStore  # noqa: E402
from parbot.storage.files import read_table  # noqa: E402
from parbot.storage.uow import SqlUnitOfWork  # noqa: E402

ADMIN = Caller.admin("cli:benchmark")
SAMPLES = Path(__file__).resolve().parents[1] / "parbot" / "samples"
POSTGRES_ADMIN_URL = os.environ.get("PARBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REPLY_TIMEOUT = 600.0  # a ceiling, not a measure: 1,000 officers at once may wait long on two cores
NOW = datetime.now(timezone.utc)


@dataclass
class Run:
    label: str
    actions: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)
    sql: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    sql_counted: bool = True  # transactions and statements counted (in this process)
    rankings: int = 0  # the leaders' /ranking answered while the officers pressed

    @property
    def rate(self) -> float:
        return self.actions / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def per_update(self, key: str) -> float:
        return self.sql.get(key, 0) / self.actions if self.actions else 0.0


class Measure:
    """Wall time, CPU and SQL counts of the measured phase; with ``--py-spy FOLDER``, its samples too (steady
    state only: set-up and imports are left out)."""

    profile: Path | None = None

    def __init__(self, run: Run) -> None:
        self.run = run
        self.spy: subprocess.Popen | None = None

    def __enter__(self) -> Measure:
        if self.profile:
            out = self.profile / f"{self.run.label.replace(' ', '_').replace(',', '').replace('/', '')}.txt"
            self.spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
                                         str(os.getpid()), "--format", "raw", "--gil", "--rate", "200", "-o", str(out)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wall, self.cpu, self.sql = time.perf_counter(), time.process_time(), sqlstats.snapshot()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.spy:
            self.spy.send_signal(signal.SIGINT)
            self.spy.wait()
        self.run.seconds = time.perf_counter() - self.wall
        self.run.cpu = time.process_time() - self.cpu
        end = sqlstats.snapshot()
        self.run.sql = {k: end[k] - self.sql[k] for k in end}


class TimedOfficer(Officer):
    """An officer whose every action records the time until the bot's reply."""

    latencies: list[float]

    async def _timed(self, action) -> list:  # noqa: ANN001 - a coroutine
        start = time.perf_counter()
        result = await action
        self.latencies.append(time.perf_counter() - start)
        return result

    async def press(self, text=None, *, callback_data=None):  # noqa: ANN001, ANN201 - as Person.press
        return await self._timed(super().press(text, callback_data=callback_data))

    async def type(self, text):  # noqa: ANN001, ANN201
        return await self._timed(super().type(text))

    async def attach(self, data, file_name, mime_type):  # noqa: ANN001, ANN201
        return await self._timed(super().attach(data, file_name, mime_type))


# ---- parbot -------------------------------------------------------------------------------------------------

def fresh_database(kind: str, folder: Path) -> tuple[str, callable]:
    if kind == "sqlite":
        return f"sqlite:///{folder / f'load-{uuid.uuid4().hex[:6]}.db'}", lambda: None
    name = f"parbot_load_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", drop


def load_province(engine, officers: int) -> list[str]:
    """The 2020 sample province plus synthetic communes so that each officer has a unit of their own."""
    config = PeriodConfig(
        year=2020, criteria={"so": "2020-so.yaml", "huyen": "2020-huyen.yaml", "xa": "2020-xa.yaml"},
        deadlines=Deadlines(self_assessment_opens=NOW - timedelta(days=1),
                            self_assessment_closes=NOW + timedelta(days=10)),
        reminders=ReminderPolicy(enabled=False))
    periods.save_period(SqlUnitOfWork(engine), caller=ADMIN, config=config)
    header, rows = read_table(SAMPLES / "units-2020.csv")
    communes = [r for r in rows if r.get("block") == "xa"]
    extra = [Row(10_000 + n, communes[0].values | {"code": f"XL{n:04d}", "name": f"Xã Thử Tải {n}", "predecessors": ""})
             for n in range(max(0, officers - len(communes)))]
    units.import_units(SqlUnitOfWork(engine), caller=ADMIN, header=header, rows=rows + extra)
    return [r.get("code") for r in communes + extra][:officers]


def invite(engine, role: str, unit: str | None = None) -> str:
    code, _ = people.create_invite(SqlUnitOfWork(engine), caller=ADMIN, role=role, unit_code=unit,
                                   expires_in=timedelta(days=14), now=NOW)
    return code


async def join(server, engine, user_id: int, role: str, unit: str | None = None):
    user = server.create_user(user_id, f"Người {user_id}", language_code="vi")
    user.send_command("start", invite(engine, role, unit))
    await user.wait_for_reply(REPLY_TIMEOUT, until=lambda msgs: any(m.inline_keyboard for m in msgs)
                              or role != "officer")
    return user


@asynccontextmanager
async def province(kind: str, n_officers: int, folder: Path):  # noqa: ANN201 - an async context manager
    """A fresh database with the province loaded: (its URL, engine, the officers' units, the commune criteria)."""
    url, drop = fresh_database(kind, folder)
    engine = make_engine(url)
    try:
        upgrade(engine)
        codes = load_province(engine, n_officers)
        with SqlUnitOfWork(engine) as uow:
            criteria = uow.periods.get(2020).criteria_for("xa")
        yield url, engine, codes, criteria
    finally:
        engine.dispose()
        drop()


def officer(user, code: str, criteria, n: int, latencies: list[float]) -> TimedOfficer:  # noqa: ANN001
    """The same officer on either channel: answers yes mostly, evidence as typed references, no slips."""
    one = TimedOfficer(user, Transcript(), code, criteria, random.Random(n),
                       Habits(yes_rate=0.9, not_applicable=False, typo=False, correction=False, files=0.0))
    one.timeout, one.latencies = REPLY_TIMEOUT, latencies
    return one


async def run_parbot(kind: str, n_officers: int, actions: int, leaders: int, folder: Path) -> tuple[Run, Run | None]:
    async with province(kind, n_officers, folder) as (url, engine, codes, criteria):
        async with EmulatorServer() as server:
            settings = Settings(_env_file=None, PARBOT_DATABASE_URL=url, TELEGRAM_BOT_TOKEN=server.token,
                                TELEGRAM_API_BASE=server.base_url, PARBOT_EVIDENCE_DIR=str(folder / "evidence"))
            async with running_bot(settings, engine):
                quiet = Run(f"parbot {kind}")
                officers = [officer(await join(server, engine, 700_000_000 + n, "officer", code), code, criteria, n,
                                    quiet.latencies) for n, code in enumerate(codes)]
                # Officers answer in two halves: the first quiet, the second beside the leaders asking rankings.
                first = actions if leaders == 0 else max(1, actions // 2)
                await _answer(officers, first, quiet, opening=press_first_area)
                loud = None
                if leaders:
                    heads = [await join(server, engine, 790_000_000 + n, "province_leader") for n in range(leaders)]
                    for head in heads:  # warm-up, not measured: the chart pool's worker starts at the first chart
                        head.send_command("ranking", "xa")
                        await head.wait_for_reply(REPLY_TIMEOUT, until=lambda msgs: any(m.photo for m in msgs))
                    loud = Run(f"parbot {kind}, {leaders} leaders asking /ranking")
                    for one in officers:
                        one.latencies = loud.latencies
                    stop = asyncio.Event()

                    async def ask(user) -> None:  # noqa: ANN001
                        while not stop.is_set():
                            user.send_command("ranking", "xa")
                            await user.wait_for_reply(REPLY_TIMEOUT)
                            loud.rankings += 1

                    askers = [asyncio.create_task(ask(h)) for h in heads]
                    await _answer(officers, actions - first, loud)
                    stop.set()
                    await asyncio.gather(*askers, return_exceptions=True)
                return quiet, loud


async def press_first_area(officer: TimedOfficer) -> None:
    await officer.press(officer.buttons("ar")[0][0]["text"])


async def type_first_area(officer: TimedOfficer) -> None:
    await officer.type("1")  # on Zalo, an option is its number


async def join_zalo(server: ZaloEmulatorServer, engine, n: int, code: str,  # noqa: ANN001
                    settle=None) -> ZaloChat:  # noqa: ANN001 - ZaloHandled.settle or None
    chat = ZaloChat(server.user(f"zalo-{800_000_000 + n}", f"Người {n}"), settle)
    chat.send_text(invite(engine, "officer", code))  # a code typed by someone the bot does not know yet
    await chat.wait_for_reply(REPLY_TIMEOUT, until=lambda msgs: any(m.inline_keyboard for m in msgs))
    return chat


async def run_parbot_zalo(kind: str, n_officers: int, actions: int, folder: Path) -> Run:
    """The same officers on Zalo: the Zalo runner polls the Zalo emulator (one getUpdates at a time, one
    update per answer, as the platform does), officers type the numbers of the options they read."""
    async with province(kind, n_officers, folder) as (url, engine, codes, criteria):
        async with ZaloEmulatorServer() as server:
            settings = Settings(_env_file=None, PARBOT_DATABASE_URL=url, PARBOT_ZALO_BOT_TOKEN=server.token,
                                PARBOT_ZALO_API_BASE=server.base_url, PARBOT_EVIDENCE_DIR=str(folder / "evidence"))
            runner = ZaloRunner(Deps(settings=settings, engine=engine, store=EvidenceStore(settings.evidence_dir)))
            handled = ZaloHandled(runner.bot)
            await runner.start()
            try:
                run = Run(f"parbot zalo {kind}")
                officers = [officer(await join_zalo(server, engine, n, code, handled.settle), code, criteria, n,
                                    run.latencies) for n, code in enumerate(codes)]
                await _answer(officers, actions, run, opening=type_first_area)
                return run
            finally:
                await runner.stop()


async def _answer(officers: list[TimedOfficer], actions: int, run: Run, *,
                  opening: Callable[[TimedOfficer], Awaitable[None]] | None = None) -> None:
    """Each officer opens the first area (``opening``; None: it is open) and answers ``actions`` items."""
    async def one(officer: TimedOfficer) -> None:
        if opening is not None:
            await opening(officer)
        await officer.work(limit=actions)

    before = len(run.latencies)
    with Measure(run):
        results = await asyncio.gather(*(one(o) for o in officers), return_exceptions=True)
    run.errors += sum(isinstance(r, BaseException) for r in results)
    run.actions += len(run.latencies) - before


# ---- several webhook processes ------------------------------------------------------------------------------

PUBLIC = "https://parbot.load-benchmark.example.vn"  # the webhook's public URL, routed to the balancer
WEBHOOK_SECRET = "load-benchmark-webhook-secret"


class ChatBalancer:
    """The reverse proxy in front of the processes, with chat affinity: a chat's first delivery goes to the
    next process in turn and its later ones to the same process. It answers when the process answered,
    that is once the update is handled and its texts sent."""

    def __init__(self, ports: list[int]) -> None:
        self.ports, self.of_chat = ports, {}
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                             timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT))

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        chat = json.loads(body)["message"]["chat"]["id"]
        port = self.ports[self.of_chat.setdefault(chat, len(self.of_chat)) % len(self.ports)]
        headers = {k: v for k, v in request.headers.items() if k in (ZALO_SECRET_HEADER, "Content-Type")}
        async with self.session.post(f"http://127.0.0.1:{port}{ZALO_PATH}", data=body, headers=headers) as answer:
            await answer.read()
        return web.Response(status=answer.status)


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a running process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_webhooks(count: int, n_officers: int, actions: int, folder: Path) -> Run:
    """The Zalo officers through ``count`` real `parbot bot run --webhook` processes on one PostgreSQL, behind
    the balancer; the platform's post of each update returns once it is handled. CPU: the processes' and
    this one's (emulator, balancer, officers); SQL is counted in the processes, so not here."""
    run = Run(f"parbot zalo postgresql, {count} webhook process{'es' if count > 1 else ''}", sql_counted=False)
    async with province("postgresql", n_officers, folder) as (url, engine, codes, criteria):
        ports = [free_port() for _ in range(count)]
        balancer = ChatBalancer(ports)
        front = web.Application()
        front.router.add_post(ZALO_PATH, balancer.forward)
        proxy = web.AppRunner(front, access_log=None)
        await proxy.setup()
        await web.TCPSite(proxy, "127.0.0.1", 0).start()
        processes: list[asyncio.subprocess.Process] = []
        try:
            async with ZaloEmulatorServer(url_map={PUBLIC: f"http://127.0.0.1:{proxy.addresses[0][1]}"}) as server:
                env = {k: v for k, v in os.environ.items() if not k.endswith("TELEGRAM_BOT_TOKEN")} | {
                    "PARBOT_DATABASE_URL": url, "PARBOT_EVIDENCE_DIR": str(folder / "evidence"),
                    "PARBOT_ZALO_BOT_TOKEN": server.token, "PARBOT_ZALO_API_BASE": server.base_url,
                    "PARBOT_PUBLIC_URL": PUBLIC, "PARBOT_WEBHOOK_SECRET": WEBHOOK_SECRET}
                processes = [await bot_run_process(env, port, folder / f"webhook-{count}-{n}.log")
                             for n, port in enumerate(ports)]
                await asyncio.gather(*(healthy(port, p) for port, p in zip(ports, processes)))
                officers = [officer(await join_zalo(server, engine, n, code), code, criteria, n, run.latencies)
                            for n, code in enumerate(codes)]
                before = sum(cpu_seconds(p.pid) for p in processes)
                await _answer(officers, actions, run, opening=type_first_area)
                run.cpu += sum(cpu_seconds(p.pid) for p in processes) - before
                run.errors += sum(1 for _, _, status in server.emulator.webhook_posts if status != 200)
        finally:
            for process in processes:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                await asyncio.wait_for(process.wait(), REPLY_TIMEOUT)
            await balancer.session.close()
            await proxy.cleanup()
    return run


# ---- the echo bot -------------------------------------------------------------------------------------------

async def _echoed(users: list, actions: int, run: Run, act: Callable[..., Awaitable[None]]) -> None:
    """Each person takes ``actions`` steps (``act(user, step)``), each timed from the action to the reply."""
    async def one(user) -> None:  # noqa: ANN001 - a Telegram SimUser or a ZaloChat
        for step in range(actions):
            start = time.perf_counter()
            await act(user, step)
            run.latencies.append(time.perf_counter() - start)

    with Measure(run):
        results = await asyncio.gather(*(one(u) for u in users), return_exceptions=True)
    run.errors = sum(isinstance(r, BaseException) for r in results)
    run.actions = len(run.latencies)


async def run_echo(n_people: int, actions: int) -> Run:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(
            update.effective_message.text, reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("✅", callback_data="y")]]))

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer()
        await query.edit_message_text(f"{query.message.text} ✓")

    run = Run("echo")
    async with EmulatorServer() as server:
        app = (ApplicationBuilder().token(server.token).base_url(server.bot_base_url)
               .base_file_url(server.file_base_url).build())
        app.add_handler(MessageHandler(filters.TEXT, echo))
        app.add_handler(CallbackQueryHandler(pressed))
        await app.initialize()
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=10)
        try:
            users = [server.create_user(600_000_000 + n, f"Echo {n}") for n in range(n_people)]

            async def act(user, step: int) -> None:  # noqa: ANN001
                if step % 2 == 0:
                    user.send_text(f"{step}")
                    await user.wait_for_reply(REPLY_TIMEOUT)
                else:
                    user.press("✅")
                    await user.wait_for_reply(REPLY_TIMEOUT, until=lambda ms: ms[-1].edited)

            await _echoed(users, actions, run, act)
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
    return run


class ZaloEcho:
    """The bare baseline on Zalo: a sendMessage echoing each text (fed by an aiohttp getUpdates loop)."""

    def __init__(self, call: Callable[..., Awaitable[dict]]) -> None:
        self.call = call

    async def handle_zalo_update(self, update: dict) -> None:
        message = update["message"]
        await self.call("sendMessage", chat_id=message["chat"]["id"], text=message["text"])


async def run_zalo_echo(n_people: int, actions: int) -> Run:
    """The echo bot long-polling getUpdates (one update per call, as the platform answers), each update in its
    own task as parbot's runner does; its people wait for their answer as parbot's officers do (ZaloHandled)."""
    run = Run("echo zalo")
    async with ZaloEmulatorServer() as server, aiohttp.ClientSession() as http:
        api = f"{server.base_url}/bot{server.token}"

        async def call(method: str, **params: object) -> dict:
            async with http.post(f"{api}/{method}", json=params) as answer:
                return await answer.json()

        bot, stop, tasks = ZaloEcho(call), asyncio.Event(), set()
        handled = ZaloHandled(bot)

        async def poll() -> None:
            while not stop.is_set():
                answer = await call("getUpdates", timeout=1)
                if answer["ok"]:
                    task = asyncio.create_task(bot.handle_zalo_update(answer["result"]))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)

        poller = asyncio.create_task(poll())
        try:
            users = [ZaloChat(server.user(f"echo-{n}", f"Echo {n}"), handled.settle) for n in range(n_people)]

            async def act(user: ZaloChat, step: int) -> None:
                user.send_text(f"{step + 1}")
                await user.wait_for_reply(REPLY_TIMEOUT)

            await _echoed(users, actions, run, act)
        finally:
            stop.set()
            await poller
    return run


# ---- report -------------------------------------------------------------------------------------------------

def table(runs: list[tuple[int, Run]]) -> str:
    lines = ["| officers | bot | updates | updates/s | p50 s | p95 s | p99 s | CPU ms/update | transactions/update "
             "| statements/update | errors |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for n, r in runs:
        sql = r.label.startswith("parbot") and r.sql_counted
        per = [f"{r.per_update(k):.1f}" if sql else ("–" if r.label.startswith("parbot") else "0.0")
               for k in ("transactions", "statements")]
        lines.append(f"| {n} | {r.label} | {r.actions} | {r.rate:.1f} | {r.pct(0.5):.3f} | {r.pct(0.95):.3f} | "
                     f"{r.pct(0.99):.3f} | {1000 * r.cpu / max(1, r.actions):.1f} | {per[0]} | {per[1]} | {r.errors} |")
    return "\n".join(lines)


NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def ratio_line(ratios: dict[str, float], channel: str = "telegram") -> str:
    where = "" if channel == "telegram" else " on Zalo"
    return f"parbot/echo throughput ratio{where}: " + ", ".join(f"{v:.2f} ({NAMES[k]})" for k, v in ratios.items())


def webhook_line(ratios: dict[int, float]) -> str:
    return "webhook processes/one polling process throughput ratio (Zalo, PostgreSQL): " + ", ".join(
        f"{v:.2f} ({n} process{'es' if n > 1 else ''})" for n, v in ratios.items())


def rankings_line(runs: list[tuple[int, Run]]) -> str:
    """How much charting the slow neighbours did: a row's p95 means little if they got few answers."""
    loud = [r for _n, r in runs if r.rankings]
    return ("\n/ranking answered meanwhile (each a ranking of every commune, drawn when the results changed): "
            + ", ".join(f"{r.rankings} ({r.label})" for r in loud) + "\n") if loud else ""


async def main_async(args: argparse.Namespace) -> tuple[str, list[tuple[int, Run]], dict[str, dict]]:
    """Per size: each channel's echo bot, then parbot on each database; then the webhook processes (Zalo on
    PostgreSQL), compared with the Zalo run polling on PostgreSQL. Ratios at the first size."""
    sqlstats.enable()
    runs: list[tuple[int, Run]] = []
    ratios: dict[str, dict] = {channel: {} for channel in args.channels} | ({"webhooks": {}} if args.webhooks else {})
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.officers:
            first = n == args.officers[0]
            polling: Run | None = None
            for channel in args.channels:
                echo = await (run_echo(n, args.actions) if channel == "telegram" else run_zalo_echo(n, args.actions))
                runs.append((n, echo))
                for kind in args.db:
                    if channel == "telegram":
                        quiet, loud = await run_parbot(kind, n, args.actions, args.leaders if first else 0, Path(tmp))
                    else:
                        quiet, loud = await run_parbot_zalo(kind, n, args.actions, Path(tmp)), None
                        polling = quiet if kind == "postgresql" else polling
                    runs += [(n, quiet)] + ([(n, loud)] if loud else [])
                    if first:
                        ratios[channel][kind] = quiet.rate / echo.rate if echo.rate else 0.0
            for count in args.webhooks:
                hooked = await run_webhooks(count, n, args.actions, Path(tmp))
                runs.append((n, hooked))
                if first and polling is not None:
                    ratios["webhooks"][count] = hooked.rate / polling.rate if polling.rate else 0.0
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())  # other work on the machine stretches wall times
    lines = [ratio_line(ratios[c], c) for c in args.channels if ratios.get(c)]
    if ratios.get("webhooks"):
        lines.append(webhook_line(ratios["webhooks"]))
    body = (f"Command: `python benchmarks/load.py {' '.join(sys.argv[1:])}` (Python {platform.python_version()}, "
            f"{os.cpu_count()} cores shared with other work, load average at the end {load}).\n\n{table(runs)}\n\n"
            + "\n".join(f"{line} (at {args.officers[0]} officers)" for line in lines) + "\n" + rankings_line(runs))
    return body, runs, ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, nargs="+", default=[100])
    parser.add_argument("--db", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    parser.add_argument("--actions", type=int, default=6, help="items each officer answers")
    parser.add_argument("--leaders", type=int, default=10, help="slow neighbours at the first size (0: none)")
    parser.add_argument("--channels", nargs="+", choices=("telegram", "zalo"), default=["telegram"],
                        help="through the Telegram emulator, the Zalo emulator, or both (each beside its echo bot)")
    parser.add_argument("--webhooks", type=int, nargs="*", default=[],
                        help="also the Zalo officers through this many `parbot bot run --webhook` processes on "
                             "PostgreSQL (e.g. 1 3), compared with one process polling (needs --channels zalo)")
    parser.add_argument("--write", type=Path, help="replace the 'Load' section of this Markdown file")
    parser.add_argument("--title", default="Load (conversation engine)")
    parser.add_argument("--py-spy", type=Path, help="folder for py-spy's raw samples of each measured parbot phase")
    args = parser.parse_args()
    Measure.profile = args.py_spy
    body, _, _ = asyncio.run(main_async(args))
    print(body)
    if args.write:
        write_section(args.write, args.title, body)


if __name__ == "__main__":
    main()
