"""An officer's action survives a kill -9 between the polling offset's confirmation and its handling
(issue 14): the update was stored in the inbox when fetched, and the restarted bot handles it."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from e2e_support import invite
from sqlmodel import Session, select

from parbot.storage.tables import InboxRow, PersonRow

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
CEILING = 120  # bounds a hang only; every wait ends on its event


async def start_process(settings) -> asyncio.subprocess.Process:
    env = os.environ | {"PARBOT_DATABASE_URL": settings.database_url,
                        "TELEGRAM_BOT_TOKEN": settings.telegram_token.get_secret_value(),
                        "TELEGRAM_API_BASE": settings.telegram_api_base,
                        "PARBOT_EVIDENCE_DIR": str(settings.evidence_dir)}
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "parbot.cli.main", "bot", "run", env=env,
                                                cwd=ROOT, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)


async def until(predicate, what: str) -> None:
    async with asyncio.timeout(CEILING):
        while not predicate():
            await asyncio.sleep(0.05)


async def test_killed_after_the_offset_was_confirmed_the_action_is_still_handled(settings, engine, emulator_server):
    emulator = emulator_server.emulator
    process = await start_process(settings)
    try:
        await until(lambda: emulator.method_calls["getUpdates"] > 0, "the bot to poll")
        hold = emulator.hold("sendMessage")  # the reply waits: the process dies while handling
        officer = emulator_server.create_user(7401, "Lan")
        officer.send_command("start", invite(engine, "officer", "SNV"))
        update_id = emulator._next_update_id - 1
        async with asyncio.timeout(CEILING):
            await hold.held.wait()
        # handling (its reply held) after the next getUpdates confirmed the update: the window of the bug
        await until(lambda: emulator.confirmed_offset > update_id, "the update to be confirmed while it is handled")
        process.send_signal(signal.SIGKILL)
        await process.wait()
        hold.release()

        process = await start_process(settings)
        replies = await officer.wait_for_reply(timeout=CEILING)
        assert replies, "the officer's /start was lost"
        with Session(engine) as session:
            assert len(session.exec(select(PersonRow).where(PersonRow.telegram_id == 7401)).all()) == 1

        def all_handled() -> bool:
            with Session(engine) as session:
                rows = session.exec(select(InboxRow)).all()
            return bool(rows) and all(r.handled_at is not None for r in rows)

        await until(all_handled, "the replayed update to be marked handled")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
