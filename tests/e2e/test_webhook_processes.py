"""Several webhook processes on one PostgreSQL behind one URL: one chat's updates are never handled by two
processes at once, and an update that reaches all of them (re-sent behind the balancer) is applied once."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest
import sqlalchemy as sa
from e2e_support import invite, load_province
from emulator_fixtures import make_bot
from pydantic import SecretStr

from parbot.bot.app import serve
from parbot.bot.webhook import TELEGRAM_SECRET_HEADER, ChatLocks
from parbot.settings import Settings
from parbot.storage.db import make_engine, upgrade

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
SECRET = "webhook-secret-of-the-test"


@pytest.fixture
def pg_engine(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


async def waiting_locks(engine, count: int) -> None:
    """Until ``count`` advisory locks are being waited for on the server (a ceiling, not a timing)."""
    async with asyncio.timeout(30):
        while True:
            with engine.connect() as connection:
                waiting = connection.execute(sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar_one()
            if waiting == count:
                return
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_chat_is_handled_by_one_process_at_a_time(pg_engine):
    first, second = ChatLocks(pg_engine), ChatLocks(pg_engine)  # as two processes hold them
    entered = asyncio.Event()

    async def second_process() -> None:
        async with second.hold(("chat", 1)):
            entered.set()

    try:
        async with first.hold(("chat", 1)):
            task = asyncio.create_task(second_process())
            await waiting_locks(pg_engine, 1)
            assert not entered.is_set()
            async with second.hold(("chat", 2)):  # another chat is not held up
                pass
        await asyncio.wait_for(task, 30)
        assert entered.is_set()
    finally:
        first.close()
        second.close()


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
