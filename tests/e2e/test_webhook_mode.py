"""Webhook mode: the real bot behind one aiohttp server (POST /telegram and /zalo, /healthz, /metrics, the
signed-link pages), fed with updates the emulator produced, as Telegram would post them."""
from __future__ import annotations

import asyncio
import errno
import logging
import socket
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from e2e_support import invite
from pydantic import SecretStr
from sqlmodel import Session, select
from emulator_fixtures import make_bot
from typer.testing import CliRunner

from parbot.bot.app import serve
from parbot.bot.deps import Deps
from parbot.bot.webhook import TELEGRAM_SECRET_HEADER, ZALO_SECRET_HEADER, ListenFailed, WebhookServer
from parbot.cli.main import app as cli
from parbot.i18n import has, render
from parbot.storage.evidence_store import EvidenceStore
from parbot.storage.tables import OutboxRow, PersonRow
from parbot.storage.uow import SqlUnitOfWork

pytestmark = pytest.mark.e2e
SECRET = "webhook-secret-of-the-test"


class Running:
    def __init__(self, session: aiohttp.ClientSession, zalo_calls: list[dict]) -> None:
        self.session, self.zalo_calls = session, zalo_calls

    async def post(self, path: str, body: object, headers: dict[str, str] | None = None) -> int:
        async with self.session.post(path, json=body, headers=headers or {}) as answer:
            return answer.status


@pytest.fixture
async def server(settings, engine):
    settings = settings.model_copy(update={"webhook_token": SecretStr(SECRET)})
    zalo_calls: list[dict] = []

    async def on_zalo(update: dict) -> None:
        await asyncio.sleep(0)  # a real handler awaits its work: the answer must wait for it
        zalo_calls.append(update)

    stop, ready = asyncio.Event(), asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, webhook=True, listen=("127.0.0.1", 0), zalo=on_zalo, stop=stop,
                                     ready=ready.set_result))
    port = await asyncio.wait_for(asyncio.shield(ready), 30)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
        yield Running(session, zalo_calls)
    stop.set()
    await asyncio.wait_for(task, 30)


async def pending_updates(emulator_server) -> list[dict]:
    """What Telegram would post to the webhook: the emulator's queued updates, as JSON objects."""
    async with make_bot(emulator_server) as bot:
        updates = await bot.get_updates(timeout=0)
        if updates:
            await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)  # acknowledged
    return [update.to_dict() for update in updates]


def people(engine) -> list[PersonRow]:
    with Session(engine) as session:
        return list(session.exec(select(PersonRow)))


async def test_an_update_is_answered_200_once_handled_and_committed(server, emulator_server, engine):
    officer = emulator_server.create_user(7401, "Lan")
    officer.send_command("start", invite(engine, "officer", "SNV"))
    [update] = await pending_updates(emulator_server)
    before = len(people(engine))
    assert await server.post("/telegram", update, {TELEGRAM_SECRET_HEADER: SECRET}) == 200
    # No waiting: by the time of the 200 the reply went out and the account is written.
    assert officer.bot_messages(), "the bot answered before the webhook call returned"
    assert len(people(engine)) == before + 1
    async with server.session.get("/metrics") as answer:
        metrics = await answer.text()
    assert answer.status == 200 and answer.content_type == "text/plain"
    assert 'parbot_updates_total{channel="telegram",outcome="handled"} 1.0' in metrics
    assert 'parbot_update_handling_seconds_count{channel="telegram"} 1.0' in metrics


async def test_an_update_sent_again_is_not_applied_twice(server, emulator_server, engine):
    officer = emulator_server.create_user(7403, "Thu")
    officer.send_command("start", invite(engine, "officer", "SNV"))
    [update] = await pending_updates(emulator_server)
    assert await server.post("/telegram", update, {TELEGRAM_SECRET_HEADER: SECRET}) == 200
    replies = len(officer.bot_messages())
    # The platform got no 200 in time and sends it again, twice at once.
    again = [server.post("/telegram", update, {TELEGRAM_SECRET_HEADER: SECRET}) for _ in range(2)]
    assert await asyncio.gather(*again) == [200, 200]
    assert len(officer.bot_messages()) == replies
    async with server.session.get("/metrics") as answer:
        metrics = await answer.text()
    assert 'parbot_updates_total{channel="telegram",outcome="duplicate"} 2.0' in metrics
    assert 'parbot_updates_total{channel="telegram",outcome="handled"} 1.0' in metrics


async def test_missing_or_wrong_secret_is_403_and_logged_without_it(server, emulator_server, engine, caplog):
    caplog.set_level(logging.WARNING, logger="parbot.bot.webhook")
    officer = emulator_server.create_user(7402, "Minh")
    officer.send_command("start", invite(engine, "officer", "SNV"))
    [update] = await pending_updates(emulator_server)
    wrong = "guessed-secret-123"
    assert await server.post("/telegram", update) == 403
    assert await server.post("/telegram", update, {TELEGRAM_SECRET_HEADER: wrong}) == 403
    assert await server.post("/telegram", update, {ZALO_SECRET_HEADER: SECRET}) == 403  # the other channel's
    assert await server.post("/zalo", {"event_name": "message.text.received"},
                             {TELEGRAM_SECRET_HEADER: SECRET}) == 403
    assert officer.bot_messages() == [] and server.zalo_calls == []
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 4 and any("no secret" in m for m in refusals) and any("wrong" in m for m in refusals)
    assert SECRET not in caplog.text and wrong not in caplog.text
    async with server.session.get("/metrics") as answer:
        metrics = await answer.text()
    assert 'parbot_updates_total{channel="telegram",outcome="forbidden"} 3.0' in metrics


async def test_zalo_updates_go_to_the_registered_handler(server):
    update = {"event_name": "message.text.received",
              "message": {"message_id": "m-1", "text": "1", "chat": {"id": "z-1"}}}
    assert await server.post("/zalo", update, {ZALO_SECRET_HEADER: SECRET}) == 200
    assert server.zalo_calls == [update]
    assert await server.post("/zalo", update, {ZALO_SECRET_HEADER: SECRET}) == 200  # sent again: not re-applied
    assert server.zalo_calls == [update]
    async with server.session.post("/zalo", data=b"not json", headers={ZALO_SECRET_HEADER: SECRET}) as answer:
        assert answer.status == 400
    assert server.zalo_calls == [update]


async def test_healthz_and_metrics_report_the_outbox_per_channel(server, engine):
    later = datetime.now(timezone.utc) + timedelta(days=30)  # not due: the sender leaves it pending
    with SqlUnitOfWork(engine) as uow:
        uow.session.add(OutboxRow(key="test/zalo/1", chat_id=0, chat_ref="z-1", channel="zalo", kind="notice",
                                  payload={}, not_before=later, created_at=later))
        uow.commit()
    async with server.session.get("/healthz") as answer:
        health = await answer.json()
    assert answer.status == 200
    assert health["database"] == "ok" and health["sender"] == "running" and health["backlog"] == 1
    assert health["backlog_per_channel"] == {"telegram": 0, "zalo": 1}
    async with server.session.get("/metrics") as answer:
        metrics = await answer.text()
    assert 'parbot_outbox_backlog{channel="zalo"} 1.0' in metrics
    assert 'parbot_outbox_backlog{channel="telegram"} 0.0' in metrics
    assert 'parbot_outbox_sent{channel="telegram"}' in metrics and 'parbot_outbox_failed{channel="zalo"}' in metrics


async def test_signed_link_pages_are_served_by_the_same_server(server):
    async with server.session.get("/l/evidence/not-a-real-token") as page:
        body = await page.text()
    assert page.status == 403 and 'lang="vi"' in body and "Traceback" not in body


async def test_polling_mode_serves_the_pages_health_and_metrics_but_takes_no_webhooks(settings, engine,
                                                                                   emulator_server):
    stop, ready = asyncio.Event(), asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, listen=("127.0.0.1", 0), stop=stop, ready=ready.set_result))
    try:
        port = await asyncio.wait_for(asyncio.shield(ready), 30)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
            async with session.get("/healthz") as answer:
                assert answer.status == 200 and (await answer.json())["sender"] == "running"
            async with session.get("/metrics") as answer:
                assert answer.status == 200 and "parbot_outbox_backlog" in await answer.text()
            async with session.post("/telegram", json={"update_id": 1}) as answer:
                assert answer.status == 404
        officer = emulator_server.create_user(7404, "Vy")  # updates still come by polling
        officer.send_command("start", invite(engine, "officer", "SNV"))
        await officer.wait_for_reply(timeout=20)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_a_taken_port_is_a_clear_error(settings, engine, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = WebhookServer(Deps(settings=settings, engine=engine, store=EvidenceStore(tmp_path)), SECRET)
        with pytest.raises(ListenFailed) as refused:
            await server.start("127.0.0.1", taken.getsockname()[1])
    assert render(refused.value.reason, "vi") == "cổng này đang được một chương trình khác dùng"
    assert render(refused.value.reason, "en") == "another program is using this port"
    for code in (errno.EADDRNOTAVAIL, errno.EACCES, errno.EIO):  # each reason has its words in both languages
        reason = ListenFailed("127.0.0.1", 80, OSError(code, "x")).reason
        assert all(has(f"problem.{reason.code}", lang) for lang in ("vi", "en"))


def test_cli_refuses_webhook_mode_without_secret_or_with_a_bad_address(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PARBOT_WEBHOOK_SECRET", raising=False)
    monkeypatch.setenv("PARBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    from parbot.settings import get_settings
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["bot", "run", "--webhook"])
        assert result.exit_code == 2 and "PARBOT_WEBHOOK_SECRET" in result.output and "Traceback" not in result.output
        monkeypatch.setenv("PARBOT_WEBHOOK_SECRET", SECRET)
        get_settings.cache_clear()
        result = CliRunner().invoke(cli, ["bot", "run", "--webhook", "--listen", "no-port"])
        assert result.exit_code == 2 and "HOST:CỔNG" in result.output
    finally:
        get_settings.cache_clear()
