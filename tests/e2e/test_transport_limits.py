"""Screens within Telegram's limits: the appraisers' unit list in pages with ‹ ›, filtered by typing part of a
unit's name; long texts in several messages cut at line ends."""
from __future__ import annotations

import json

import pytest
from e2e_support import invite, join
from telegram.constants import InlineKeyboardMarkupLimit, MessageLimit
from test_appraisal_e2e import ADMIN, lower, press, setup_period

from parbot.core.conversation.callbacks import encode
from parbot.core.text import split_within
from parbot.core.conversation.appraise import PAGE_SIZE
from parbot.core.services import appraisal as ap
from parbot.core.services.assessment import current_tag
from parbot.i18n import t
from parbot.storage.uow import SqlUnitOfWork

pytestmark = pytest.mark.e2e
MARKUP_BYTES = 10 * 1024  # Telegram refuses markup of about this size ("reply markup is too long")


def units_on(message) -> list[str]:
    return [b["callback_data"].split(":")[2] for row in message.inline_keyboard for b in row
            if b["callback_data"].split(":")[1] == "pu"]


def within_limits(message) -> bool:
    buttons = sum(len(row) for row in message.inline_keyboard)
    size = len(json.dumps({"inline_keyboard": message.inline_keyboard}, ensure_ascii=False).encode())
    return buttons <= InlineKeyboardMarkupLimit.TOTAL_BUTTON_NUMBER and size < MARKUP_BYTES // 2


async def test_the_unit_list_comes_in_pages_and_typing_filters_it(bot, emulator_server, engine):
    setup_period(engine)
    tag = current_tag(SqlUnitOfWork(engine))
    council = emulator_server.create_user(8101, "Hội đồng tỉnh", language_code="vi")
    council.send_command("start", invite(engine, "appraiser", block="xa"))  # every commune: 32 units
    await council.wait_for_reply()

    council.send_command("appraise")
    (first,) = await council.wait_for_reply()
    assert len(units_on(first)) == PAGE_SIZE and within_limits(first)
    assert first.find_button(text=t("button.page.previous", "vi")) is None
    assert t("units.page", "vi", page=1, pages=2, count=32) in first.text
    seen = units_on(first)
    council.press(t("button.page.next", "vi"))
    (second,) = await council.wait_for_reply()
    assert second.message_id == first.message_id and within_limits(second)  # the same message, edited
    assert second.find_button(text=t("button.page.next", "vi")) is None
    seen += units_on(second)
    assert len(seen) == len(set(seen)) == 32
    council.press(t("button.page.previous", "vi"))
    (back,) = await council.wait_for_reply()
    assert units_on(back) == units_on(first)

    council.send_text("binh dinh")  # without diacritics, as people often type
    (found,) = await council.wait_for_reply()
    assert units_on(found) == ["X0106"]
    assert t("units.filtered", "vi", query="binh dinh", count=1) in found.text
    council.send_text("Phường")
    (wards,) = await council.wait_for_reply()
    assert len(units_on(wards)) == 10 and wards.find_button(text=t("button.page.next", "vi")) is None
    council.send_text("không có đơn vị này")
    (nothing,) = await council.wait_for_reply()
    assert t("units.no_match", "vi", query="không có đơn vị này") in nothing.text
    assert len(units_on(nothing)) == PAGE_SIZE  # the full list again

    council.press(callback_data=encode(tag, "pu", "X0101"))
    (unit_screen,) = await council.wait_for_reply()
    assert "X0101" in unit_screen.text and units_on(unit_screen) == []
    council.send_text("binh dinh")  # the list is no longer shown: typing does not bring it back
    replies = await council.wait_for_reply()
    assert all(units_on(m) == [] for m in replies)


async def test_the_explain_prompt_with_a_4000_character_reason_fits_one_message(bot, emulator_server, engine):
    setup_period(engine)
    tag = current_tag(SqlUnitOfWork(engine))
    council = emulator_server.create_user(8111, "Hội đồng tỉnh", language_code="vi")
    council.send_command("start", invite(engine, "appraiser", block="so"))
    await council.wait_for_reply()
    officer = await join(emulator_server, engine, 8112, "Lan", "officer", "SNV")
    council.send_command("appraise")
    await council.wait_for_reply()
    reason = "Không có kế hoạch CCHC năm. " * 143  # 4,004 characters, as long as Telegram lets one type
    await lower(council, tag, "1.1.4", "0", reason[:MessageLimit.MAX_TEXT_LENGTH - 96])
    ap.close_round(SqlUnitOfWork(engine), caller=ADMIN, round_no=1, block="so", force=True, year=2020)
    # The round-1 notice comes from the outbox sender at its own pace: awaited first, it cannot pass for the prompt.
    heading = t("notice.round1", "vi", unit="SNV", name="Sở Nội vụ", total="", maximum="", index="").split("\n")[0]
    await officer.wait_for_reply(30, until=lambda msgs: any((m.text or "").startswith(heading) for m in msgs))
    officer.send_command("explain")
    await officer.wait_for_reply(until=lambda msgs: any(m.inline_keyboard for m in msgs))
    (prompt,) = await press(officer, encode(tag, "xi", "SNV", "1.1.4"))
    assert len(prompt.text) <= MessageLimit.MAX_TEXT_LENGTH
    assert reason[:1000] in prompt.text and prompt.text.endswith(t("explain.prompt", "vi", code="", own="",
                                                                   appraised="", reason="").split("\n")[-1])


def test_long_texts_are_cut_at_line_ends_within_telegrams_limit():
    lines = [f"{n:04d} " + "ư" * 95 for n in range(120)]  # 12,000 characters
    parts = split_within(["\n".join(lines)], MessageLimit.MAX_TEXT_LENGTH)
    assert all(len(p) <= MessageLimit.MAX_TEXT_LENGTH for p in parts) and len(parts) == 3
    assert "\n".join(parts).split("\n") == lines  # nothing lost, every cut at a line end
    huge = "x" * (MessageLimit.MAX_TEXT_LENGTH * 2 + 5)
    assert [len(p) for p in split_within([huge], MessageLimit.MAX_TEXT_LENGTH)] == [MessageLimit.MAX_TEXT_LENGTH] * 2 + [5]
    assert split_within(["ngắn"], MessageLimit.MAX_TEXT_LENGTH) == ["ngắn"]
