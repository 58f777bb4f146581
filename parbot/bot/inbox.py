"""Polling without losing an action: each fetched update is stored in the inbox before PTB confirms its
offset (the next getUpdates), and marked once handled. After a kill -9 between the two, the restarted bot
handles what its predecessor fetched but did not finish (an update handled and killed before its mark is
handled again: at least once, never lost). An update Telegram delivers again is handled once: each runs in
its chat's turn and is skipped when the inbox says it was handled."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable

from sqlalchemy.engine import Engine
from telegram import Update
from telegram.ext import Application

from ..storage.inbox import SqlInbox
from ..storage.uow import SqlUnitOfWork
from .updates import ChatOrderedProcessor

log = logging.getLogger(__name__)
CHANNEL = "telegram"
KEEP_HANDLED = timedelta(days=2)


def _run(engine: Engine, work) -> Any:  # noqa: ANN001 - a function of the inbox
    uow = SqlUnitOfWork(engine)
    with uow:
        result = work(SqlInbox(uow.session))
        uow.commit()
    return result


class InboxProcessor(ChatOrderedProcessor):
    """Chat-ordered processing that skips an update already handled and marks each one once handled."""

    def __init__(self, engine: Engine, **options: int) -> None:
        super().__init__(**options)
        self.engine = engine

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update):
            await super().do_process_update(update, coroutine)
            return

        async def once() -> None:
            if await asyncio.to_thread(_run, self.engine, lambda inbox: inbox.handled(CHANNEL, update.update_id)):
                coroutine.close()  # delivered again after its offset was lost: handled already
                return
            await coroutine  # PTB's process_update: a handler's failure is reported, not raised
            await asyncio.to_thread(_run, self.engine, lambda inbox: inbox.mark_handled(CHANNEL, update.update_id))

        await super().do_process_update(update, once())


def install(application: Application, engine: Engine) -> None:
    """Store every fetched update before ``get_updates`` returns it to PTB's updater."""
    bot = application.bot
    fetch = bot.get_updates

    async def get_updates(*args: Any, **kwargs: Any) -> tuple[Update, ...]:
        updates = await fetch(*args, **kwargs)
        if updates:
            rows = [(u.update_id, u.to_dict()) for u in updates]
            await asyncio.to_thread(_run, engine, lambda inbox: inbox.receive(CHANNEL, rows))
        return updates

    with bot._unfrozen():  # PTB freezes its objects; the bot is built by the ApplicationBuilder
        bot.get_updates = get_updates


async def replay(application: Application) -> None:
    """post_init hook: queue what a stopped process fetched but did not handle, before polling resumes."""
    engine = application.bot_data["deps"].engine
    cutoff = datetime.now(timezone.utc) - KEEP_HANDLED
    payloads = await asyncio.to_thread(_run, engine, lambda inbox: (inbox.prune(cutoff), inbox.unhandled(CHANNEL))[1])
    for payload in payloads:
        await application.update_queue.put(Update.de_json(payload, application.bot))
    if payloads:
        log.warning("handling %d updates fetched before the last stop", len(payloads))
