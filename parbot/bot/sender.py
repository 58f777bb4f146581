"""The one sender that drains the outbox, within Telegram's limits.

Each round claims due rows (at most one per chat: that chat's oldest open row, and only once its last
message is a per-chat interval old), renders them in the recipient's language, and sends them paced to the
global rate. Outcomes are written back as they come (a small writer batches them under load):

- sent;
- 429: the whole sender pauses for ``retry_after`` and the row waits that long, keeping its place (the
  chat's later rows are not claimed before it), without counting an attempt;
- 403: the person is marked unreachable, their open rows are closed, and the admins are told;
- anything else: retried with exponential backoff, failed with the reason after ``max_attempts``.

Rendering happens at send time against the database, so a reminder to a unit that submitted after the
sweep is skipped, and the text shows the progress as it is now. Other features add kinds to ``RENDERERS``.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from telegram import Bot, InlineKeyboardMarkup
from telegram.error import Forbidden, RetryAfter

from ..core.model import Period, Person
from ..core.permissions import Grant
from ..core.reminders import addressed
from ..i18n import language
from ..storage.outbox_sender_repo import OutboxItem
from ..storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)
UNREACHABLE = "unreachable"  # the admins' notice about a recipient who blocked the bot


@dataclass(frozen=True)
class Rendered:
    text: str | None = None
    reply_markup: InlineKeyboardMarkup | None = None
    photo: bytes | None = None  # sent as a photo with ``text`` as its caption
    filename: str = "chart.png"


@dataclass
class RenderContext:
    """What a renderer may use: the open unit of work (read only), the clock, and per-round caches."""

    uow: SqlUnitOfWork
    now: datetime
    tz: str
    _periods: dict[int, Period | None] = field(default_factory=dict)
    _people: dict[int, Person | None] = field(default_factory=dict)
    _grants: dict[int, list[Grant]] = field(default_factory=dict)
    _memo: dict[object, object] = field(default_factory=dict)

    def cached(self, key: object, compute: Callable[[], object]) -> object:
        """Once per round: a unit's progress read by each of its officers, a block's criteria view."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def period(self, year: int) -> Period | None:
        if year not in self._periods:
            self._periods[year] = self.uow.periods.get(year)
        return self._periods[year]

    def person(self, person_id: int | None) -> Person | None:
        if person_id is None:
            return None
        if person_id not in self._people:
            self._people[person_id] = self.uow.people.get(person_id)
        return self._people[person_id]

    def grants(self, person_id: int) -> list[Grant]:
        if person_id not in self._grants:
            self._grants[person_id] = self.uow.roles.grants(person_id)
        return self._grants[person_id]

    def language(self, item: OutboxItem) -> str:
        person = self.person(item.person_id)
        return person.language if person else language(None)


# kind -> renderer; None means "nothing worth sending any more" (the row is recorded as skipped).
Renderer = Callable[[RenderContext, OutboxItem], Rendered | None]
RENDERERS: dict[str, Renderer] = {}


def seconds_of(retry_after: int | timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else float(retry_after)


@dataclass(frozen=True)
class Outcome:
    item: OutboxItem
    status: str  # sent | retry | unreachable | failed
    at: datetime
    error: str | None = None
    not_before: datetime | None = None
    attempts: int = 0


@dataclass
class SenderStats:
    sent: int = 0
    retried: int = 0
    rate_limited: int = 0
    unreachable: int = 0
    failed: int = 0
    skipped: int = 0
    claim_seconds: float = 0.0  # claiming and rendering (database work)
    record_seconds: float = 0.0  # writing outcomes (database work)
    pacing_seconds: float = 0.0  # waiting for the global rate


class Sender:
    def __init__(self, engine: Engine, bot: Bot, *, rate_global: float = 25.0, rate_per_chat: float = 1.0,
                 max_attempts: int = 5, tz: str = "Asia/Ho_Chi_Minh", lease: timedelta = timedelta(seconds=60),
                 backoff: timedelta = timedelta(seconds=5), max_in_flight: int = 64,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, worker: str | None = None) -> None:
        self.engine, self.bot = engine, bot
        self.rate_global, self.max_attempts, self.tz = rate_global, max_attempts, tz
        self.chat_interval = timedelta(seconds=1 / rate_per_chat)
        self.lease, self.backoff = lease, backoff
        self.now, self.clock, self.sleep = now, clock, sleep
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.batch = max(1, min(500, int(rate_global)))  # about a second of sending per claim
        self.stats = SenderStats()
        self._slots = asyncio.Semaphore(max_in_flight)
        # One transaction at a time from this sender: on SQLite, the claim and the outcome writer would
        # otherwise wait for each other's write lock through the busy handler's sleeps.
        self._db = threading.Lock()
        self._next_slot = 0.0
        self._paused_until = 0.0
        ZoneInfo(tz)  # refuse an unknown zone at start-up, not at the first reminder

    # ---- database work (in a worker thread) ------------------------------------------------------------

    def recover(self) -> int:
        """Release every claim at once: only for a sender known to be the only one (SQLite's file lock)."""
        uow = SqlUnitOfWork(self.engine)
        with uow:
            released = uow.outbox_rows.release_stale(datetime.now(timezone.utc), timedelta(0))
            uow.commit()
        return released

    def _claim(self) -> list[tuple[OutboxItem, Rendered]]:
        now = self.now()
        # A lease measures whether a sender is alive, so it runs on the wall clock: a business clock that
        # jumps (the demo's days, a test's time travel) would otherwise expire claims still in flight.
        claimed_at = datetime.now(timezone.utc)
        uow = SqlUnitOfWork(self.engine)
        out = []
        with self._db, uow:
            started = time.perf_counter()
            rows = uow.outbox_rows
            rows.release_stale(claimed_at, self.lease)
            items = rows.claim(self.worker, now, self.batch, self.chat_interval, claimed_at=claimed_at)
            context = RenderContext(uow, now, self.tz)
            for item in items:
                if item.person_id is not None and not addressed(item.kind, item.payload,
                                                                context.grants(item.person_id)):
                    rows.mark_final(item.id, self.worker, "skipped", "recipient no longer holds the role",
                                    item.attempts)
                    self.stats.skipped += 1
                    continue
                renderer = RENDERERS.get(item.kind)
                try:
                    rendered = renderer(context, item) if renderer else None
                except Exception as exc:  # noqa: BLE001 - one bad row must not stop the wave
                    log.exception("rendering outbox row %s (%s) failed", item.id, item.kind)
                    rows.mark_final(item.id, self.worker, "failed", f"render: {exc!r}", item.attempts)
                    self.stats.failed += 1
                    continue
                if renderer is None:
                    rows.mark_final(item.id, self.worker, "failed", f"no renderer for kind {item.kind}", item.attempts)
                    self.stats.failed += 1
                elif rendered is None:
                    rows.mark_final(item.id, self.worker, "skipped", "nothing to send any more", item.attempts)
                    self.stats.skipped += 1
                else:
                    out.append((item, rendered))
            uow.commit()
            self.stats.claim_seconds += time.perf_counter() - started
        return out

    def _record(self, outcomes: list[Outcome]) -> None:
        uow = SqlUnitOfWork(self.engine)
        with self._db, uow:
            started = time.perf_counter()
            rows = uow.outbox_rows
            for o in outcomes:
                if o.status == "sent":
                    done = rows.mark_sent(o.item.id, self.worker, o.at)
                elif o.status == "retry":
                    done = rows.mark_retry(o.item.id, self.worker, o.not_before, o.error, o.attempts)
                else:
                    done = rows.mark_final(o.item.id, self.worker, o.status, o.error or "", o.attempts)
                if not done:
                    log.warning("outbox row %s was re-claimed before its outcome (%s) was recorded",
                                o.item.id, o.status)
                if o.status == "unreachable" and o.item.person_id is not None:
                    self._unreachable(uow, o)
            uow.commit()
            self.stats.record_seconds += time.perf_counter() - started

    def _unreachable(self, uow: SqlUnitOfWork, outcome: Outcome) -> None:
        """Stop writing to the person and tell the admins, in the transaction that records the 403."""
        person_id = outcome.item.person_id
        uow.people.mark_unreachable(person_id, outcome.error or "forbidden")
        uow.outbox_rows.cancel_for_person(person_id, "recipient unreachable")
        for admin in uow.roles.holders("admin"):
            if admin.id != person_id and admin.chat_id is not None and admin.unreachable_at is None:
                uow.outbox.enqueue(f"unreachable/p{person_id}/o{outcome.item.id}/a{admin.id}", admin.id,
                                   admin.chat_id, UNREACHABLE,
                                   {"person_id": person_id, "reason": outcome.error}, not_before=outcome.at)

    # ---- sending -------------------------------------------------------------------------------------

    async def _pace(self) -> None:
        """A slot on the global rate: evenly spaced sends (a burst would trip Telegram's flood control)."""
        now = self.clock()
        start = max(self._next_slot, self._paused_until, now)
        self._next_slot = start + 1 / self.rate_global
        if start > now:
            self.stats.pacing_seconds += start - now
            await self.sleep(start - now)
        while self._paused_until > self.clock():  # a 429 arrived while this send waited
            await self.sleep(self._paused_until - self.clock())

    async def _deliver(self, item: OutboxItem, rendered: Rendered) -> Outcome:
        try:
            if rendered.photo is not None:
                await self.bot.send_photo(item.chat_id, photo=rendered.photo, caption=rendered.text,
                                          filename=rendered.filename, reply_markup=rendered.reply_markup)
            else:
                await self.bot.send_message(item.chat_id, rendered.text, reply_markup=rendered.reply_markup)
        except RetryAfter as exc:
            wait = seconds_of(exc.retry_after)
            self._paused_until = max(self._paused_until, self.clock() + wait)
            self.stats.rate_limited += 1
            return Outcome(item, "retry", self.now(), f"429 retry after {wait:g}s",
                           self.now() + timedelta(seconds=wait), item.attempts)
        except Forbidden as exc:
            self.stats.unreachable += 1
            return Outcome(item, "unreachable", self.now(), f"403 {exc.message}", attempts=item.attempts + 1)
        except Exception as exc:  # noqa: BLE001 - network errors, 400s, 5xx: retried up to the limit
            attempts = item.attempts + 1
            reason = f"{type(exc).__name__}: {exc}"
            if attempts >= self.max_attempts:
                self.stats.failed += 1
                return Outcome(item, "failed", self.now(), reason, attempts=attempts)
            self.stats.retried += 1
            delay = self.backoff * 2 ** (attempts - 1)
            return Outcome(item, "retry", self.now(), reason, self.now() + delay, attempts)
        self.stats.sent += 1
        return Outcome(item, "sent", self.now(), attempts=item.attempts + 1)

    async def drain(self) -> int:
        """Send everything due now; return when nothing is claimable (rows waiting on a chat's pace or a
        retry time are left for the next call). Returns the number of messages sent.

        The next claim runs while the current batch is being sent, so the database work does not eat into
        the rate; rows in flight stay ``sending`` and are not claimed again."""
        sent_before = self.stats.sent
        outcomes: asyncio.Queue[Outcome | None] = asyncio.Queue()
        writer = asyncio.create_task(self._write(outcomes))
        tasks: list[asyncio.Task] = []
        try:
            upcoming = asyncio.create_task(asyncio.to_thread(self._claim))
            while batch := await upcoming:
                upcoming = None
                for n, (item, rendered) in enumerate(batch):
                    await self._pace()
                    await self._slots.acquire()
                    tasks.append(asyncio.create_task(self._one(item, rendered, outcomes)))
                    if upcoming is None and n >= len(batch) // 2:
                        upcoming = asyncio.create_task(asyncio.to_thread(self._claim))
            await asyncio.gather(*tasks)
        finally:
            await outcomes.put(None)
            await writer
        return self.stats.sent - sent_before

    async def _one(self, item: OutboxItem, rendered: Rendered, outcomes: asyncio.Queue) -> None:
        try:
            await outcomes.put(await self._deliver(item, rendered))
        finally:
            self._slots.release()

    async def _write(self, outcomes: asyncio.Queue) -> None:
        """Record outcomes as they arrive, everything waiting at that moment in one transaction."""
        while True:
            first = await outcomes.get()
            batch = [first]
            while not outcomes.empty():
                batch.append(outcomes.get_nowait())
            done = [o for o in batch if o is not None]
            try:
                if done:
                    await asyncio.to_thread(self._record, done)
            finally:
                for _ in batch:
                    outcomes.task_done()
            if None in batch:
                return
