"""The conversation's typed records: chat state round-trips through JSON, old rows start afresh."""
from __future__ import annotations

import json

from parbot.core.conversation.screen import Expects, Option, Reply, Screen
from parbot.core.conversation.state import SCHEMA, Awaiting, ChatState


def test_chat_state_round_trips_through_json():
    state = ChatState(unit="X01", slot=7, seen=12).waiting(Awaiting.INPUT, values={"numerator": "3"})
    stored = json.loads(json.dumps(state.dump()))
    assert stored["schema"] == SCHEMA
    again = ChatState.load(stored)
    assert again == state and again.awaiting is Awaiting.INPUT and again.values == {"numerator": "3"}


def test_an_old_untyped_row_starts_afresh_but_keeps_seen():
    state = ChatState.load({"unit": "X01", "slot": 3, "await": "input", "seen": 41})
    assert state.awaiting is Awaiting.NOTHING and state.unit is None and state.seen == 41


def test_screen_text_joins_blocks_and_lists_options():
    yes, no = Option("a1", "Có", "có"), Option("a2", "Không")
    screen = Screen(blocks=("Header", "", "Question?"), rows=((yes, no),), expects=Expects.PRESS)
    assert screen.text == "Header\n\nQuestion?"
    assert screen.options == [yes, no]
    assert Reply(screens=(screen,)).toast is None
