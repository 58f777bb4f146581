"""Telegram's edited messages in the officer's flow, through the real bot and the emulator."""
from __future__ import annotations

import pytest
from e2e_support import join, rows
from helpers import screen

from parbot.i18n import t
from parbot.storage.tables import AnswerRow

pytestmark = pytest.mark.e2e


async def test_an_edited_count_replaces_the_awaited_one_and_an_edited_command_is_not_run_again(
        bot, emulator_server, engine):
    officer = await join(emulator_server, engine, 7301, "Hoa", "officer", "X0101")
    tag = screen(officer).inline_keyboard[0][0]["callback_data"].split(":")[0]
    officer.forge_callback(f"{tag}:i:X0101:3")  # 1.1.4, a ratio: two typed counts
    await officer.wait_for_reply()
    assert "1.1.4. " in screen(officer).text

    typed = officer.send_text("9")
    await officer.wait_for_reply()
    officer.edit_text(typed, "8")
    (replaced,) = await officer.wait_for_reply()
    assert replaced.text.startswith(t("assess.edit.replaced", "vi"))
    officer.send_text("10")
    await officer.wait_for_reply()
    (answer,) = rows(engine, AnswerRow, unit_code="X0101", item_code="1.1.4")
    assert answer.value["numerator"] == "8"

    command = officer.send_command("assess")
    await officer.wait_for_reply()
    officer.edit_text(command, "/assess X0101")
    officer.send_command("status")  # handled after the edit: only its reply arrives
    (status,) = await officer.wait_for_reply()
    assert t("button.submit", "vi") in [b["text"] for row in status.inline_keyboard for b in row]
