"""Zalo in webhook mode: `parbot bot run --webhook` (serve()) sets the Zalo webhook to PARBOT_PUBLIC_URL/zalo
with the webhook secret, the Zalo emulator then refuses getUpdates and posts each update with the secret in
X-Bot-Api-Secret-Token, and the officer is answered; a wrong or missing secret is 403 and nothing is
handled. In polling mode a webhook left behind is deleted first."""
from __future__ import annotations

import asyncio
import os
import socket
import sys

import aiohttp
import pytest
from e2e_support import invite, rows

from parbot.bot.app import serve
from parbot.bot.webhook import ZALO_PATH, ZALO_SECRET_HEADER
from parbot.bot.zalo.client import ZaloClient, ZaloError
from parbot.sandbox.zalo_emulator import ZaloEmulatorServer
from parbot.settings import Settings
from parbot.storage.tables import AnswerRow, ChannelAccountRow

pytestmark = pytest.mark.e2e
SECRET = "zalo-webhook-secret-of-the-test"
PUBLIC = "https://parbot.so-noi-vu.example.vn"  # behind the province's HTTPS proxy
CEILING = 60.0  # generous: only a hang reaches it


def zalo_settings(db_path, tmp_path, zalo: ZaloEmulatorServer, **more: str) -> Settings:
    """Zalo only (no Telegram token), as a province where Telegram is blocked runs it."""
    return Settings(_env_file=None, PARBOT_DATABASE_URL=f"sqlite:///{db_path}", PARBOT_ZALO_BOT_TOKEN=zalo.token,
                    PARBOT_ZALO_API_BASE=zalo.base_url, PARBOT_EVIDENCE_DIR=str(tmp_path / "evidence"),
                    PARBOT_ADMIN_CONTACT="Sở Nội vụ (0274 3822 123)", **more)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Serving:
    """serve() in this event loop until the test ends; ``port`` once updates are taken."""

    def __init__(self, settings: Settings, webhook: bool) -> None:
        self.settings, self.webhook = settings, webhook
        self.stop = asyncio.Event()

    async def __aenter__(self) -> "Serving":
        ready = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(serve(self.settings, webhook=self.webhook, listen=("127.0.0.1", 0),
                                              stop=self.stop, ready=ready.set_result))
        done, _ = await asyncio.wait({self.task, ready}, timeout=CEILING, return_when=asyncio.FIRST_COMPLETED)
        if self.task in done:
            self.task.result()  # serve() ended before it was ready: its error
        self.port = ready.result()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, CEILING)


@pytest.fixture
async def zalo():
    async with ZaloEmulatorServer() as server:
        yield server


async def test_zalo_updates_come_by_webhook_and_are_answered(zalo, engine, db_path, tmp_path):
    settings = zalo_settings(db_path, tmp_path, zalo, PARBOT_PUBLIC_URL=PUBLIC, PARBOT_WEBHOOK_SECRET=SECRET)
    async with Serving(settings, webhook=True) as serving:
        webhook = zalo.emulator.webhook
        assert webhook is not None and (webhook.url, webhook.secret_token) == (f"{PUBLIC}{ZALO_PATH}", SECRET)
        zalo.emulator.url_map[PUBLIC] = f"http://127.0.0.1:{serving.port}"  # what the HTTPS proxy does
        client = ZaloClient(zalo.token, api_base=zalo.base_url)
        try:
            with pytest.raises(ZaloError) as refused:  # polling is refused while the webhook is set
                await client.get_update(timeout=0)
        finally:
            await client.close()
        assert refused.value.code == 409

        officer = zalo.user("zalo-8101", "Lan")
        # The emulator posts each update and waits for parbot's answer, which comes once it is handled.
        await officer.send_text(invite(engine, "officer", "SNV"))
        welcome = [m.text for m in officer.received]
        assert welcome[0].startswith("Chào Lan") and "Trả lời" in welcome[-1]
        await officer.send_text("1")  # area 1, by its number
        assert "1.1.1. " in officer.received[-1].text
        posts = zalo.emulator.webhook_posts
        assert [status for _, _, status in posts] == [200, 200]
        assert all(headers[ZALO_SECRET_HEADER] == SECRET for _, headers, _ in posts)
        assert [a.account_id for a in rows(engine, ChannelAccountRow, channel="zalo")] == ["zalo-8101"]

        # The platform's secret no longer matches (rotated on one side only), then a call without any.
        seen = len(officer.received)
        webhook.secret_token = "an-outdated-secret"
        await officer.send_text("1")
        async with aiohttp.ClientSession() as session:
            update = {"event_name": "message.text.received", "message": {
                "message_id": "forged-1", "date": 1, "text": "1", "from": {"id": officer.id, "display_name": "Lan"},
                "chat": {"id": officer.id, "chat_type": "PRIVATE"}}}
            async with session.post(f"http://127.0.0.1:{serving.port}{ZALO_PATH}", json=update) as answer:
                assert answer.status == 403
        assert posts[-1][2] == 403 and webhook.last_error == "HTTP 403"
        assert len(officer.received) == seen  # nothing handled, nothing answered
        assert rows(engine, AnswerRow, unit_code="SNV") == []  # the typed "1" would have answered 1.1.1
        webhook.secret_token = SECRET
        await officer.send_text("1")  # the same answer, now with the secret: applied
        assert posts[-1][2] == 200 and len(officer.received) > seen
        assert [a.item_code for a in rows(engine, AnswerRow, unit_code="SNV")] == ["1.1.1"]
        async with aiohttp.ClientSession() as session:  # Zalo alone: the sweep and the Zalo sender run too
            async with session.get(f"http://127.0.0.1:{serving.port}/healthz") as answer:
                assert answer.status == 200 and (await answer.json())["sender"] == "running"


async def test_polling_mode_deletes_a_webhook_left_behind_and_polls(zalo, engine, db_path, tmp_path):
    await zalo.emulator.call("setWebhook", {"url": f"{PUBLIC}{ZALO_PATH}", "secret_token": SECRET})
    async with Serving(zalo_settings(db_path, tmp_path, zalo), webhook=False):
        assert zalo.emulator.webhook is None
        officer = zalo.user("zalo-8102", "Minh")
        await officer.send_text(invite(engine, "officer", "SNV"))
        (welcome,) = await officer.wait_for_replies(1, timeout=CEILING)
        assert welcome.text.startswith("Chào Minh")


async def test_bot_run_says_clearly_when_zalo_refuses_the_webhook(zalo, engine, db_path, tmp_path):
    """An http:// public URL: the platform takes HTTPS webhooks only; the command exits 1 with the reason."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("TELEGRAM_BOT_TOKEN")} | {
        "PARBOT_DATABASE_URL": f"sqlite:///{db_path}", "PARBOT_ZALO_BOT_TOKEN": zalo.token,
        "PARBOT_ZALO_API_BASE": zalo.base_url, "PARBOT_EVIDENCE_DIR": str(tmp_path / "evidence"),
        "PARBOT_PUBLIC_URL": "http://parbot.example.vn", "PARBOT_WEBHOOK_SECRET": SECRET}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "parbot.cli.main", "bot", "run", "--webhook", "--listen", f"127.0.0.1:{free_port()}", env=env,
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), CEILING)
    text = (out + err).decode()
    assert process.returncode == 1, text
    assert "từ chối cấu hình webhook" in text and "HTTPS" in text and "Traceback" not in text
    assert zalo.token not in text and SECRET not in text and zalo.emulator.webhook is None
