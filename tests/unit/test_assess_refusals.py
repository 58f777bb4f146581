"""What the officer cannot do yet is said at the press, before they type or confirm (issue 12, sandbox
training): an explanation before an answer, submitting before every item is answered."""
from __future__ import annotations

import pytest

from parbot.core.conversation.events import Command, Press
from parbot.core.conversation.state import Awaiting
from parbot.i18n import t
from tests.unit.test_conversation_engine import _world, option


@pytest.fixture
def chat(engine, tmp_path):
    return _world(engine, tmp_path)


def test_an_explanation_is_refused_at_once_before_an_answer(chat):
    opened = chat(Press(option(chat(Command("assess")), "ar", last=0)))
    assert "1.1.1. " in opened.screens[0].text and chat.answer("1.1.1") is None
    refused = chat(Press(option(opened, "ex")))
    assert refused.alert and refused.toast == t("error.assess.answer_first", "vi", item="1.1.1")
    assert refused.screens == () and chat.state().awaiting is not Awaiting.EXPLANATION


def test_submitting_nothing_is_refused_before_are_you_sure(chat):
    menu = chat(Command("assess"))
    tag = option(menu, "ar", last=0).split(":")[0]
    refused = chat(Press(f"{tag}:sb:X1"))
    assert refused.alert and refused.toast.startswith("Chưa thể nộp")
    assert all(t("assess.submit.confirm", "vi") not in s.text for s in refused.screens)
