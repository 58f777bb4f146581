"""`parbot bot run` when the Bot API cannot be reached at start (Telegram blocked, proxy or server down):
it retries with backoff instead of exiting, takes updates once the API comes up, and Ctrl-C stops it."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import pytest
from e2e_support import invite

from parbot.sandbox.emulator import EmulatorServer

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def start_process(settings, api: str) -> asyncio.subprocess.Process:
    env = os.environ | {"PARBOT_DATABASE_URL": settings.database_url,
                        "TELEGRAM_BOT_TOKEN": settings.telegram_token.get_secret_value(),
                        "PARBOT_TELEGRAM_API_BASE": api, "PARBOT_EVIDENCE_DIR": str(settings.evidence_dir)}
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "parbot.cli.main", "bot", "run", env=env,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)


async def read_until(process: asyncio.subprocess.Process, needle: str, seen: list[str]) -> None:
    while True:
        line = (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
        assert line, f"the process ended before logging {needle!r}: {''.join(seen)}"
        seen.append(line)
        if needle in line:
            return


async def stop(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGINT)
    _, code = await asyncio.wait_for(asyncio.gather(process.stderr.read(), process.wait()), 30)
    return code


async def test_start_waits_for_the_api_then_serves(settings, engine):
    port = free_port()  # nothing listens there yet
    process = await start_process(settings, f"http://127.0.0.1:{port}")
    try:
        seen: list[str] = []
        await read_until(process, "unreachable", seen)
        await read_until(process, "unreachable", seen)  # retried, not given up
        assert process.returncode is None
        retries = [line for line in seen if "unreachable" in line]
        assert "retrying in 1 s" in retries[0] and "retrying in 2 s" in retries[1]  # backing off
        assert settings.telegram_token.get_secret_value() not in "".join(seen)
        rest = asyncio.create_task(process.stderr.read())  # keeps the pipe from filling up and blocking it
        async with EmulatorServer(port=port, token=settings.telegram_token.get_secret_value()) as server:
            officer = server.create_user(7501, "Hoa")
            officer.send_command("start", invite(engine, "officer", "SNV"))
            await officer.wait_for_reply(timeout=60)
            process.send_signal(signal.SIGINT)
            assert await asyncio.wait_for(process.wait(), 30) == 0
        await rest
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_ctrl_c_stops_the_retries(settings):
    process = await start_process(settings, f"http://127.0.0.1:{free_port()}")
    try:
        await read_until(process, "unreachable", [])
        assert await stop(process) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_a_second_bot_on_the_same_sqlite_file_is_refused_in_vietnamese(settings, engine, emulator_server):
    from parbot.storage.process_locks import SenderLock

    held = SenderLock(engine)
    held.acquire_sqlite()  # as a first `parbot bot run` holds it
    try:
        process = await start_process(settings, emulator_server.base_url)
        output = (await asyncio.wait_for(process.stderr.read(), 60)).decode()
        assert await asyncio.wait_for(process.wait(), 30) == 1
    finally:
        held.release()
    assert "Một tiến trình parbot khác đang chạy" in output and "Traceback" not in output
