"""Zalo's renderer of Screens: numbered (or lettered) options, typed words, texts within 2,000 characters,
and a typed "2" or "tiếp" becoming the Press of that option."""
from __future__ import annotations

from parbot.bot.zalo.render import press_of, render_reply, render_screen, split
from parbot.core.conversation.events import Press
from parbot.core.conversation.screen import Expects, Option, Reply, Screen

YES, NO = Option("ab12:a:X1:0:y", "✅ Có"), Option("ab12:a:X1:0:n", "❌ Không")
NEXT = Option("ab12:i:X1:1", "Câu tiếp theo", "tiếp")
MENU = Option("ab12:m:X1", "Danh mục", "menu")


def test_options_are_numbered_with_the_reply_line_and_their_words():
    rendered = render_screen(Screen(blocks=("1.1. Câu hỏi?",), rows=((YES, NO), (NEXT, MENU)),
                                    expects=Expects.PRESS), "vi")
    (text,) = rendered.texts
    assert text == ("1.1. Câu hỏi?\n\n1. ✅ Có\n2. ❌ Không\n3. Câu tiếp theo (tiếp)\n4. Danh mục (menu)\n"
                    "Trả lời 1, 2, 3 hoặc 4, hoặc gõ: tiếp, menu")
    assert rendered.choices == {"1": YES.id, "2": NO.id, "3": NEXT.id, "tiếp": NEXT.id, "4": MENU.id,
                                "menu": MENU.id}
    english = render_screen(Screen(blocks=("Q?",), rows=((YES, NO),)), "en")
    assert english.texts[0].endswith("Reply 1 or 2")


def test_a_screen_waiting_for_a_figure_letters_its_options_so_a_typed_digit_stays_the_figure():
    rendered = render_screen(Screen(blocks=("Nhập số hồ sơ",), rows=((NEXT,), (MENU,)), expects=Expects.NUMBER),
                             "vi")
    assert "a. Câu tiếp theo (tiếp)\nb. Danh mục (menu)\nGõ số liệu, hoặc trả lời a hoặc b để chọn" \
        in rendered.texts[0]
    assert "1" not in rendered.choices and rendered.choices["a"] == NEXT.id


def test_telegrams_own_buttons_are_not_offered_on_zalo():
    """"pe" (send the item's files) is a Telegram handler's: listed on Zalo, typing its number crashed the turn."""
    files = Option("ab12:pe:X1:1.1.1", "📎 Tệp kiểm chứng")
    rendered = render_screen(Screen(blocks=("1.1.1",), rows=((files,), (MENU,))), "vi")
    assert rendered.choices == {"1": MENU.id, "menu": MENU.id} and "Tệp" not in rendered.texts[0]


def test_a_screen_without_options_has_no_reply_line():
    rendered = render_screen(Screen(blocks=("Đã lưu.",)), "vi")
    assert rendered.texts == ("Đã lưu.",) and rendered.choices == {}


def test_long_texts_are_split_within_2000_characters_on_line_boundaries():
    lines = [f"Dòng {i}: " + "ư" * 90 for i in range(60)]  # about 6,000 characters
    texts = split(["Tiêu đề", "\n".join(lines), "Cuối"])
    assert len(texts) >= 3 and all(len(x) <= 2000 for x in texts)
    assert texts[0].startswith("Tiêu đề") and texts[-1].endswith("Cuối")
    assert [line for x in texts for line in x.split("\n") if line.startswith("Dòng")] == lines  # no line cut
    assert split(["x" * 4500]) == ("x" * 2000, "x" * 2000, "x" * 500)


def test_a_reply_says_a_refusal_first_and_keeps_the_options_of_its_last_screen():
    reply = Reply(screens=(Screen(blocks=("A",), rows=((YES,),)), Screen(blocks=("B",), rows=((MENU,),)),
                           Screen(blocks=("Gõ tổng số",), expects=Expects.NUMBER)),
                  toast="Hồ sơ đã nộp", alert=True)
    rendered = render_reply(reply, "vi")
    assert rendered.texts[0].startswith("Hồ sơ đã nộp") and rendered.texts[-1].endswith("Gõ tổng số")
    assert rendered.choices == {"1": MENU.id, "menu": MENU.id}
    assert render_reply(Reply(toast="Đã lưu"), "vi").texts == ("Đã lưu",)
    assert "Đã lưu" not in render_reply(Reply(screens=(Screen(blocks=("C",)),), toast="Đã lưu"), "vi").texts[0]


def test_typed_numbers_and_words_become_presses():
    choices = render_screen(Screen(blocks=("Q",), rows=((YES, NO), (NEXT,))), "vi").choices
    assert press_of(choices, " 2 ") == Press(NO.id)
    assert press_of(choices, "TIẾP") == Press(NEXT.id)
    assert press_of(choices, "tie\u0302\u0301p") == Press(NEXT.id)  # typed decomposed: NFC first
    assert press_of(choices, "7") is None and press_of({}, "1") is None
