"""Two `parbot bot run` on one database: the second refuses to poll with a clear message (issue 14), on
SQLite and on PostgreSQL, so Telegram never answers either of them 409 Conflict."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from parbot.storage.db import make_engine, upgrade

ROOT = Path(__file__).resolve().parents[2]
CEILING = 120  # bounds a hang only; the waits end on the event


def command_env(database_url: str, server, tmp_path: Path) -> dict[str, str]:
    return os.environ | {"PARBOT_DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": server.token,
                         "TELEGRAM_API_BASE": server.base_url, "PARBOT_EVIDENCE_DIR": str(tmp_path / "evidence"),
                         "PARBOT_LANGUAGE": "vi"}


async def test_a_second_poller_on_the_same_database_refuses_to_start(database_url, emulator_server, tmp_path):
    engine = make_engine(database_url)
    upgrade(engine)  # both processes then start on an up-to-date schema
    engine.dispose()
    env = command_env(database_url, emulator_server, tmp_path)
    first = subprocess.Popen([sys.executable, "-m", "parbot.cli.main", "bot", "run"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with asyncio.timeout(CEILING):
            while emulator_server.emulator.method_calls["getUpdates"] == 0:
                assert first.poll() is None, "the first bot stopped"
                await asyncio.sleep(0.05)
        second = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "parbot.cli.main", "bot", "run"],
                                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=CEILING)
        assert first.poll() is None
    finally:
        first.terminate()
        first.wait(15)
    assert second.returncode == 1
    assert "một tiến trình parbot khác đang nhận tin nhắn từ Telegram" in second.stderr
    assert "Traceback" not in second.stderr
    assert emulator_server.emulator.conflicts == 0
