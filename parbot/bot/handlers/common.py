"""What every handler does: find the person, run a service off the event loop, reply from the catalogs."""
from __future__ import annotations

import asyncio
import functools
import logging
from functools import partial
from typing import Any, Awaitable, Callable

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import MessageLimit
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from ...core.errors import DomainError
from ...core.permissions import Caller
from ...core.services import people
from ...core.services.assessment import current_tag
from ...core.services.people import Identity
from ...i18n import error_text, language, t
from ...core.conversation.callbacks import Callback, MalformedCallback, decode
from ...core.text import split_within
from ..deps import Deps

log = logging.getLogger("parbot.bot")


class Turn:
    """One update being handled: who sent it, in which language, and how to answer."""

    def __init__(self, update: Update, context: ContextTypes.DEFAULT_TYPE, identity: Identity) -> None:
        self.update = update
        self.context = context
        self.identity = identity
        self.deps: Deps = context.application.bot_data["deps"]
        self.answered = False  # Telegram takes one answer per callback query
        user = update.effective_user
        self.lang = identity.language or language(user.language_code if user else None)

    @classmethod
    async def start(cls, update: Update, context: ContextTypes.DEFAULT_TYPE) -> "Turn":
        deps: Deps = context.application.bot_data["deps"]
        identity = await asyncio.to_thread(people.identify, deps.uow(), update.effective_user.id)
        return cls(update, context, identity)

    @property
    def person_id(self) -> int:
        return self.identity.person.id  # type: ignore[union-attr]

    @property
    def caller(self) -> Caller:
        return Caller.person(self.person_id, self.identity.grants)

    @property
    def has_role(self) -> bool:
        return bool(self.identity.grants)

    @property
    def tz(self) -> str:
        return self.deps.settings.timezone

    def t(self, key: str, **params: Any) -> str:
        return t(key, self.lang, **params)

    def error(self, error: DomainError) -> str:
        return error_text(error, self.lang, self.tz)

    async def run(self, service: Callable, *args: Any, **kwargs: Any) -> Any:
        """A sync service in a worker thread, with a fresh unit of work as its first argument."""
        return await asyncio.to_thread(partial(service, self.deps.uow(), *args, **kwargs))

    async def send(self, text: str, markup: InlineKeyboardMarkup | None = None) -> int:
        """Send, in several messages when the text exceeds Telegram's limit; the keyboard goes on the last."""
        await self.answer()  # stop the button's spinner before the slower send
        parts = split_within([text], MessageLimit.MAX_TEXT_LENGTH) or [text]
        for n, part in enumerate(parts):
            message = await self.context.bot.send_message(self.update.effective_chat.id, part,
                                                          reply_markup=markup if n == len(parts) - 1 else None)
        return message.message_id

    async def show(self, text: str, markup: InlineKeyboardMarkup | None = None, *, new: bool = False) -> int:
        """Edit the message the pressed button is on (one message per screen), or send a new one."""
        query = self.update.callback_query
        if query is None or new or query.message is None or not hasattr(query.message, "edit_text") \
                or len(text) > MessageLimit.MAX_TEXT_LENGTH:  # one message cannot hold it: send the parts
            return await self.send(text, markup)
        await self.answer()  # first, so the spinner stops and the 15 s answer window is never missed
        try:
            await query.message.edit_text(text, reply_markup=markup)
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise
        return query.message.message_id

    async def answer(self, text: str | None = None, alert: bool = False) -> None:
        """Answer the callback query once, before anything is shown (later calls do nothing); a redelivered
        query was answered already and Telegram refuses it."""
        query = self.update.callback_query
        if query is None or self.answered:
            return
        self.answered = True
        try:
            await query.answer(text[:200] if text else None, show_alert=alert)
        except BadRequest as exc:
            log.info("callback query not answered: %s", exc)

    async def no_role(self) -> None:
        text = self.t("onboarding.no_role", contact=self.deps.settings.admin_contact)
        if self.update.callback_query is not None:
            await self.answer(text, alert=True)
        else:
            await self.send(text)


Route = Callable[["Turn", Callback], Awaitable[None]]


async def dispatch_callback(update: Update, context: ContextTypes.DEFAULT_TYPE, routes: dict[str, Route]) -> None:
    """Every button goes through here: the presser must hold a role, the data must parse, and it must carry the
    current period's tag; then its route runs. A refusal answers the press as an alert, never a traceback; a
    route that shows a screen has answered the press just before showing it. Buttons work in the private chat
    only, as commands do: in a group the answer would be saved and the unit's screen shown to every member (a
    message without a chat, from inline mode, is refused too)."""
    turn = await Turn.start(update, context)
    chat = update.effective_chat
    if chat is None or chat.type != "private":
        await turn.answer(turn.t("onboarding.private_only"), alert=True)
        return
    if not turn.has_role:
        await turn.no_role()
        return
    try:
        callback = decode(update.callback_query.data)
    except MalformedCallback:
        await turn.answer(turn.t("callback.malformed"), alert=True)
        return
    if callback.tag != await turn.run(current_tag):
        await turn.answer(turn.t("callback.stale"), alert=True)
        await turn.send(turn.t("callback.stale_hint"))
        return
    try:
        await routes[callback.verb](turn, callback)
    except (DomainError, MalformedCallback) as error:
        text = turn.error(error) if isinstance(error, DomainError) else turn.t("callback.malformed")
        if turn.answered:  # the route showed something first: the press takes no second answer
            await turn.send(text)
        else:
            await turn.answer(text, alert=True)
        return
    await turn.answer()


def for_members(handler: Callable[["Turn"], Awaitable[None]]) -> Callable[[Update, ContextTypes.DEFAULT_TYPE],
                                                                        Awaitable[None]]:
    """A handler for people who hold a role; anyone else is told politely whom to contact, nothing more."""

    @functools.wraps(handler)
    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        turn = await Turn.start(update, context)
        if not turn.has_role:
            await turn.no_role()
            return
        await handler(turn)

    return handle
