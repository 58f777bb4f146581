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
            while True:
                await sender.drain()
                if sender.stats.sent + sender.stats.failed + sender.stats.unreachable >= queued:
                    break
                await asyncio.sleep(0.05)
            elapsed = time.monotonic() - started
        emulated = stats(base)
    finally:
        emulator.kill()
        emulator.wait()
    s = sender.stats
    return {"officers": officers, "queued": queued, "sent": s.sent, "seconds": elapsed, "rate": s.sent / elapsed,
            "configured": rate, "refused": (emulated["rate_limit"] or {}).get("refused", 0),
            "delivered": sum(emulated["bot_sent"].values()), "claim": s.claim_seconds, "record": s.record_seconds,
            "pacing": s.pacing_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limited", type=int, default=2000)
    parser.add_argument("--lifted", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=25.0, help="the sender's configured global rate")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
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
