"""`parbot bot run` as a real process: killed with SIGKILL mid-conversation, restarted, nothing lost."""
from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest
from e2e_support import invite
from helpers import screen
from sqlmodel import Session, select

from parbot.core.services.assessment import period_tag
from parbot.storage.tables import AnswerRow
from parbot.storage.uow import SqlUnitOfWork

pytestmark = pytest.mark.e2e


async def start_process(settings) -> asyncio.subprocess.Process:
    env = os.environ | {"PARBOT_DATABASE_URL": settings.database_url,
                        "TELEGRAM_BOT_TOKEN": settings.telegram_token.get_secret_value(),
                        "TELEGRAM_API_BASE": settings.telegram_api_base,
                        "PARBOT_EVIDENCE_DIR": str(settings.evidence_dir)}
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "parbot.cli.main", "bot", "run", env=env,
                                                stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)


async def test_killed_process_restarts_where_the_officer_was(settings, engine, emulator_server):
    process = await start_process(settings)
    try:
        officer = emulator_server.create_user(7301, "Lan")
        officer.send_command("start", invite(engine, "officer", "SNV"))
        await officer.wait_for_reply(timeout=20, until=lambda msgs: any(m.inline_keyboard for m in msgs))
        with SqlUnitOfWork(engine) as uow:
            current = uow.periods.current()
        slot = current.criteria_for("so").items["1.1.4"].position
        officer.forge_callback(f"{period_tag(current)}:i:SNV:{slot}")
        await officer.wait_for_reply()
        officer.send_text("9")  # the numerator; the denominator is still to come
        await officer.wait_for_reply()
        process.send_signal(signal.SIGKILL)
        await process.wait()

        process = await start_process(settings)
        officer.send_text("10")
        await officer.wait_for_reply(timeout=20)
        with Session(engine) as session:
            saved = session.exec(select(AnswerRow).where(AnswerRow.item_code == "1.1.4")).one()
        assert saved.value == {"numerator": "9", "denominator": "10"}
        assert "1.1.4. " in screen(officer).text  # evidence is asked for the item just answered

        process.send_signal(signal.SIGTERM)  # graceful stop
        assert await asyncio.wait_for(process.wait(), 15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
