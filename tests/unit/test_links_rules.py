"""The rules page behind a signed link (an item's full rule, guidance, evidence asked for and the unit's answer,
escaped), and the item screen that offers it: on Telegram always as a line, on Zalo when the chat text was cut
or split."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from link_fixtures import KEY, NOW, world  # noqa: F401  (world is a fixture)

from parbot.bot.deps import Deps
from parbot.bot.render import messages
from parbot.bot.web.app import build_app
from parbot.bot.zalo.render import render_screen
from parbot.core.conversation import engine as conversation
from parbot.core.conversation import views
from parbot.core.conversation.events import Command, Press, Sender
from parbot.core.conversation.screen import Link, Option, Screen
from parbot.core.conversation.turn import Env
from parbot.core.services import assessment
from parbot.core.services import links as link_svc
from parbot.settings import Settings
from parbot.storage.evidence_store import EvidenceStore
from parbot.storage.uow import SqlUnitOfWork

ITEM = "1.1.1"
WHY = "<b>Quyết định</b> số 12 & kế hoạch " + "được ban hành đúng hạn, " * 20  # over the chat's 300 characters


@pytest.fixture
async def page(world, engine, tmp_path):  # noqa: F811
    uow, officer = world
    deps = Deps(settings=Settings(_env_file=None, PARBOT_LINK_SECRET=KEY), engine=engine,
                store=EvidenceStore(tmp_path / "evidence"), clock=lambda: NOW)
    async with TestClient(TestServer(build_app(deps))) as client:
        yield client, uow, officer


def rules_token(officer, item=ITEM):
    return link_svc.rules_token(key=KEY, person_id=officer.person_id, unit_code="X1", item_code=item, now=NOW,
                                ttl=timedelta(hours=2))


async def test_own_link_shows_the_item_in_full_with_every_text_escaped(page):
    client, uow, officer = page
    assessment.record_answer(uow, caller=officer, unit_code="X1", item_code=ITEM, raw={"option": "on_time"}, now=NOW)
    assessment.set_explanation(uow, caller=officer, unit_code="X1", item_code=ITEM, text=WHY, now=NOW)
    response = await client.get(f"/l/rules/{rules_token(officer)}")
    text = await response.text()
    assert response.status == 200 and '<html lang="vi">' in text
    assert "<h2>1.1.1. Ban hành kế hoạch CCHC năm</h2>" in text and "Điểm tối đa: 1" in text
    assert "Cách chấm: " in text and "Ban hành kịp thời" in text  # the rule as the chat explains it
    assert "&quot;kịp thời&quot; là trước thời hạn" in text  # criteria text (guidance), escaped
    assert "Tài liệu kiểm chứng: bắt buộc" in text and "Trả lời: Ban hành kịp thời → 1 điểm" in text
    assert "&lt;b&gt;Quyết định&lt;/b&gt; số 12 &amp; kế hoạch" in text and "<b>" not in text
    assert WHY.strip()[-30:].replace("<", "&lt;") in text  # the explanation in full, not clipped at 300


async def test_the_page_follows_the_persons_language_and_refuses_another_purpose(page):
    client, uow, officer = page
    english = await client.get(f"/l/rules/{rules_token(officer)}?lang=en")
    text = await english.text()
    assert english.status == 200 and "Full scoring rules" in text and "1.1.1. Annual PAR plan issued" in text
    evidence, _ = link_svc.issue(uow, caller=officer, key=KEY, purpose="evidence", unit_code="X1", item_code=ITEM,
                                 now=NOW, ttl=timedelta(hours=2))
    refused = await client.get(f"/l/rules/{evidence}")
    assert refused.status == 403 and "Liên kết không hợp lệ" in await refused.text()


def _item_screen(engine, tmp_path, person_id, **env):
    """The first item's screen as the officer opens it (/assess, then the first area; /assess again resumes)."""
    settings = Env(now=NOW, tz="Asia/Ho_Chi_Minh", store=EvidenceStore(tmp_path / "ev"), admin_contact="Sở Nội vụ",
                   link_key=KEY, **env)
    sender = Sender(channel="telegram", account_id="100", chat_id="5100", language="vi", private=True)
    menu = conversation.handle(SqlUnitOfWork(engine), sender, Command("assess"), env=settings).screens[-1]
    area = next((o.id for o in menu.options if o.id.split(":")[1] == "ar"), None)
    if area is None:
        return menu
    return conversation.handle(SqlUnitOfWork(engine), sender, Press(area), env=settings).screens[-1]


def test_the_item_screen_offers_the_persons_own_rules_link(world, engine, tmp_path):  # noqa: F811
    uow, officer = world
    screen = _item_screen(engine, tmp_path, officer.person_id, public_url="https://parbot.example.vn/")
    assert screen.link is not None and not screen.link.shortened  # the item fits: offered, not forced on Zalo
    assert screen.link.text.startswith("📖 Xem đầy đủ quy tắc chấm") and "mục 1.1.1" in screen.link.text
    address = screen.link.text.split("\n")[-1]
    assert address.startswith("https://parbot.example.vn/l/rules/") and address.isascii()
    view = link_svc.rules_view(uow, key=KEY, token=urlsplit(address).path.rsplit("/", 1)[-1], now=NOW)
    assert view.item.code == ITEM and view.ws.unit.code == "X1"
    assert _item_screen(engine, tmp_path, officer.person_id).link is None  # no PARBOT_PUBLIC_URL: no link


def test_a_cut_explanation_marks_the_screen_shortened(world):  # noqa: F811
    uow, officer = world
    assessment.record_answer(uow, caller=officer, unit_code="X1", item_code=ITEM, raw={"option": "late"}, now=NOW)
    assessment.set_explanation(uow, caller=officer, unit_code="X1", item_code=ITEM, text=WHY, now=NOW)
    view = assessment.item_view(uow, caller=officer, unit_code="X1", position=0, now=NOW)
    text, shortened = views.item_screen_text(view, "Asia/Ho_Chi_Minh", "vi")
    assert shortened and WHY[:40] in text and WHY.strip() not in text
    other = assessment.item_view(uow, caller=officer, unit_code="X1", position=1, now=NOW)
    assert views.item_screen_text(other, "Asia/Ho_Chi_Minh", "vi")[1] is False


MENU = Option("ab12:m:X1", "Danh mục", "menu")
LINK = "📖 Xem đầy đủ quy tắc:\nhttps://parbot.example.vn/l/rules/abc"


@pytest.mark.parametrize("text,shortened,offered", [("1.1.1. Câu hỏi ngắn", False, False),
                                                    ("1.1.1. Câu hỏi ngắn…", True, True),
                                                    ("1.1.1. " + "Hướng dẫn dài. " * 200, False, True)])
def test_zalo_offers_the_link_when_the_text_was_cut_or_split_telegram_always(text, shortened, offered):
    screen = Screen(blocks=(text,), rows=((MENU,),), link=Link(LINK, shortened))
    zalo = render_screen(screen, "vi").texts
    assert (LINK in "\n\n".join(zalo)) is offered and all(len(t) <= 2000 for t in zalo)
    assert zalo[-1].endswith("gõ: menu")  # the options stay last, after the link
    telegram = messages(screen)
    assert telegram[-1].endswith(LINK) and all(len(t) <= 4096 for t in telegram)
