"""An officer's whole self-assessment on Zalo: the Zalo runner polls the Zalo emulator, the officer types
the invitation code, then numbers and words read off the screens, sends a photo, uploads a file through
the signed link the bot sends, and submits."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
from helpers import ZaloPerson, zalo_bot
from e2e_support import invite, rows, shown_item
from helpers import REFERENCE, expected_points, typed_answer

from parbot.bot.zalo.client import ZaloClient
from parbot.bot.zalo.runner import ZaloBot
from parbot.core.rules import AllOfRule, ChoiceRule, YesNoRule
from parbot.core.services.assessment import sequence
from parbot.i18n import t
from parbot.sandbox.officers import zalo_options
from parbot.sandbox.webchat import Sandbox
from parbot.sandbox.zalo_emulator import ZaloEmulatorServer
from parbot.settings import Settings
from parbot.storage.tables import ChannelAccountRow, EvidenceRow, PersonRow, ScoreRow, UnitStageRow
from parbot.storage.uow import SqlUnitOfWork

pytestmark = pytest.mark.e2e

KEY = "an-e2e-link-signing-key"
PNG = b"\x89PNG\r\n\x1a\n" + b"anh chup bien ban" * 10
PDF = b"%PDF-1.4\n% bien ban hop\n"
LINK = re.compile(r"https?://\S+/l/evidence/\S+")


class Officer(ZaloPerson):
    """A Zalo user who reads the bot's texts and answers by typing the options it lists."""

    def screen(self) -> str:
        """The latest text listing options: the screen the officer looks at."""
        return next(m.text for m in reversed(self.user.received) if self.options_of(m.text))

    @staticmethod
    def options_of(text: str) -> dict[str, str]:
        """label -> what to type, from the option lines above the "Trả lời …" line."""
        return zalo_options(text)

    async def choose(self, label: str) -> list[str]:
        return await self.say(self.options_of(self.screen())[label])

    def has(self, label: str) -> bool:
        return label in self.options_of(self.screen())


def lines_of(texts: list[str]) -> str:
    return "\n".join(texts)


@pytest.fixture
async def zalo(engine, tmp_path: Path):
    """The Zalo emulator, parbot's web pages (signed links) and the Zalo runner polling the emulator."""
    async with zalo_bot(engine, tmp_path / "evidence", key=KEY, contact="Sở Nội vụ (0274 3822 123)") as (server,
                                                                                                        runner, _):
        yield server, runner


async def answer(officer: Officer, item) -> list[str]:
    rule = item.rule
    if isinstance(rule, YesNoRule):
        return await officer.choose(f"✅ {rule.yes_label}")
    if isinstance(rule, ChoiceRule):
        return await officer.choose(rule.options[0].label)
    if isinstance(rule, AllOfRule):
        texts: list[str] = []
        for _ in rule.conditions:
            texts += await officer.choose(t("common.yes", "vi"))
        return texts
    texts = []
    for value in typed_answer(item):  # the screen waits for a figure: a typed digit is the figure
        texts += await officer.say(value)
    return texts


async def upload(url: str, data: bytes, name: str) -> str:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="application/pdf")
    async with aiohttp.ClientSession() as session, session.post(url, data=form) as page:
        assert page.status == 200
        return await page.text()


async def test_officer_completes_the_shipped_set_on_zalo_with_a_photo_and_a_link_upload(zalo, engine):
    server, runner = zalo
    with SqlUnitOfWork(engine) as uow:
        criteria = uow.periods.current().criteria_for("so")
    items, codes = sequence(criteria), set(criteria.items)
    officer = Officer(server, runner, "zalo-7001", "Lan")

    first = await officer.say(invite(engine, "officer", "SNV"))
    assert first[0].startswith("Chào Lan") and officer.options_of(first[-1])
    assert "1. " in first[-1] and re.search(r"Trả lời 1(, \d+)* hoặc \d+", first[-1])
    await officer.say("1")  # area 1, as its number
    assert shown_item(type("M", (), {"text": officer.screen()}), codes) == items[0].code

    links, photos = [], 0
    for _ in range(3 * len(items)):
        code = shown_item(type("M", (), {"text": officer.screen()}), codes)
        if code is None:
            break
        texts = await answer(officer, criteria.items[code])
        if t("assess.need_evidence", "vi") not in officer.screen():
            continue
        link = LINK.search(lines_of(texts))
        assert link, "a screen waiting for evidence comes with an upload link"
        if not links:  # the first: a file through the signed link, then on to the next item
            links.append(link.group(0))
            assert "quyết định.pdf" in await upload(link.group(0), PDF, "quyết định.pdf")
            await officer.say(t("word.skip", "vi") if criteria.items[code] is not items[-1]
                              else t("word.menu", "vi"))
            continue
        if not photos:  # the second: a photo sent in the chat
            photos += 1
            assert t("assess.evidence.file_saved", "vi") in lines_of(await officer.photo(PNG))
        else:
            await officer.say(REFERENCE)
        onward = t("word.next", "vi")
        if f"({onward})" not in officer.screen():
            onward = t("button.final_review", "vi")
            await officer.choose(onward)
        else:
            await officer.say(onward)
    assert links and photos == 1
    assert officer.screen().startswith(t("assess.review.final", "vi"))

    scores = {s.item_code: s for s in rows(engine, ScoreRow, unit_code="SNV", source="self")}
    assert set(scores) == {i.code for i in items}
    for item in items:
        assert scores[item.code].points == expected_points(item, "so"), item.code
    evidence = rows(engine, EvidenceRow, unit_code="SNV")
    assert {e.file_name for e in evidence if e.kind == "file"} >= {"quyết định.pdf"}
    assert any(e.mime_type == "image/png" for e in evidence)
    assert {e.item_code for e in evidence} == {i.code for i in items if i.evidence == "required"}

    texts = await officer.say(t("word.submit", "vi"))  # the word, not the number
    assert t("assess.submit.confirm", "vi") in lines_of(texts)
    texts = await officer.say(t("word.confirm", "vi"))
    assert t("assess.submit.done", "vi") in lines_of(texts)
    (stage,) = rows(engine, UnitStageRow, unit_code="SNV")
    assert stage.submitted_at is not None
    (person,) = rows(engine, PersonRow, name="Lan")
    assert person.telegram_id is None
    assert [(a.channel, a.account_id) for a in rows(engine, ChannelAccountRow, person_id=person.id)] == [
        ("zalo", "zalo-7001")]
    assert all(len(m.text) <= 2000 for m in officer.user.received)


RULES = re.compile(r"https?://\S+/l/rules/\S+")


async def test_a_shortened_item_screen_on_zalo_comes_with_its_full_rules_link(zalo, engine):
    """An explanation longer than the chat shows cuts the item's screen: the bot sends the rules page's link
    (saying what it is), and the page answers with the item's title and the whole explanation."""
    server, runner = zalo
    with SqlUnitOfWork(engine) as uow:
        criteria = uow.periods.current().criteria_for("so")
    item = next(i for i in sequence(criteria) if i.evidence == "required")
    officer = Officer(server, runner, "zalo-7002", "Hoa")
    await officer.say(invite(engine, "officer", "SNV"))
    await officer.say("1")
    assert shown_item(type("M", (), {"text": officer.screen()}), set(criteria.items)) == item.code
    plain = await answer(officer, item)
    assert not RULES.search(lines_of(plain)), "an item screen that fits is not followed by the rules link"
    await officer.choose(t("button.explanation", "vi"))
    why = "Biên bản họp ngày 12/3 <ghi rõ> " + "đã gửi kèm theo công văn của Sở, " * 15
    texts = await officer.say(why)
    link = RULES.search(lines_of(texts))
    assert link and "Xem đầy đủ quy tắc chấm" in lines_of(texts)
    assert all(len(text) <= 2000 for text in texts)
    async with aiohttp.ClientSession() as session, session.get(link.group(0)) as page:
        html = await page.text()
    assert page.status == 200 and f"{item.code}. {item.name}" in html
    assert "&lt;ghi rõ&gt;" in html and why.strip()[-20:] in html


async def test_strangers_codes_commands_and_stickers_get_clear_answers(zalo, engine):
    server, runner = zalo
    stranger = Officer(server, runner, "zalo-9", "Khách")
    assert "mã mời" in (await stranger.say("/start"))[0]
    assert (await stranger.say("AAAAAAAAAAAAAAAA"))[0] == t("onboarding.invite.unknown", "vi",
                                                             contact="Sở Nội vụ (0274 3822 123)")
    officer = Officer(server, runner, "zalo-10", "Minh")
    await officer.say(invite(engine, "officer", "SNV"))
    assert "/assess" in (await officer.say("/nope"))[0]
    before = officer.handled
    await officer.user.send_sticker()
    await officer._wait(before)
    assert officer.user.received[-1].text == t("zalo.unsupported", "vi")
    before = officer.handled
    await server.emulator.user_event(officer.user.id, "message.image.received",
                                     photo_url=f"{server.base_url}/_files/gone", caption="")
    await officer._wait(before)
    assert officer.user.received[-1].text == t("zalo.image_not_fetched", "vi")
    assert (await officer.say("/status"))[0]


async def start_bot_run(db_path, tmp_path, zalo: ZaloEmulatorServer, telegram=None) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.endswith("TELEGRAM_BOT_TOKEN")} | {
        "PARBOT_DATABASE_URL": f"sqlite:///{db_path}", "PARBOT_ZALO_BOT_TOKEN": zalo.token,
        "PARBOT_ZALO_API_BASE": zalo.base_url, "PARBOT_EVIDENCE_DIR": str(tmp_path / "evidence")}
    if telegram is not None:
        env |= {"TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_API_BASE": telegram.base_url}
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "parbot.cli.main", "bot", "run", env=env,
                                                cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)


@pytest.mark.parametrize("with_telegram", [False, True], ids=["zalo-only", "zalo-and-telegram"])
async def test_bot_run_polls_zalo_when_its_token_is_set_and_stops_on_sigterm(engine, db_path, tmp_path,
                                                                             emulator_server, with_telegram):
    async with ZaloEmulatorServer() as server:
        process = await start_bot_run(db_path, tmp_path, server, emulator_server if with_telegram else None)
        try:
            user = server.user("zalo-42", "Lan")
            await user.send_text(invite(engine, "officer", "SNV"))
            (welcome,) = await user.wait_for_replies(1, timeout=60)
            assert welcome.text.startswith("Chào Lan")
            if with_telegram:  # both channels from one process
                officer = emulator_server.create_user(7401, "Minh")
                officer.send_command("start", invite(engine, "officer", "SNV"))
                replies = await officer.wait_for_reply(timeout=60)
                assert replies[0].text.startswith("Chào Minh")
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def test_a_sandbox_trainee_picks_zalo_and_answers_by_typing(tmp_path):
    async with Sandbox(tmp_path / "sandbox") as sandbox, aiohttp.ClientSession(sandbox.server.base_url) as http:
        async with http.get("/") as page:
            assert 'name="channel" value="zalo"' in await page.text()
        async with http.post("/api/trainees", json={"name": "Lan", "unit": "SNV", "role": "officer",
                                                    "channel": "zalo"}) as answer:
            trainee = await answer.json()
        assert trainee["channel"] == "zalo" and isinstance(trainee["user_id"], str)
        chat = f"/zalo/_sim/users/{trainee['user_id']}"
        record = sandbox.zalo.users[trainee["user_id"]]
        await sandbox.zalo.wait_until(lambda: any("Trả lời" in m.text for m in record.received), 60)
        seen = len(record.received)
        async with http.post(chat, json={"text": "1"}) as answer:  # area 1, by its number
            assert answer.status == 200
        await sandbox.zalo.wait_until(lambda: len(record.received) > seen, 60)
        async with http.get(chat) as answer:
            texts = [m["text"] for m in (await answer.json())["result"]]
        assert texts[0].startswith("Chào Lan") and "1.1.1. " in texts[-1]


async def test_a_typed_number_means_the_same_to_another_process(zalo, engine):
    """The options on view are in the database: a second process (another webhook worker) reads "1" as the
    first option of the screen the first process sent."""
    server, runner = zalo
    officer = Officer(server, runner, "zalo-11", "Hoa")
    await officer.say(invite(engine, "officer", "SNV"))
    other = ZaloBot(runner.bot.deps, ZaloClient(server.token, api_base=server.base_url))
    seen = len(officer.user.received)
    try:
        await other.handle_zalo_update({"event_name": "message.text.received", "message": {
            "message_id": "m-1", "date": 1, "text": "1", "from": {"id": officer.user.id, "display_name": "Hoa"},
            "chat": {"id": officer.user.id, "chat_type": "PRIVATE"}}})
    finally:
        await other.client.close()
    assert "1.1.1. " in officer.user.received[seen].text  # area 1 opened at its first item


async def test_a_zalo_officer_links_telegram_with_the_kenh_code_and_picks_telegram_only(zalo, engine, tmp_path,
                                                                                      emulator_server, db_path):
    """The other way round from the outbox test: /kenh on Zalo gives the code, `/start <code>` to the real
    Telegram bot links that account to the same person, and the "Chỉ Telegram" button is their choice."""
    from e2e_support import RunningBot

    server, runner = zalo
    officer = Officer(server, runner, "zalo-12", "Lan")
    await officer.say(invite(engine, "officer", "SNV"))
    screen = lines_of(await officer.say("/kenh"))
    assert "Kênh của bạn: Zalo." in screen and "/start " in screen
    code = screen.split("/start ", 1)[1].split()[0]
    settings = Settings(_env_file=None, PARBOT_DATABASE_URL=f"sqlite:///{db_path}", PARBOT_LINK_SECRET=KEY,
                        TELEGRAM_BOT_TOKEN=emulator_server.token, TELEGRAM_API_BASE=emulator_server.base_url,
                        PARBOT_EVIDENCE_DIR=str(tmp_path / "evidence"))
    telegram = await RunningBot(settings, engine).start()
    try:
        user = emulator_server.create_user(7512, "Lan")
        user.send_command("start", code)
        replies = await user.wait_for_reply(timeout=30, until=lambda ms: any(m.inline_keyboard for m in ms))
        assert replies[0].text == t("channel.linked", "vi", name="Lan", channel="Telegram")
        assert "Kênh của bạn: Telegram và Zalo." in replies[-1].text
        user.press(t("channel.choice.t", "vi"))
        (saved,) = await user.wait_for_reply(timeout=30)
        assert saved.text.startswith(t("channel.chosen", "vi", chosen="Telegram"))
        assert "kenh" in [c["command"] for c in user.visible_commands()]
    finally:
        await telegram.stop()
    (person,) = rows(engine, PersonRow, name="Lan")
    assert person.telegram_id == 7512
    accounts = {a.channel: a.notify for a in rows(engine, ChannelAccountRow, person_id=person.id)}
    assert accounts == {"telegram": True, "zalo": False}
