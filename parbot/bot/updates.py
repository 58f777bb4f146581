"""Many chats at once, each chat in order.

PTB's default processes one update at a time, so a leader's slow ``/ranking`` delays every officer's button
press. ``ChatOrderedProcessor`` runs updates of different chats concurrently (at most ``max_running`` at a
time) while the updates of one chat run one after another, in the order they arrived, so a chat's state is
never read and written by two of its own updates at once.

``RetryAfterLimiter`` retries the replies made while an update is handled when Telegram answers 429, after
the ``retry_after`` it names; the outbox sender, outside any update, keeps its own pacing and 429 handling.
"""
from __future__ import annotations

import asyncio
import logging
from collections import Counter
from contextvars import ContextVar
from typing import Any, Awaitable, Callable, Coroutine, Hashable

from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter, BaseUpdateProcessor

from .sender import seconds_of

log = logging.getLogger("parbot.bot")

# True while an update is handled: the Bot API calls made then are replies someone waits for.
INTERACTIVE: ContextVar[bool] = ContextVar("parbot_interactive", default=False)
# Updates admitted before PTB's own semaphore makes the fetcher wait. It must stay far above ``max_running``:
# PTB holds a slot while an update waits for its chat's previous one, so a chat sending many updates would
# otherwise fill every slot and stall the other chats.
MAX_PENDING = 10_000


def chat_key(update: object) -> Hashable | None:
    """What orders updates: the chat, else the user (inline queries have no chat); None runs unordered."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return ("chat", update.effective_chat.id)
    if update.effective_user is not None:
        return ("user", update.effective_user.id)
    return None


class ChatOrderedProcessor(BaseUpdateProcessor):
    def __init__(self, max_running: int = 32, max_pending: int = MAX_PENDING) -> None:
        if max_running < 1 or max_pending < max_running:
            raise ValueError("need 1 <= max_running <= max_pending")
        super().__init__(max_pending)
        self.max_running = max_running
        self._running = asyncio.BoundedSemaphore(max_running)
        # The last update admitted per chat: each update waits for its predecessor's future before running.
        self._tails: dict[Hashable, asyncio.Future[None]] = {}
        self._handled: Counter[Hashable] = Counter()
        self._progress: asyncio.Condition | None = None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        INTERACTIVE.set(True)  # this task's context only: PTB runs each concurrent update in a task of its own
        key = chat_key(update)
        if key is None:
            async with self._running:
                await coroutine
            return
        previous = self._tails.get(key)
        finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = finished
        try:
            if previous is not None:
                # asyncio.wait, not await: cancelling this update must not cancel the one before it.
                await asyncio.wait((previous,))
            async with self._running:
                await coroutine
        finally:
            finished.set_result(None)
            if self._tails.get(key) is finished:
                del self._tails[key]
            self._handled[key] += 1
            async with self._condition():
                self._condition().notify_all()

    def _condition(self) -> asyncio.Condition:
        if self._progress is None:  # made on first use: it belongs to the loop the bot runs in
            self._progress = asyncio.Condition()
        return self._progress

    async def wait_handled(self, chat_id: int, count: int) -> None:
        """Until ``count`` updates of this chat have been handled, replies sent (the sandbox's simulated people
        read the screen only then: a reply of several messages is otherwise read half-way)."""
        async with self._condition():
            await self._condition().wait_for(lambda: self._handled[("chat", chat_id)] >= count)

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free: PTB awaits the update tasks it created before shutting the processor down."""


class RetryAfterLimiter(BaseRateLimiter[None]):
    """Interactive replies refused with 429 are sent again once ``retry_after`` has passed, up to
    ``max_retries`` times; everything else passes straight through. At most ``in_flight`` calls are under
    way at once (the connection pool's size): the others wait here, on a semaphore, rather than in
    httpcore's pool, which scans every queued request against every connection each time one frees."""

    def __init__(self, max_retries: int = 3, in_flight: int = 16) -> None:
        self.max_retries = max_retries
        self._in_flight = asyncio.Semaphore(in_flight)

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free."""

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: None) -> Any:
        attempt = 0
        while True:
            try:
                async with self._in_flight:  # released while waiting out a 429
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if not INTERACTIVE.get() or attempt >= self.max_retries:
                    raise
                attempt += 1
                seconds = seconds_of(exc.retry_after)
                log.info("%s got 429: retry %s after %.1f s", endpoint, attempt, seconds)
                await asyncio.sleep(seconds)
