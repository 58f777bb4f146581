"""Polling without losing an action: each fetched update is stored in the inbox before PTB confirms its
offset (the next getUpdates), and marked once handled. After a kill -9 between the two, the restarted bot
handles what its predecessor fetched but did not finish (an update handled and killed before its mark is
handled again: at least once, never lost). An update Telegram delivers again is handled once.

No round trip of its own per update while many are handled at once: the fetch's transaction stores the
batch, says which of it was handled before and writes the marks of the updates handled since the previous
fetch; marks left when no fetch comes soon are written together after ``MARK_DELAY``. An update that ends
with no other running is marked at once, in a transaction of its own: a quiet bot keeps the window in which
a kill replays a handled update (a press replayed re-opens its screen) as short as it can be. Within the process, the updates begun are remembered, so a
copy queued twice (replayed at start and fetched again) runs once, in its chat's turn. Webhook updates pass
through: the webhook server checks and records them in the same inbox (bot/webhook.py)."""
from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import timedelta
from typing import Any, Awaitable, Iterable

from sqlalchemy.engine import Engine
from telegram import Update
from telegram.ext import Application

from ..storage.inbox import PruneClock, in_inbox
from .updates import ChatOrderedProcessor

log = logging.getLogger(__name__)
CHANNEL = "telegram"
KEEP_HANDLED = timedelta(days=2)
MARK_DELAY = 0.5  # seconds a mark may wait for the next fetch's transaction before it gets one of its own
REMEMBER = 10_000  # updates begun kept in memory: a duplicate follows its original closely (a restart's refetch)


class InboxProcessor(ChatOrderedProcessor):
    """Chat-ordered processing that runs a polled update once and marks it handled."""

    def __init__(self, engine: Engine, **options: int) -> None:
        super().__init__(**options)
        self.engine = engine
        self.pruning = PruneClock(KEEP_HANDLED)
        self._stored: set[int] = set()  # in the inbox, not begun yet
        self._begun: OrderedDict[int, None] = OrderedDict()  # begun here, or handled before (the inbox says)
        self._marks: list[str] = []  # handled, the mark not written yet
        self._running_polled = 0
        self._writing: asyncio.Task[None] | None = None

    def _remember(self, update_id: int) -> None:
        self._begun[update_id] = None
        if len(self._begun) > REMEMBER:
            self._begun.popitem(last=False)

    def admit(self, update_ids: Iterable[int], handled: set[str] = frozenset()) -> None:
        """Updates now in the inbox (fetched or replayed); those ``handled`` before are not run again."""
        for update_id in update_ids:
            if str(update_id) in handled:
                self._remember(update_id)
            else:
                self._stored.add(update_id)

    def take_marks(self) -> list[str]:
        marks, self._marks = self._marks, []
        return marks

    def give_back(self, marks: list[str]) -> None:
        """Marks whose transaction failed: written with the next ones."""
        self._marks[:0] = marks

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update) or (update.update_id not in self._stored
                                              and update.update_id not in self._begun):
            await super().do_process_update(update, coroutine)  # not polled (the webhook's): checked there
            return
        update_id = update.update_id

        async def once() -> None:
            if update_id in self._begun:
                coroutine.close()  # delivered again (replayed and fetched, or handled before its offset was lost)
                return
            self._stored.discard(update_id)
            self._remember(update_id)
            self._running_polled += 1
            try:
                await coroutine  # PTB's process_update: a handler's failure is reported, not raised
            finally:
                self._running_polled -= 1
            self._marks.append(str(update_id))
            if not self._running_polled:
                await self.write_marks()
            elif self._writing is None or self._writing.done():
                self._writing = asyncio.get_running_loop().create_task(self._write_marks())

        await super().do_process_update(update, once())

    async def _write_marks(self) -> None:
        await asyncio.sleep(MARK_DELAY)  # the next fetch usually comes first and takes them
        await self.write_marks()

    async def write_marks(self) -> None:
        marks, cutoff = self.take_marks(), self.pruning.due()
        if not marks and cutoff is None:
            return

        def write(inbox) -> None:  # noqa: ANN001 - a SqlInbox
            inbox.mark_handled(CHANNEL, marks)
            if cutoff is not None:
                inbox.prune(cutoff)
        try:
            await asyncio.to_thread(in_inbox, self.engine, write)
        except Exception as exc:  # noqa: BLE001 - the database may be down; the marks wait for the next try
            log.warning("could not mark %d updates handled (%s): kept for the next try", len(marks), type(exc).__name__)
            self.give_back(marks)

    async def shutdown(self) -> None:
        """PTB awaits the update tasks before this: what they handled is marked before the process ends."""
        if self._writing is not None:
            self._writing.cancel()
        await self.write_marks()


def install(application: Application, engine: Engine) -> None:
    """Store every fetched update before ``get_updates`` returns it to PTB's updater."""
    bot, processor = application.bot, application.update_processor
    fetch = bot.get_updates

    async def get_updates(*args: Any, **kwargs: Any) -> tuple[Update, ...]:
        updates = await fetch(*args, **kwargs)
        if updates:
            rows = [(str(u.update_id), u.to_dict()) for u in updates]
            marks = processor.take_marks()

            def store(inbox) -> set[str]:  # noqa: ANN001 - a SqlInbox
                inbox.mark_handled(CHANNEL, marks)
                return inbox.receive(CHANNEL, rows)
            try:
                handled = await asyncio.to_thread(in_inbox, engine, store)
            except BaseException:
                processor.give_back(marks)
                raise
            processor.admit((u.update_id for u in updates), handled)
        return updates

    with bot._unfrozen():  # PTB freezes its objects; the bot is built by the ApplicationBuilder
        bot.get_updates = get_updates


async def replay(application: Application) -> None:
    """post_init hook: queue what a stopped process fetched but did not handle, before polling resumes."""
    engine = application.bot_data["deps"].engine
    processor = application.update_processor
    cutoff = processor.pruning.due()
    payloads = await asyncio.to_thread(in_inbox, engine, lambda inbox: (inbox.prune(cutoff), inbox.unhandled(CHANNEL))[1])
    updates = [Update.de_json(payload, application.bot) for payload in payloads]
    processor.admit(u.update_id for u in updates)
    for update in updates:
        await application.update_queue.put(update)
    if payloads:
        log.warning("handling %d updates fetched before the last stop", len(payloads))
