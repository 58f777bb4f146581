"""Telegram users get the signed evidence-upload page as an alternative to sending the file in the chat, as
Zalo users do: the real bot polling the Bot API emulator, parbot's web pages on a local port."""
from __future__ import annotations

import re

import aiohttp
import pytest
from aiohttp import web
from e2e_support import RunningBot, join, rows
from helpers import answer_shown, screen, shown

from parbot.bot.deps import Deps
from parbot.bot.web.app import build_app
from parbot.i18n import t
from parbot.settings import Settings
from parbot.storage.evidence_store import EvidenceStore
from parbot.storage.tables import EvidenceRow
from parbot.storage.uow import SqlUnitOfWork

pytestmark = pytest.mark.e2e
KEY = "an-e2e-telegram-link-key"
LINK = re.compile(r"https?://\S+/l/evidence/\S+")
PDF = b"%PDF-1.4\n% bien ban hop\n"


@pytest.fixture
async def linked_bot(emulator_server, db_path, engine, tmp_path):
    """The bot with PARBOT_PUBLIC_URL pointing at parbot's own web pages, which share its evidence store."""
    evidence = tmp_path / "evidence"
    pages = web.AppRunner(build_app(Deps(settings=Settings(_env_file=None, PARBOT_LINK_SECRET=KEY), engine=engine,
                                         store=EvidenceStore(evidence))))
    await pages.setup()
    await web.TCPSite(pages, "127.0.0.1", 0).start()
    public = f"http://127.0.0.1:{pages.addresses[0][1]}"
    settings = Settings(_env_file=None, PARBOT_DATABASE_URL=f"sqlite:///{db_path}", TELEGRAM_BOT_TOKEN=emulator_server.token,
                        TELEGRAM_API_BASE=emulator_server.base_url, PARBOT_EVIDENCE_DIR=str(evidence),
                        PARBOT_PUBLIC_URL=public, PARBOT_LINK_SECRET=KEY, PARBOT_ADMIN_CONTACT="Sở Nội vụ")
    running = await RunningBot(settings, engine).start()
    yield running
    await running.stop()
    await pages.cleanup()


async def evidence_screen(officer, criteria):
    """Answer items from the first until a screen asks for evidence; that screen."""
    officer.press(screen(officer).button_texts[0][0])  # area 1
    await officer.wait_for_reply()
    for _ in criteria.items:
        await answer_shown(officer, shown(officer, criteria))
        if t("assess.need_evidence", "vi") in (screen(officer).text or ""):
            return screen(officer)
    raise AssertionError("no item asked for evidence")


async def test_a_telegram_officer_uploads_evidence_through_the_link_on_the_item_screen(linked_bot, emulator_server,
                                                                                       engine):
    with SqlUnitOfWork(engine) as uow:
        criteria = uow.periods.current().criteria_for("so")
    officer = await join(emulator_server, engine, 7101, "Lan", "officer", "SNV")
    asking = await evidence_screen(officer, criteria)
    item = shown(officer, criteria)
    link = LINK.search(asking.text)
    assert link and t("assess.item.upload_link", "vi", url="").strip() in asking.text

    form = aiohttp.FormData()
    form.add_field("file", PDF, filename="biên bản.pdf", content_type="application/pdf")
    async with aiohttp.ClientSession() as http, http.post(link.group(0), data=form) as page:
        assert page.status == 200 and "biên bản.pdf" in await page.text()
    (kept,) = [e for e in rows(engine, EvidenceRow, unit_code="SNV") if e.kind == "file"]
    assert (kept.item_code, kept.file_name) == (item.code, "biên bản.pdf")
    confirmation = t("notice.evidence_received", "vi", file_name="biên bản.pdf", item=item.code, unit="SNV")
    confirmed = await officer.wait_for_reply(timeout=20, until=lambda ms: any(m.text == confirmation for m in ms))
    assert confirmed  # the chat is told through the outbox, as for a Zalo officer


async def test_without_a_public_url_the_item_screen_offers_no_link(bot, emulator_server, engine):
    with SqlUnitOfWork(engine) as uow:
        criteria = uow.periods.current().criteria_for("so")
    officer = await join(emulator_server, engine, 7102, "Minh", "officer", "SNV")
    asking = await evidence_screen(officer, criteria)
    assert "/l/evidence/" not in asking.text and t("assess.prompt.evidence", "vi") in asking.text
