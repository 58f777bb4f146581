"""Telegram's renderer of Screens: option ids become callback data; long texts stay within Telegram's limit."""
from __future__ import annotations

import pytest
from telegram.constants import MessageLimit

from parbot.bot.render import markup, messages
from parbot.core.conversation.screen import Option, Screen


def test_options_become_inline_buttons_with_their_ids_as_callback_data():
    screen = Screen(blocks=("Câu hỏi?",), rows=((Option("ab12:a:X1:0:y", "✅ Có"), Option("ab12:a:X1:0:n", "❌ Không")),
                                                 (Option("ab12:m:X1", "Danh mục"),)))
    keyboard = markup(screen).inline_keyboard
    assert [[(b.text, b.callback_data) for b in row] for row in keyboard] == [
        [("✅ Có", "ab12:a:X1:0:y"), ("❌ Không", "ab12:a:X1:0:n")], [("Danh mục", "ab12:m:X1")]]
    assert markup(Screen(blocks=("Chỉ có chữ",))) is None


def test_an_option_id_over_64_bytes_is_refused_before_telegram_sees_it():
    with pytest.raises(ValueError, match="64 bytes"):
        markup(Screen(blocks=("x",), rows=((Option("x" * 65, "quá dài"),),)))


def test_a_long_screen_is_split_between_blocks_and_lines_within_the_limit():
    limit = MessageLimit.MAX_TEXT_LENGTH
    lines = "\n".join(f"Dòng {i}: " + "đ" * 90 for i in range(100))  # about 10,000 characters
    parts = messages(Screen(blocks=("Tiêu đề", lines, "Cuối")))
    assert len(parts) > 2 and all(len(p) <= limit for p in parts)
    assert parts[0].startswith("Tiêu đề") and parts[-1].endswith("Cuối")
    assert "".join(parts).replace("\n", "") == ("Tiêu đề" + lines + "Cuối").replace("\n", "")
    assert messages(Screen(blocks=("Ngắn", "", "gọn"))) == ["Ngắn\n\ngọn"]
