"""The Bot API emulator, driven by a real python-telegram-bot client and over its /_sim HTTP API."""
from __future__ import annotations

import asyncio
import base64
import datetime as dtm
import json

import aiohttp
import pytest
from emulator_fixtures import make_bot, png_bytes
from telegram import Bot, BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from parbot.sandbox.emulator import (
    ApiError, Emulator, EmulatorServer, Faults, RateLimiter, RateLimits, SimError, SimUser)
from parbot.sandbox.emulator import markup

MB = 1024 * 1024


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data)] for text, data in pairs])


@pytest.fixture
def user(emulator_server):
    alice = emulator_server.create_user(1001, "Lan", username="lan_hcm", language_code="vi")
    alice.send_text("xin chào")  # the user has started the bot, so it may write to her
    return alice


# ---- the Bot API through python-telegram-bot ---------------------------------------------------------

async def test_get_me_answers_the_configured_bot(ptb_bot, emulator_server):
    me = await ptb_bot.get_me()
    assert me.is_bot and me.username == "parbot_emulator_bot"
    assert me.id == int(emulator_server.token.split(":")[0])


async def test_wrong_token_is_invalid_token(emulator_server):
    wrong = Bot("1:wrong", base_url=emulator_server.bot_base_url)
    with pytest.raises(InvalidToken):
        await wrong.get_me()


async def test_unknown_method_is_bad_request_not_invalid_token(ptb_bot):
    with pytest.raises(BadRequest, match="(?i)method not found"):
        await ptb_bot.do_api_request("sendSomethingOdd", api_kwargs={"chat_id": 1})


async def test_send_message_with_inline_keyboard_reaches_the_user(ptb_bot, user):
    sent = await ptb_bot.send_message(user.id, "Chọn khối", reply_markup=keyboard(("Sở", "b:1"), ("Huyện", "b:2")))
    assert sent.chat.type == "private" and sent.date.timestamp() > 0
    assert sent.reply_markup.inline_keyboard[1][0].callback_data == "b:2"
    (seen,) = await user.wait_for_reply(timeout=1)
    assert (seen.message_id, seen.text, seen.button_texts) == (sent.message_id, "Chọn khối", [["Sở"], ["Huyện"]])
    assert user.bot_message_count == 1


async def test_message_ids_grow_per_chat(ptb_bot, emulator_server, user):
    other = emulator_server.create_user(1002, "Minh")
    other.send_text("hi")
    first = await ptb_bot.send_message(user.id, "a")
    second = await ptb_bot.send_message(user.id, "b")
    other_first = await ptb_bot.send_message(other.id, "c")
    assert second.message_id == first.message_id + 1
    assert other_first.message_id == 2  # Minh's own "hi" was message 1 of his chat


async def test_identical_edit_is_not_modified_and_edit_without_markup_drops_keyboard(ptb_bot, user):
    sent = await ptb_bot.send_message(user.id, "Câu 1", reply_markup=keyboard(("Có", "a:1:y")))
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await sent.edit_text("Câu 1", reply_markup=keyboard(("Có", "a:1:y")))
    edited = await sent.edit_text("Câu 1 — đã trả lời")
    assert edited.reply_markup is None and edited.edit_date is not None
    shown = user.last_bot_message
    assert shown.edited and shown.inline_keyboard == []
    with pytest.raises(SimError):
        user.press("Có", message_id=sent.message_id)


async def test_edit_reply_markup_and_missing_message(ptb_bot, user):
    sent = await ptb_bot.send_message(user.id, "x", reply_markup=keyboard(("A", "a")))
    await ptb_bot.edit_message_reply_markup(user.id, sent.message_id, reply_markup=keyboard(("B", "b")))
    assert user.last_bot_message.button_texts == [["B"]]
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await ptb_bot.edit_message_text("y", chat_id=user.id, message_id=999)
    with pytest.raises(BadRequest, match="(?i)message can't be edited"):
        await ptb_bot.edit_message_text("y", chat_id=user.id, message_id=1)  # the user's own message


async def test_callback_data_limit_counts_utf8_bytes(ptb_bot, user):
    await ptb_bot.send_message(user.id, "ok", reply_markup=keyboard(("x", "đ" * 32)))  # 64 bytes
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await ptb_bot.send_message(user.id, "no", reply_markup=keyboard(("x", "đ" * 32 + "a")))  # 65 bytes
    assert user.bot_message_count == 1


async def test_text_limit_counts_characters_after_entity_parsing(ptb_bot, user):
    await ptb_bot.send_message(user.id, "ệ" * 4096)
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await ptb_bot.send_message(user.id, "a" * 4097)
    bold = await ptb_bot.send_message(user.id, "<b>" + "a" * 4090 + "</b>", parse_mode="HTML")
    assert bold.text == "a" * 4090 and bold.entities[0].type == "bold"
    with pytest.raises(BadRequest, match="(?i)message caption is too long"):
        await ptb_bot.send_photo(user.id, png_bytes(), caption="c" * 1025)


async def test_html_that_telegram_rejects_is_rejected(ptb_bot, user):
    with pytest.raises(BadRequest, match='(?i)can\'t parse entities: Unsupported start tag ""'):
        await ptb_bot.send_message(user.id, "điểm < 50", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)reserved"):
        await ptb_bot.send_message(user.id, "Hạn chót 31.12", parse_mode="MarkdownV2")


async def test_blocked_and_never_started_users_are_forbidden(ptb_bot, emulator_server, user):
    stranger = emulator_server.create_user(2002, "Hùng")
    with pytest.raises(Forbidden, match="(?i)bot can't initiate conversation with a user"):
        await ptb_bot.send_message(stranger.id, "hello")
    user.block()
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await ptb_bot.send_message(user.id, "hello")
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await ptb_bot.send_message(424242, "hello")
    user.unblock()
    await ptb_bot.send_message(user.id, "welcome back")
    kinds = [u.my_chat_member.new_chat_member.status for u in await ptb_bot.get_updates() if u.my_chat_member]
    assert kinds == ["kicked", "member"]


async def test_rate_limit_answers_retry_after_and_counts():
    limits = RateLimits(per_chat_per_second=0.01, per_chat_burst=2)  # slow refill: the third send must wait
    async with EmulatorServer(rate_limits=limits) as server:
        alice = server.create_user(1, "A")
        alice.send_text("hi")
        async with make_bot(server) as bot:
            await bot.send_message(1, "one")
            await bot.send_message(1, "two")
            with pytest.raises(RetryAfter) as refused:
                await bot.send_message(1, "three")
        assert refused.value.retry_after in (dtm.timedelta(seconds=100), 100)
        assert (server.emulator.limiter.accepted, server.emulator.limiter.refused) == (2, 1)
        assert alice.bot_message_count == 2


def test_rate_limiter_refills_over_time_and_keeps_a_global_cap():
    now = [0.0]
    limiter = RateLimiter(RateLimits(global_per_second=3, per_chat_per_second=1, per_chat_burst=1),
                          clock=lambda: now[0])
    limiter.check(1, False)
    with pytest.raises(ApiError, match="retry after 1") as refused:
        limiter.check(1, False)
    assert refused.value.code == 429
    now[0] = 1.0
    limiter.check(1, False)  # refilled after a second
    limiter.check(2, False)
    limiter.check(3, False)
    with pytest.raises(ApiError, match="Too Many Requests"):
        limiter.check(4, False)  # a fresh chat, but the global bucket is spent for this second
    assert (limiter.accepted, limiter.refused) == (4, 2)


async def test_photo_upload_is_kept_and_downloadable(ptb_bot, emulator_server, user):
    chart = png_bytes(800, 600)
    sent = await ptb_bot.send_photo(user.id, chart, caption="Kết quả", filename="chart.png")
    assert (sent.photo[-1].width, sent.photo[-1].height) == (800, 600)
    assert user.last_bot_message.photo.data == chart and user.last_bot_message.caption == "Kết quả"
    downloaded = await (await ptb_bot.get_file(sent.photo[-1].file_id)).download_as_bytearray()
    assert bytes(downloaded) == chart
    again = await ptb_bot.send_photo(user.id, sent.photo[-1].file_id)  # re-send by file_id
    assert again.photo[-1].file_unique_id == sent.photo[-1].file_unique_id
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{emulator_server.base_url}/_sim/files/{sent.photo[-1].file_id}") as response:
            assert await response.read() == chart


async def test_photo_checks(ptb_bot, user):
    with pytest.raises(BadRequest, match="(?i)PHOTO_INVALID_DIMENSIONS"):
        await ptb_bot.send_photo(user.id, png_bytes(20, 500))
    with pytest.raises(BadRequest, match="(?i)PHOTO_INVALID_DIMENSIONS"):
        await ptb_bot.send_photo(user.id, png_bytes(6000, 4001))
    with pytest.raises(BadRequest, match="(?i)IMAGE_PROCESS_FAILED"):
        await ptb_bot.send_photo(user.id, b"not an image", filename="x.png")
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await ptb_bot.send_photo(user.id, "AgACnosuchfile")


async def test_user_documents_and_the_download_limit(ptb_bot, user):
    small = user.send_document(b"%PDF-1.4 evidence", "minh-chung.pdf", "application/pdf")
    big = user.send_document(b"%PDF-1.4 tiny", "big.pdf", "application/pdf", declared_size=25 * MB)
    updates = [u for u in await ptb_bot.get_updates() if u.message and u.message.document]
    assert [u.message.document.file_size for u in updates] == [17, 25 * MB]
    assert updates[0].message.document.file_name == "minh-chung.pdf"
    got = await (await ptb_bot.get_file(small.document.file_id)).download_as_bytearray()
    assert bytes(got) == b"%PDF-1.4 evidence"
    with pytest.raises(BadRequest, match="(?i)file is too big"):
        await ptb_bot.get_file(big.document.file_id)
    with pytest.raises(BadRequest, match="(?i)type of file mismatch"):
        await ptb_bot.send_photo(user.id, small.document.file_id)
    resent = await ptb_bot.send_document(user.id, small.document.file_id)
    assert resent.document.file_id == small.document.file_id


async def test_get_updates_long_poll_returns_on_arrival_and_offset_confirms(ptb_bot, emulator_server, user):
    first = await ptb_bot.get_updates()
    assert [u.message.text for u in first] == ["xin chào"]
    poll = asyncio.create_task(ptb_bot.get_updates(offset=first[-1].update_id + 1, timeout=30))
    calls = emulator_server.emulator.method_calls

    async def poll_is_waiting() -> None:
        while calls["getUpdates"] < 2:
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll_is_waiting(), 5)
    user.send_command("start", "INVITE42")
    (update,) = await asyncio.wait_for(poll, 5)  # returns on arrival, long before the 30 s poll timeout
    assert update.update_id == first[-1].update_id + 1
    message = update.message
    assert message.text == "/start INVITE42" and message.date.timestamp() > 0
    assert (message.entities[0].type, message.entities[0].offset, message.entities[0].length) == ("bot_command", 0, 6)
    assert message.from_user.language_code == "vi" and not message.from_user.is_bot
    assert await ptb_bot.get_updates(offset=update.update_id + 1) == ()


async def test_commands_are_kept_per_scope(ptb_bot, emulator_server, user):
    await ptb_bot.set_my_commands([BotCommand("start", "Bắt đầu")])
    await ptb_bot.set_my_commands([BotCommand("assess", "Tự đánh giá")], scope=BotCommandScopeChat(user.id))
    assert [c["command"] for c in user.visible_commands()] == ["assess"]
    assert [c.command for c in await ptb_bot.get_my_commands()] == ["start"]
    await ptb_bot.delete_my_commands(scope=BotCommandScopeChat(user.id))
    assert [c["command"] for c in user.visible_commands()] == ["start"]
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await ptb_bot.set_my_commands([BotCommand("Start", "x")])


async def test_webhook_blocks_polling_until_deleted(ptb_bot):
    await ptb_bot.set_webhook("https://example.invalid/hook")
    assert (await ptb_bot.get_webhook_info()).url == "https://example.invalid/hook"
    with pytest.raises(Exception, match="(?i)webhook is active"):
        await ptb_bot.get_updates()
    await ptb_bot.delete_webhook()
    assert await ptb_bot.get_updates() == ()


# ---- a real Application polling the emulator -----------------------------------------------------------

async def test_application_answers_start_and_button_press(emulator_server):
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat.type != "private":
            await update.effective_message.reply_text("Chỉ làm việc trong chat riêng.")
            return
        await update.effective_message.reply_text(
            f"Chào {update.effective_user.first_name} {context.args}", reply_markup=keyboard(("Đồng ý", "ok:1")))

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer("Đã ghi nhận")
        await query.edit_message_text(f"{query.message.text} ✓ {query.data}")

    app = (ApplicationBuilder().token(emulator_server.token).base_url(emulator_server.bot_base_url)
           .base_file_url(emulator_server.file_base_url).build())
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    user = emulator_server.create_user(3003, "Thảo")
    group = emulator_server.emulator.create_group("Tổ CCHC", [user.id])
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=10)
    try:
        user.send_command("start", "X1")
        (greeting,) = await user.wait_for_reply(timeout=5)
        assert greeting.text == "Chào Thảo ['X1']" and greeting.button_texts == [["Đồng ý"]]

        query = user.press("Đồng ý")
        answered = await user.wait_for_answer(query, timeout=5)
        assert answered.text == "Đã ghi nhận" and not answered.show_alert
        (edited,) = await user.wait_for_reply(timeout=5, until=lambda ms: ms[-1].edited)
        assert edited.message_id == greeting.message_id and edited.text == "Chào Thảo ['X1'] ✓ ok:1"
        assert edited.inline_keyboard == []
        assert user.bot_message_count == 1  # edited in place, not re-sent

        user.send_command("start", chat=group)
        (declined,) = await user.wait_for_reply(timeout=5, chat=group)
        assert declined.text == "Chỉ làm việc trong chat riêng." and declined.chat.type == "group"
        assert group.id < 0
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


# ---- the simulated-user HTTP API ------------------------------------------------------------------------

async def test_sim_http_api_drives_a_conversation(ptb_bot, emulator_server):
    base = f"{emulator_server.base_url}/_sim"
    async with aiohttp.ClientSession() as http:
        async def call(verb: str, path: str, **kwargs) -> tuple[int, dict]:
            async with http.request(verb, base + path, **kwargs) as response:
                return response.status, await response.json()

        status, created = await call("POST", "/users", json={"id": 77, "first_name": "Quân", "language_code": "en"})
        assert status == 200 and created["result"]["language_code"] == "en"
        status, body = await call("POST", "/users/77/command", json={"command": "start"})
        assert body["result"]["text"] == "/start"
        (update,) = await ptb_bot.get_updates()
        assert update.message.entities[0].type == "bot_command"

        events = asyncio.create_task(call("GET", "/events", params={"user": "77", "since": "1", "timeout": "10"}))
        await ptb_bot.send_message(77, "Chọn", reply_markup=keyboard(("Một", "n:1"), ("Hai", "n:2")))
        _, polled = await asyncio.wait_for(events, 5)
        assert [e["type"] for e in polled["result"]["events"]] == ["message"]
        assert polled["result"]["events"][0]["message"]["buttons"][1][0]["callback_data"] == "n:2"

        _, waited = await call("GET", "/users/77/wait", params={"since": "1", "timeout": "1"})
        assert [m["text"] for m in waited["result"]] == ["Chọn"]

        status, pressed = await call("POST", "/users/77/press", json={"callback_data": "n:2"})
        assert status == 200 and pressed["result"]["data"] == "n:2"
        status, missing = await call("POST", "/users/77/press", json={"text": "Ba"})
        assert status == 400 and "no button" in missing["description"]
        status, forged = await call("POST", "/users/77/forge", json={"data": "admin:delete-all"})
        assert status == 200
        queries = [u.callback_query for u in await ptb_bot.get_updates(offset=update.update_id + 1)]
        assert [q.data for q in queries] == ["n:2", "admin:delete-all"]
        assert queries[0].message.text == "Chọn" and queries[0].message.date.timestamp() > 0
        await queries[0].answer("OK", show_alert=True)
        _, answers = await call("GET", "/users/77/callbacks")
        assert [(a["answered"], a["text"], a["show_alert"]) for a in answers["result"]] == [
            (True, "OK", True), (False, None, False)]

        upload = {"file_name": "bao-cao.pdf", "mime_type": "application/pdf",
                  "data_b64": base64.b64encode(b"%PDF-1.4 x").decode(), "declared_size": 21 * MB}
        _, doc = await call("POST", "/users/77/document", json=upload)
        assert doc["result"]["document"]["file_size"] == 21 * MB
        _, chat = await call("GET", "/users/77/chat")
        assert [m["sender"] for m in chat["result"]["messages"]] == ["user", "bot", "user"]
        _, stats = await call("GET", "/stats")
        assert stats["result"]["bot_sent"]["77"] == 1 and stats["result"]["method_calls"]["sendMessage"] == 1
        status, _ = await call("POST", "/users/404/text", json={"text": "hi"})
        assert status == 404
        status, _ = await call("POST", "/users/77/block")
        with pytest.raises(Forbidden):
            await ptb_bot.send_message(77, "still there?")


async def test_raw_bot_api_accepts_json_and_answers_envelopes(emulator_server):
    url = f"{emulator_server.base_url}/bot{emulator_server.token}"
    emulator_server.create_user(5, "Ngọc").send_text("hi")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/sendMessage", json={"chat_id": 5, "text": "json body"}) as response:
            body = await response.json()
        assert body["ok"] and body["result"]["text"] == "json body" and body["result"]["from"]["is_bot"]
        async with http.post(f"{url}/editMessageText",
                             data={"chat_id": "5", "message_id": "2", "text": "json body"}) as response:
            body = await response.json()
        assert (response.status, body["ok"], body["error_code"]) == (400, False, 400)
        async with http.get(f"{emulator_server.base_url}/bot1:bad/getMe") as response:
            assert response.status == 401 and (await response.json())["description"] == "Unauthorized"


# ---- formatting --------------------------------------------------------------------------------------------

def test_html_entities_use_utf16_offsets():
    text, entities = markup.parse('😀 <b>Điểm</b> &lt;3 <a href="https://x.vn/?a=1&amp;b=2">link</a>', "HTML")
    assert text == "😀 Điểm <3 link"
    assert entities == [{"type": "bold", "offset": 3, "length": 4},
                        {"type": "text_link", "offset": 11, "length": 4, "url": "https://x.vn/?a=1&b=2"}]
    with pytest.raises(markup.EntityParseError, match="(?i)Can't find end tag"):
        markup.parse("<b>open", "HTML")
    with pytest.raises(markup.EntityParseError, match="(?i)Unmatched end tag"):
        markup.parse("<b><i>x</b></i>", "HTML")


def test_markdown_v2_escapes_and_entities():
    text, entities = markup.parse(r"*Kết quả* 95\.5 điểm [xem](https://x.vn)", "MarkdownV2")
    assert text == "Kết quả 95.5 điểm xem"
    assert [e["type"] for e in entities] == ["bold", "text_link"]
    # legacy Markdown does not nest: an underscore inside bold is literal
    assert markup.parse("*a_b*", "Markdown") == ("a_b", [{"type": "bold", "offset": 0, "length": 3}])


def test_command_entity_covers_bot_username():
    assert markup.command_entities("/start@parbot_emulator_bot x") == [
        {"type": "bot_command", "offset": 0, "length": 26}]
    assert markup.command_entities("start") == []


async def test_wait_for_reply_times_out_with_the_chat_tail(user):
    with pytest.raises(TimeoutError, match="xin chào"):
        await user.wait_for_reply(timeout=0.05)


def test_emulator_refuses_impossible_user_actions():
    emulator = Emulator()
    user = SimUser.create(emulator, 9, "Vy")
    with pytest.raises(SimError):
        user.press("anything")
    with pytest.raises(SimError):
        user.forge_callback("x")
    user.block()
    with pytest.raises(SimError, match="(?i)blocked"):
        user.send_text("hello")


# ---- strict where a bot could trip -----------------------------------------------------------------------

async def test_reply_markup_over_100_buttons_or_10_kb_is_too_long(ptb_bot, user):
    await ptb_bot.send_message(user.id, "100", reply_markup=keyboard(*[(f"u{n}", f"u:{n}") for n in range(100)]))
    with pytest.raises(BadRequest, match=r"^Reply markup is too long$"):
        await ptb_bot.send_message(user.id, "101", reply_markup=keyboard(*[(f"u{n}", f"u:{n}") for n in range(101)]))
    wide = [("Ủy ban nhân dân xã " + "Đ" * 60, f"u:{n}") for n in range(60)]  # 60 buttons, over 10 kB
    with pytest.raises(BadRequest, match="^Reply markup is too long$"):
        await ptb_bot.send_message(user.id, "wide", reply_markup=keyboard(*wide))
    sent = await ptb_bot.send_message(user.id, "x")
    with pytest.raises(BadRequest, match="^Reply markup is too long$"):
        await sent.edit_reply_markup(keyboard(*wide))
    assert user.bot_message_count == 2


async def test_limits_answer_telegrams_exact_descriptions(ptb_bot, user):
    cases = [(ptb_bot.send_message(user.id, "a" * 4097), "Message is too long"),
             (ptb_bot.send_photo(user.id, png_bytes(), caption="c" * 1025), "Message caption is too long"),
             (ptb_bot.send_message(user.id, "x", reply_markup=keyboard(("x", "a" * 65))), "Button_data_invalid")]
    for call, description in cases:
        with pytest.raises(BadRequest) as refused:
            await call
        assert refused.value.message == description  # PTB capitalises Telegram's "Bad Request: <what>"


async def test_callback_answer_expires_after_15_seconds(ptb_bot):
    now = [100.0]
    async with EmulatorServer() as server:
        server.emulator.clock = lambda: now[0]
        user = server.create_user(4, "Hà")
        user.send_text("hi")
        async with make_bot(server) as bot:
            sent = await bot.send_message(4, "Chọn", reply_markup=keyboard(("A", "a"), ("B", "b")))
            first = user.press("A", message_id=sent.message_id)
            now[0] += 14.9
            assert await bot.answer_callback_query(first.id)
            second = user.press("B", message_id=sent.message_id)
            now[0] += 15.1
            with pytest.raises(BadRequest, match="(?i)query is too old and response timeout expired or query ID"):
                await bot.answer_callback_query(second.id)
            assert (first.answered, second.answered) == (True, False)


async def test_user_edit_arrives_as_edited_message(ptb_bot, user):
    typed = user.send_text("0")
    user.edit_text(typed, "0,5")
    updates = await ptb_bot.get_updates()
    edited = [u.edited_message for u in updates if u.edited_message]
    assert [e.text for e in edited] == ["0,5"] and edited[0].message_id == typed.message_id
    assert edited[0].edit_date is not None
    assert [u.message.text for u in updates if u.message] == ["xin chào", "0"]  # the original stays as sent
    with pytest.raises(SimError):
        user.edit_text(typed, "0,5")  # unchanged
    bot_message = await ptb_bot.send_message(user.id, "bot text")
    with pytest.raises(SimError):
        user.edit_text(user.chat.messages[bot_message.message_id], "not mine")


async def test_album_shares_a_media_group_id(ptb_bot, user):
    sent = user.send_album([png_bytes(), png_bytes(color="red"), png_bytes(color="green")], caption="Minh chứng")
    assert len(sent) == 3
    photos = [u.message for u in await ptb_bot.get_updates() if u.message and u.message.photo]
    assert len({m.media_group_id for m in photos}) == 1 and photos[0].media_group_id
    assert [m.caption for m in photos] == ["Minh chứng", None, None]
    with pytest.raises(SimError):
        user.send_album([png_bytes()])


async def test_second_poller_ends_the_first_with_409_conflict(emulator_server):
    async with make_bot(emulator_server) as first, make_bot(emulator_server) as second:
        waiting = asyncio.create_task(first.get_updates(timeout=20))
        calls = emulator_server.emulator.method_calls

        async def first_is_waiting() -> None:
            while calls["getUpdates"] < 1:
                await asyncio.sleep(0.01)
        await asyncio.wait_for(first_is_waiting(), 5)
        await asyncio.sleep(0.05)  # the first request is inside the emulator's long poll
        other = asyncio.create_task(second.get_updates(timeout=20))
        with pytest.raises(Conflict, match="terminated by other getUpdates request; make sure that only one bot"):
            await asyncio.wait_for(waiting, 10)
        emulator_server.create_user(8, "Nam").send_text("hi")
        (update,) = await asyncio.wait_for(other, 10)
        assert update.message.text == "hi" and emulator_server.emulator.conflicts == 1


# ---- faults for chaos tests ------------------------------------------------------------------------------

def test_faults_replay_with_a_seed_and_respect_methods():
    def run(seed: int) -> list:
        faults = Faults(seed=seed, server_error=0.2, reset=0.2, lost_reply=0.2, too_many=0.2,
                        methods=frozenset({"sendMessage"}))
        return [faults.draw("sendMessage") for _ in range(50)], faults
    (draws, faults), (again, _) = run(7), run(7)
    assert draws == again and set(draws) == {None, "server_error", "reset", "lost_reply", "too_many"}
    assert sum(faults.injected.values()) == sum(d is not None for d in draws)
    assert faults.draw("getUpdates") is None


async def test_each_fault_reaches_the_bot_as_telegram_would_fail():
    faults = Faults(timeout_delay=0.5)
    async with EmulatorServer(faults=faults) as server:
        user = server.create_user(6, "An")
        user.send_text("hi")
        async with make_bot(server) as bot:
            faults.server_error = 1.0
            with pytest.raises(NetworkError, match="Bad Gateway"):
                await bot.send_message(6, "5xx")
            faults.server_error, faults.too_many, faults.retry_after = 0.0, 1.0, 3
            with pytest.raises(RetryAfter) as limited:
                await bot.send_message(6, "429")
            assert limited.value.retry_after in (dtm.timedelta(seconds=3), 3)
            faults.too_many, faults.reset = 0.0, 1.0
            with pytest.raises(NetworkError):
                await bot.send_message(6, "reset")
            faults.reset, faults.timeout = 0.0, 1.0
            with pytest.raises(NetworkError):  # TimedOut is a NetworkError; the emulator drops after 0.5 s
                await bot.send_message(6, "timeout")
            assert user.bot_message_count == 0  # none of these were applied
            faults.timeout, faults.lost_reply = 0.0, 1.0
            with pytest.raises(NetworkError):
                await bot.send_message(6, "lost")
            assert [m.text for m in user.bot_messages()] == ["lost"]  # applied, though the bot saw a failure
            faults.lost_reply, faults.latency = 0.0, (0.05, 0.1)
            await bot.send_message(6, "slow but fine")
        assert dict(faults.injected) == {"server_error": 1, "too_many": 1, "reset": 1, "timeout": 1,
                                         "lost_reply": 1}


async def test_a_held_method_signals_waits_for_release_and_is_not_applied(ptb_bot, emulator_server, user):
    hold = emulator_server.emulator.hold("sendMessage")
    sending = asyncio.ensure_future(ptb_bot.send_message(user.id, "giữ lại"))
    await asyncio.wait_for(hold.held.wait(), 30)
    assert hold.params.str("text") == "giữ lại" and not sending.done()
    hold.release()
    with pytest.raises(NetworkError):  # its caller is taken to be gone: the 500 is never applied
        await sending
    assert user.bot_messages() == []
    await ptb_bot.send_message(user.id, "lần sau")  # one call held, the next ones pass
    assert [m.text for m in user.bot_messages()] == ["lần sau"]


async def test_settled_returns_once_every_request_sent_is_served(emulator_server, user):
    """Requests written on connections then dropped unread, as a killed process leaves them, are served before
    ``settled`` returns."""
    for n in range(5):
        body = json.dumps({"chat_id": user.id, "text": str(n)}).encode()
        _reader, writer = await asyncio.open_connection(emulator_server.host, emulator_server.port)
        writer.write(f"POST /bot{emulator_server.token}/sendMessage HTTP/1.1\r\nHost: x\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        writer.close()  # the client is gone before any answer
    await emulator_server.settled(30)
    assert sorted(m.text for m in user.bot_messages()) == ["0", "1", "2", "3", "4"]
