"""A reminder wave through the Bot API emulator (run in its own process, so it does not share our CPU).

1. ``--limited`` officers (default 2,000) with the emulator enforcing Telegram's limits (30 msg/s overall,
   1 msg/s per chat) and the sender configured at 25 msg/s: the achieved rate against the configured one.
2. ``--lifted`` officers (default 10,000) with no limits anywhere: the sender's own ceiling, including the
   database work (claiming, rendering each reminder from the unit's answers, recording outcomes).

    python benchmarks/reminders.py --write docs/benchmarks.md
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import sqlalchemy as sa  # noqa: E402

from benchmarks._report import write_section  # noqa: E402

EMULATOR = """
import asyncio, sys
from aiohttp import web
from parbot.sandbox.emulator import Emulator, RateLimits, User
from parbot.sandbox.emulator.server import create_app
first, count, limited = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
emulator = Emulator(rate_limits=RateLimits(per_chat_burst=1) if limited else None)
for uid in range(first, first + count):
    emulator.add_user(User(uid, f"U{uid}", started=True))
async def main():
    runner = web.AppRunner(create_app(emulator), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


async def drain_all(sender, expected: int, started: float) -> float:  # noqa: ANN001 - a Sender
    """Drain until ``expected`` rows have an outcome (rows waiting on a chat's pace are left by one drain);
    the seconds from ``started`` to the last outcome written."""
    s = sender.stats
    while True:
        await sender.drain()
        if s.sent + s.failed + s.unreachable >= expected:
            return time.monotonic() - started
        await asyncio.sleep(0.05)


def stats(base: str) -> dict:
    with urllib.request.urlopen(f"{base}/_sim/stats") as response:
        return json.load(response)["result"]


async def wave(officers: int, limited: bool, rate: float, workdir: Path) -> dict:
    from reminder_fixtures import VN, make_province
    from telegram import Bot
    from telegram.request import HTTPXRequest

    from parbot.bot.outbox_kinds import RENDERERS
    from parbot.bot.sender import Sender
    from parbot.core.services.notifications import queue_due_notifications
    from parbot.sandbox.emulator import DEFAULT_TOKEN
    from parbot.storage.db import make_engine, upgrade
    from parbot.storage.uow import SqlUnitOfWork

    url = f"sqlite:///{workdir / f'wave-{officers}.db'}"
    engine = make_engine(url)
    upgrade(engine)
    uow = SqlUnitOfWork(engine)
    base_id = 10_000
    make_province(uow, units=officers // 2, officers_per_unit=2, leaders=False, admins=0, telegram_base=base_id)
    at = datetime(2025, 12, 24, 8, 0, 30, tzinfo=VN)
    queued = queue_due_notifications(uow, at).queued
    emulator = subprocess.Popen([sys.executable, "-c", EMULATOR, str(base_id + 1), str(officers), "1" if limited else "0"],
                                cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        port = int(emulator.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        request = HTTPXRequest(connection_pool_size=128)
        async with Bot(DEFAULT_TOKEN, base_url=f"{base}/bot", request=request) as bot:
            started = time.monotonic()
            sender = Sender(engine, bot, renderers=RENDERERS, rate_global=rate, rate_per_chat=1.0,
                            now=lambda: at + timedelta(seconds=time.monotonic() - started))
            elapsed = await drain_all(sender, queued, started)
        emulated = stats(base)
    finally:
        emulator.kill()
        emulator.wait()
    s = sender.stats
    return {"officers": officers, "queued": queued, "sent": s.sent, "seconds": elapsed, "rate": s.sent / elapsed,
            "configured": rate, "refused": (emulated["rate_limit"] or {}).get("refused", 0),
            "delivered": sum(emulated["bot_sent"].values()), "claim": s.claim_seconds, "record": s.record_seconds,
            "pacing": s.pacing_seconds}


def zalo_officers(uow, count: int) -> list[str]:  # noqa: ANN001 - a unit of work
    """``count`` officers who joined on Zalo (no Telegram account), two to a commune Z0000…; their Zalo ids."""
    from parbot.core.model import Unit
    from parbot.core.permissions import Grant, Role

    ids = []
    with uow:
        for n in range(count):
            code = f"Z{n // 2:04d}"
            if n % 2 == 0:
                uow.units.upsert(Unit(code, f"Xã Zalo {n // 2}", "xa"))
            person = uow.people.create(f"Cán bộ Zalo {n}", "vi")
            uow.roles.add(person.id, Grant(Role.OFFICER, code))
            ids.append(f"zalo-{n}")
            uow.channel_accounts.link(person.id, "zalo", ids[-1], ids[-1], person.name)
        uow.commit()
    return ids


async def channel_wave(telegram: int, zalo: int, db: str, workdir: Path) -> list[dict]:
    """One sweep over ``telegram`` officers on Telegram and ``zalo`` on Zalo, then each channel's sender at
    its configured rates (the settings' defaults unless PARBOT_SEND_RATE_GLOBAL / PARBOT_ZALO_SEND_RATE_GLOBAL
    say otherwise), both at once as `parbot bot run` sends them; Telegram's limits enforced by its emulator
    (own process), Zalo's emulator (no published limits) in this one. Per channel: time to the last outcome,
    the rate against the configured one, and what each recipient received."""
    from benchmarks.load import fresh_database
    from reminder_fixtures import VN, make_province
    from telegram import Bot
    from telegram.request import HTTPXRequest

    from parbot.bot.outbox_kinds import RENDERERS
    from parbot.bot.sender import channel_senders
    from parbot.bot.zalo.client import ZaloClient
    from parbot.core.services.notifications import queue_due_notifications
    from parbot.sandbox.emulator import DEFAULT_TOKEN
    from parbot.sandbox.zalo_emulator import ZaloEmulatorServer
    from parbot.settings import Settings
    from parbot.storage.db import make_engine, upgrade
    from parbot.storage.uow import SqlUnitOfWork

    url, drop = fresh_database(db, workdir)
    engine = make_engine(url)
    emulator = None
    try:
        upgrade(engine)
        base_id = 10_000
        make_province(SqlUnitOfWork(engine), units=telegram // 2, officers_per_unit=2, leaders=False, admins=0,
                      telegram_base=base_id)
        zalo_ids = zalo_officers(SqlUnitOfWork(engine), zalo)
        at = datetime(2025, 12, 24, 8, 0, 30, tzinfo=VN)
        swept = time.monotonic()
        queued = queue_due_notifications(SqlUnitOfWork(engine), at).queued
        sweep_seconds = time.monotonic() - swept
        with SqlUnitOfWork(engine) as uow:
            per_channel = {c: uow.session.execute(sa.text(
                "SELECT count(*) FROM outbox WHERE channel = :c"), {"c": c}).scalar_one() for c in ("telegram", "zalo")}
        assert sum(per_channel.values()) == queued, (per_channel, queued)
        emulator = subprocess.Popen([sys.executable, "-c", EMULATOR, str(base_id + 1), str(telegram), "1"], cwd=ROOT,
                                    stdout=subprocess.PIPE, text=True)
        base = f"http://127.0.0.1:{int(emulator.stdout.readline())}"
        settings = Settings(_env_file=None, PARBOT_DATABASE_URL=url)
        async with ZaloEmulatorServer() as server, Bot(DEFAULT_TOKEN, base_url=f"{base}/bot",
                                                       request=HTTPXRequest(connection_pool_size=128)) as bot:
            for account in zalo_ids:
                server.emulator.add_user(account, account)
            client = ZaloClient(server.token, api_base=server.base_url)
            started = time.monotonic()
            senders = channel_senders(engine, settings, bot, client, renderers=RENDERERS,
                                      now=lambda: at + timedelta(seconds=time.monotonic() - started))
            try:
                seconds = await asyncio.gather(*(drain_all(s, per_channel[s.channel], started) for s in senders))
            finally:
                await client.close()
            zalo_got = [sum(1 for m in server.emulator.users[a].received if m.text.startswith(("⏰", "❗")))
                        for a in zalo_ids]
            zalo_messages = sum(len(server.emulator.users[a].received) for a in zalo_ids)
        telegram_got = list(stats(base)["bot_sent"].values())
        refused = (stats(base)["rate_limit"] or {}).get("refused", 0)
    finally:
        if emulator is not None:
            emulator.kill()
            emulator.wait()
        engine.dispose()
        drop()
    got = {"telegram": telegram_got + [0] * (telegram - len(telegram_got)), "zalo": zalo_got}
    out = []
    for sender, elapsed in zip(senders, seconds):
        channel, rate = sender.channel, sender.rate_global
        counts = got[channel]
        out.append({"channel": channel, "officers": len(counts), "queued": per_channel[channel],
                    "sent": sender.stats.sent, "failed": sender.stats.failed + sender.stats.unreachable,
                    "seconds": elapsed, "rate": sender.stats.sent / elapsed, "configured": rate,
                    "ideal": per_channel[channel] / rate, "duplicates": sum(max(0, c - 1) for c in counts),
                    "missed": sum(1 for c in counts if c == 0), "refused": refused if channel == "telegram" else 0,
                    "messages": sum(counts) if channel == "telegram" else zalo_messages, "sweep": sweep_seconds})
    return out


def channel_table(rows: list[dict]) -> str:
    lines = ["| channel | officers | reminders queued | sent | seconds to the last | ideal seconds (N / rate) "
             "| achieved msg/s | configured msg/s | ideal/achieved time | messages delivered | duplicates | missed | 429s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['channel']} | {r['officers']:,} | {r['queued']:,} | {r['sent']:,} | {r['seconds']:.1f} | "
                     f"{r['ideal']:.1f} | {r['rate']:.2f} | {r['configured']:g} | {r['ideal'] / r['seconds']:.3f} | "
                     f"{r['messages']:,} | {r['duplicates']} | {r['missed']} | {r['refused']} |")
    return "\n".join(lines)


def waves_line(rows: list[dict]) -> str:
    return "reminder wave ideal/achieved time ratio: " + ", ".join(
        f"{r['ideal'] / r['seconds']:.3f} ({r['channel'].capitalize()})" for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limited", type=int, default=2000)
    parser.add_argument("--lifted", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=25.0, help="the sender's configured global rate")
    parser.add_argument("--write", type=Path)
    parser.add_argument("--per-channel", type=int, nargs=2, metavar=("TELEGRAM", "ZALO"),
                        help="instead: the wave per channel, this many officers on each (e.g. 500 500)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite", help="for --per-channel")
    args = parser.parse_args()
    if args.per_channel:
        with tempfile.TemporaryDirectory() as tmp:
            rows = asyncio.run(channel_wave(*args.per_channel, args.db, Path(tmp)))
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"Command: `python benchmarks/reminders.py {' '.join(sys.argv[1:])}` (Python "
              f"{platform.python_version()}, {args.db}, load average at the end {load}); one sweep queued "
              f"{sum(r['queued'] for r in rows):,} reminders in {rows[0]['sweep']:.1f} s.\n\n{channel_table(rows)}"
              f"\n\n{waves_line(rows)}\n")
        return
    with tempfile.TemporaryDirectory() as tmp:
        limited = asyncio.run(wave(args.limited, True, args.rate, Path(tmp)))
        print(limited, flush=True)
        lifted = asyncio.run(wave(args.lifted, False, 1_000_000, Path(tmp)))
        print(lifted, flush=True)
    deviation = (limited["rate"] - args.rate) / args.rate * 100
    body = f"""
Command: `python benchmarks/reminders.py --limited {args.limited} --lifted {args.lifted} --write docs/benchmarks.md`
(Python {platform.python_version()}, {platform.machine()}, SQLite file database, the emulator in its own process).
Each officer gets one reminder, rendered at send time from the unit's answers (27 items).

| wave | limits | sent | seconds | achieved msg/s | configured | 429s |
|---|---|---|---|---|---|---|
| {limited['officers']:,} officers | Telegram's (30/s overall, 1/s per chat) | {limited['sent']:,} | {limited['seconds']:.1f} | {limited['rate']:.2f} | {args.rate:g} | {limited['refused']} |
| {lifted['officers']:,} officers | lifted | {lifted['sent']:,} | {lifted['seconds']:.1f} | {lifted['rate']:.0f} | unlimited | {lifted['refused']} |

With the limits on, the achieved rate is {deviation:+.2f}% off the configured one (time from the first claim
to the last outcome written, so it includes the start and the tail).

Where the lifted wave's time goes: claiming and rendering (database, in a worker thread)
{lifted['claim']:.1f} s and recording outcomes {lifted['record']:.1f} s, that is
{lifted['sent'] / (lifted['claim'] + lifted['record']):.0f} msg/s for the database work alone; the rest is
python-telegram-bot's request handling and the emulator answering on the same two cores, overlapping with
the database work (the next batch is claimed while one is sent; outcomes are written as they come).
Every recipient got exactly one message (emulator counts {limited['delivered']:,} and {lifted['delivered']:,}).
"""
    print(body)
    if args.write:
        write_section(args.write, "Reminders and the outbox", body)


if __name__ == "__main__":
    main()
