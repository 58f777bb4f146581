"""Load: simulated officers answering items through the emulator, beside a bare python-telegram-bot echo bot.

    python benchmarks/load.py --officers 100 500 1000 --db sqlite postgresql --write docs/benchmarks.md

Every officer joins by invitation (set-up, not measured), opens an area and answers ``--actions`` items, each
action waiting for the bot's reply (closed loop: all officers at once saturate the bot). The echo bot gets the
same number of people and actions (alternately a text it echoes with a button, and a press it answers and edits).
The slow-neighbour case repeats the parbot run while ``--leaders`` province leaders ask ``/ranking xa``.
CPU is this process's (bot, emulator and driver together: the same for both bots, so the ratio is fair).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update  # noqa: E402
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters  # noqa: E402

from benchmarks._report import write_section  # noqa: E402
from parbot.core.period import Deadlines, PeriodConfig, ReminderPolicy  # noqa: E402
from parbot.core.permissions import Caller  # noqa: E402
from parbot.core.services import people, periods, units  # noqa: E402
from parbot.core.services.tabular import Row  # noqa: E402
from parbot.sandbox.emulator import EmulatorServer  # noqa: E402
from parbot.sandbox.officers import Habits, Officer, Transcript  # noqa: E402
from parbot.sandbox.runtime import running_bot  # noqa: E402
from parbot.settings import Settings  # noqa: E402
from parbot.storage import sqlstats  # noqa: E402
from parbot.storage.db import make_engine, upgrade  # noqa: E402
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


async def run_parbot(kind: str, n_officers: int, actions: int, leaders: int, folder: Path) -> tuple[Run, Run | None]:
    url, drop = fresh_database(kind, folder)
    engine = make_engine(url)
    try:
        upgrade(engine)
        codes = load_province(engine, n_officers)
        with SqlUnitOfWork(engine) as uow:
            criteria = uow.periods.get(2020).criteria_for("xa")
        async with EmulatorServer() as server:
            settings = Settings(_env_file=None, PARBOT_DATABASE_URL=url, TELEGRAM_BOT_TOKEN=server.token,
                                TELEGRAM_API_BASE=server.base_url, PARBOT_EVIDENCE_DIR=str(folder / "evidence"))
            async with running_bot(settings, engine):
                quiet = Run(f"parbot {kind}")
                officers = []
                for n, code in enumerate(codes):
                    user = await join(server, engine, 700_000_000 + n, "officer", code)
                    rng = random.Random(n)
                    officer = TimedOfficer(user, Transcript(), code, criteria, rng,
                                           Habits(yes_rate=0.9, not_applicable=False, typo=False,
                                                  correction=False, files=0.0))
                    officer.timeout, officer.latencies = REPLY_TIMEOUT, quiet.latencies
                    officers.append(officer)
                # Officers answer in two halves: the first quiet, the second beside the leaders asking rankings.
                first = actions if leaders == 0 else max(1, actions // 2)
                await _answer(officers, first, quiet)
                loud = None
                if leaders:
                    heads = [await join(server, engine, 790_000_000 + n, "province_leader") for n in range(leaders)]
                    for head in heads:  # warm-up, not measured: the chart pool's worker starts at the first chart
                        head.send_command("ranking", "xa")
                        await head.wait_for_reply(REPLY_TIMEOUT, until=lambda msgs: any(m.photo for m in msgs))
                    loud = Run(f"parbot {kind}, {leaders} leaders asking /ranking")
                    for officer in officers:
                        officer.latencies = loud.latencies
                    stop = asyncio.Event()

                    async def ask(user) -> None:  # noqa: ANN001
                        while not stop.is_set():
                            user.send_command("ranking", "xa")
                            await user.wait_for_reply(REPLY_TIMEOUT)
                            loud.rankings += 1

                    askers = [asyncio.create_task(ask(h)) for h in heads]
                    await _answer(officers, actions - first, loud, resume=True)
                    stop.set()
                    await asyncio.gather(*askers, return_exceptions=True)
                return quiet, loud
    finally:
        engine.dispose()
        drop()


async def _answer(officers: list[TimedOfficer], actions: int, run: Run, *, resume: bool = False) -> None:
    async def one(officer: TimedOfficer) -> None:
        if not resume:
            await officer.press(officer.buttons("ar")[0][0]["text"])
        await officer.work(limit=actions)

    before = len(run.latencies)
    with Measure(run):
        results = await asyncio.gather(*(one(o) for o in officers), return_exceptions=True)
    run.errors += sum(isinstance(r, BaseException) for r in results)
    run.actions += len(run.latencies) - before


# ---- the echo bot -------------------------------------------------------------------------------------------

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

            async def one(user) -> None:  # noqa: ANN001
                for step in range(actions):
                    start = time.perf_counter()
                    if step % 2 == 0:
                        user.send_text(f"{step}")
                        await user.wait_for_reply(REPLY_TIMEOUT)
                    else:
                        user.press("✅")
                        await user.wait_for_reply(REPLY_TIMEOUT, until=lambda ms: ms[-1].edited)
                    run.latencies.append(time.perf_counter() - start)

            with Measure(run):
                results = await asyncio.gather(*(one(u) for u in users), return_exceptions=True)
            run.errors = sum(isinstance(r, BaseException) for r in results)
            run.actions = len(run.latencies)
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
    return run


# ---- report -------------------------------------------------------------------------------------------------

def table(runs: list[tuple[int, Run]]) -> str:
    lines = ["| officers | bot | updates | updates/s | p50 s | p95 s | p99 s | CPU ms/update | transactions/update "
             "| statements/update | errors |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for n, r in runs:
        sql = r.label.startswith("parbot")
        lines.append(f"| {n} | {r.label} | {r.actions} | {r.rate:.1f} | {r.pct(0.5):.3f} | {r.pct(0.95):.3f} | "
                     f"{r.pct(0.99):.3f} | {1000 * r.cpu / max(1, r.actions):.1f} | "
                     f"{r.per_update('transactions') if sql else 0:.1f} | {r.per_update('statements') if sql else 0:.1f}"
                     f" | {r.errors} |")
    return "\n".join(lines)


def ratio_line(ratios: dict[str, float]) -> str:
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    return "parbot/echo throughput ratio: " + ", ".join(f"{v:.2f} ({names[k]})" for k, v in ratios.items())


def rankings_line(runs: list[tuple[int, Run]]) -> str:
    """How much charting the slow neighbours did: a row's p95 means little if they got few answers."""
    loud = [r for _n, r in runs if r.rankings]
    return ("\n/ranking answered meanwhile (each a ranking of every commune, drawn when the results changed): "
            + ", ".join(f"{r.rankings} ({r.label})" for r in loud) + "\n") if loud else ""


async def main_async(args: argparse.Namespace) -> tuple[str, list[tuple[int, Run]], dict[str, float]]:
    sqlstats.enable()
    runs: list[tuple[int, Run]] = []
    ratios: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.officers:
            echo = await run_echo(n, args.actions)
            runs.append((n, echo))
            for kind in args.db:
                quiet, loud = await run_parbot(kind, n, args.actions, args.leaders if n == args.officers[0] else 0,
                                               Path(tmp))
                runs.append((n, quiet))
                if loud:
                    runs.append((n, loud))
                if n == args.officers[0]:
                    ratios[kind] = quiet.rate / echo.rate if echo.rate else 0.0
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())  # other work on the machine stretches wall times
    body = (f"Command: `python benchmarks/load.py {' '.join(sys.argv[1:])}` (Python {platform.python_version()}, "
            f"{os.cpu_count()} cores shared with other work, load average at the end {load}).\n\n{table(runs)}\n\n"
            f"{ratio_line(ratios)} "
            f"(at {args.officers[0]} officers)\n{rankings_line(runs)}")
    return body, runs, ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, nargs="+", default=[100])
    parser.add_argument("--db", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    parser.add_argument("--actions", type=int, default=6, help="items each officer answers")
    parser.add_argument("--leaders", type=int, default=10, help="slow neighbours at the first size (0: none)")
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
