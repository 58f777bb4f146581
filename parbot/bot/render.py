"""Telegram as one renderer of the conversation's Screens: text messages with inline keyboards whose
callback data is each option's id."""
from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit
from telegram.ext import ContextTypes

from ..core.conversation.screen import Reply, Screen
from ..core.services.people import Identity
from ..core.text import split_within
from .handlers.common import Turn


def markup(screen: Screen) -> InlineKeyboardMarkup | None:
    if not screen.rows:
        return None
    for option in screen.options:  # a flow's bug, caught here rather than as Telegram's refusal
        if len(option.id.encode()) > InlineKeyboardButtonLimit.MAX_CALLBACK_DATA:
            raise ValueError(f"option id over {InlineKeyboardButtonLimit.MAX_CALLBACK_DATA} bytes: {option.id}")
    return InlineKeyboardMarkup([[InlineKeyboardButton(o.label, callback_data=o.id) for o in row]
                                 for row in screen.rows])


def messages(screen: Screen) -> list[str]:
    """The screen's text in messages within Telegram's limit; the keyboard goes on the last one. A web link
    (an item's full rules) is always offered, as a line: the alternative to reading it in the chat; so is the
    upload page where a file is awaited, the alternative to sending it in the chat."""
    blocks = screen.blocks + ((screen.link.text,) if screen.link else ()) + ((screen.upload,) if screen.upload else ())
    return split_within(blocks, MessageLimit.MAX_TEXT_LENGTH) or [""]


async def deliver(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply) -> None:
    """Answer the pressed button first (its toast or a refusal's alert: the spinner stops and Telegram's answer
    window is not spent on the edit), then send or edit the Reply's screens."""
    turn = Turn(update, context, Identity(None, ()))  # only its send/show/answer: the person was the engine's
    await turn.answer(reply.toast, alert=reply.alert)
    for screen in reply.screens:
        *heads, last = messages(screen)
        for text in heads:
            await turn.send(text)
        if screen.replace and not heads:
            await turn.show(last, markup(screen))
        else:
            await turn.send(last, markup(screen))
