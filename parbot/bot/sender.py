"""The sender that drains one channel's outbox rows (Telegram, Zalo), within that channel's limits.

One ``Sender`` per channel, each with its own transport, rates and blocked handling. Each round claims due rows (at most one per chat: that chat's oldest open row, and only once its last
message is a per-chat interval old), renders them in the recipient's language, and sends them paced to the
global rate. Outcomes are written back as they come (a small writer batches them under load):

- sent;
- 429: the whole sender pauses for ``retry_after`` and the row waits that long, keeping its place (the
  chat's later rows are not claimed before it), without counting an attempt;
- blocked (Telegram's 403): core's policy (``notifications.recipient_unreachable``) marks the account
  unreachable on that channel only, closes its open rows there and tells the admins;
- outcome unknown (the request left, then a timeout or a dropped connection: it may have been delivered):
  recorded ``uncertain`` and never sent again automatically, since a repeated reminder is the worse fault;
- anything else: retried with exponential backoff, failed with the reason after ``max_attempts``.

While a batch is in flight its leases are renewed, and each row is stamped just before its request leaves,
so a slow batch is never re-claimed and a crash leaves only the rows already on their way ``uncertain``.

Rendering happens at send time against the database, so a reminder to a unit that submitted after the
sweep is skipped, and the text shows the progress as it is now. Each sender is given its renderers (every
kind is listed in ``bot/outbox_kinds.py``).
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
import aiohttp
import httpx
from telegram import Bot, InlineKeyboardMarkup
from telegram.error import Forbidden, NetworkError, RetryAfter

from ..core.model import Period, Person
from ..core.permissions import Grant
from ..core.reminders import addressed
from ..core.services.notifications import recipient_unreachable
from ..core.text import split_within
from ..i18n import language
from ..settings import Settings
from ..storage.outbox_sender_repo import OutboxItem
from ..storage.uow import SqlUnitOfWork
from .web.app import ChartLinks
from .zalo.client import TEXT_LIMIT as ZALO_TEXT_LIMIT
from .zalo.client import ZaloClient, ZaloError, ZaloNetworkError

log = logging.getLogger(__name__)
START_GROUP = 8  # rows stamped "request leaving" per commit: at most these are left uncertain by a crash


@dataclass(frozen=True)
class Rendered:
    text: str | None = None
    reply_markup: InlineKeyboardMarkup | None = None
    photo: bytes | None = None  # sent as a photo with ``text`` as its caption
    filename: str = "chart.png"
    scope: str = ""  # the photo's links.chart_scope: what a link to it must still let its recipient see


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


# A row's kind -> its renderer; None means "nothing worth sending any more" (the row is recorded as skipped).
Renderer = Callable[[RenderContext, OutboxItem], Rendered | None]


def seconds_of(retry_after: int | timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else float(retry_after)


@dataclass(frozen=True)
class Outcome:
    item: OutboxItem
    status: str  # sent | retry | unreachable | failed | uncertain
    at: datetime
    error: str | None = None
    not_before: datetime | None = None
    attempts: int = 0


# ---- transports: one per channel, each telling the sender what became of a send ---------------------------


class RateLimited(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"429 retry after {seconds:g}s")
        self.seconds = seconds


class Blocked(Exception):
    """The recipient blocked the bot (or left): nothing can reach them on this channel."""


class OutcomeUnknown(Exception):
    """The request left but no answer came back: the message may have been delivered."""


# Failures before the request reached the API: retrying them cannot double a message.
_NOT_SENT_HTTPX = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
_NOT_SENT_AIOHTTP = (aiohttp.ClientConnectorError, aiohttp.InvalidURL)


class TelegramTransport:
    channel = "telegram"

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, item: OutboxItem, rendered: Rendered) -> None:
        try:
            if rendered.photo is not None:
                await self.bot.send_photo(item.chat_id, photo=rendered.photo, caption=rendered.text,
                                          filename=rendered.filename, reply_markup=rendered.reply_markup)
            else:
                await self.bot.send_message(item.chat_id, rendered.text, reply_markup=rendered.reply_markup)
        except RetryAfter as exc:
            raise RateLimited(seconds_of(exc.retry_after)) from exc
        except Forbidden as exc:
            raise Blocked(f"403 {exc.message}") from exc
        except NetworkError as exc:
            # PTB raises NetworkError both for an error answer (no cause: the API did answer, nothing was
            # sent) and for a transport failure (an httpx cause): only a failure to connect proves not sent.
            cause = exc.__cause__
            if isinstance(cause, httpx.HTTPError) and not isinstance(cause, _NOT_SENT_HTTPX):
                raise OutcomeUnknown(f"{type(exc).__name__}: {type(cause).__name__}") from exc
            raise


class ZaloTransport:
    """Zalo has no inline buttons and takes photos only by URL: the text goes out in parts of at most 2,000
    characters cut at line ends; a chart is stored and sent as a signed URL parbot serves (``charts``), the
    platform fetching it; without PARBOT_PUBLIC_URL and PARBOT_LINK_SECRET its caption goes as text."""

    channel = "zalo"

    def __init__(self, client: ZaloClient, charts: ChartLinks | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.client, self.charts, self.now = client, charts, now

    async def send(self, item: OutboxItem, rendered: Rendered) -> None:
        if rendered.photo is not None and self.charts is not None and item.person_id is not None:
            url = await asyncio.to_thread(self.charts.url, item.person_id, rendered.scope, rendered.photo,
                                          self.now())  # the link names its recipient and what it shows
            await self._call(self.client.send_photo(item.chat_ref, url, (rendered.text or "")[:ZALO_TEXT_LIMIT]), 0, 1)
            return
        parts = split_within([rendered.text or ""], ZALO_TEXT_LIMIT) or [""]
        for n, part in enumerate(parts):
            await self._call(self.client.send_message(item.chat_ref, part), n, len(parts))

    @staticmethod
    async def _call(request: Awaitable[object], n: int, count: int) -> None:
        """One request (part ``n`` of ``count``), its failure told as the sender reads it."""
        try:
            await request
        except ZaloNetworkError as exc:
            # The client keeps only the exception's type (its text may hold the token); the original
            # is its context. Not connected: not sent. Anything after the request left: unknown.
            if n == 0 and isinstance(exc.__context__, _NOT_SENT_AIOHTTP + (ValueError,)):
                raise
            raise OutcomeUnknown(str(exc)) from exc
        except ZaloError as exc:
            if n > 0:
                raise OutcomeUnknown(f"part {n + 1}/{count}: {exc}") from exc
            if exc.code == 429:
                raise RateLimited(1.0) from exc
            if exc.code == 403:
                raise Blocked(str(exc)) from exc
            raise


@dataclass
class SenderStats:
    sent: int = 0
    retried: int = 0
    uncertain: int = 0
    rate_limited: int = 0
    unreachable: int = 0
    failed: int = 0
    skipped: int = 0
    claim_seconds: float = 0.0  # claiming and rendering (database work)
    record_seconds: float = 0.0  # writing outcomes (database work)
    pacing_seconds: float = 0.0  # waiting for the global rate


@runtime_checkable
class Transport(Protocol):
    """How one channel sends a rendered row; raises RateLimited, Blocked or OutcomeUnknown, else any error
    for a retry."""

    channel: str

    async def send(self, item: OutboxItem, rendered: Rendered) -> None: ...


class Sender:
    def __init__(self, engine: Engine, bot: Transport | Bot | None, *, renderers: Mapping[str, Renderer],
                 rate_global: float = 25.0,
                 rate_per_chat: float = 1.0,
                 max_attempts: int = 5, tz: str = "Asia/Ho_Chi_Minh", lease: timedelta = timedelta(seconds=60),
                 backoff: timedelta = timedelta(seconds=5), max_in_flight: int = 64,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, worker: str | None = None) -> None:
        self.engine = engine
        # A Telegram bot (the usual case) or another channel's transport.
        self.transport = bot if isinstance(bot, Transport) else TelegramTransport(bot)
        self.channel = self.transport.channel
        self.renderers = renderers
        self.rate_global, self.max_attempts, self.tz = rate_global, max_attempts, tz
        self.chat_interval = timedelta(seconds=1 / rate_per_chat)
        self.lease, self.backoff = lease, backoff
        self.now, self.clock, self.sleep = now, clock, sleep
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}:{self.channel}"
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
            released = uow.outbox_rows.release_stale(datetime.now(timezone.utc), timedelta(0), keep=self.worker)
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
            rows.release_stale(claimed_at, self.lease, keep=self.worker)
            items = rows.claim(self.worker, now, self.batch, self.chat_interval, claimed_at=claimed_at,
                               channel=self.channel)
            context = RenderContext(uow, now, self.tz)
            for item in items:
                if item.person_id is not None and not addressed(item.kind, item.payload,
                                                                context.grants(item.person_id)):
                    rows.mark_final(item.id, self.worker, "skipped", "recipient no longer holds the role",
                                    item.attempts)
                    self.stats.skipped += 1
                    continue
                renderer = self.renderers.get(item.kind)
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
                elif o.status == "uncertain":
                    done = rows.mark_uncertain(o.item.id, self.worker, o.at, o.error or "", o.attempts)
                else:
                    done = rows.mark_final(o.item.id, self.worker, o.status, o.error or "", o.attempts)
                if not done:
                    log.warning("outbox row %s was re-claimed before its outcome (%s) was recorded",
                                o.item.id, o.status)
                if o.status == "unreachable" and done:  # what follows is core's policy, in this transaction
                    item = o.item
                    recipient_unreachable(uow, channel=self.channel, person_id=item.person_id, outbox_id=item.id,
                                          chat=str(item.chat_id) if self.channel == "telegram" else item.chat_ref,
                                          error=o.error, at=o.at)
            uow.commit()
            self.stats.record_seconds += time.perf_counter() - started

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
            await self.transport.send(item, rendered)
        except RateLimited as exc:
            self._paused_until = max(self._paused_until, self.clock() + exc.seconds)
            self.stats.rate_limited += 1
            return Outcome(item, "retry", self.now(), str(exc), self.now() + timedelta(seconds=exc.seconds),
                           item.attempts)
        except Blocked as exc:
            self.stats.unreachable += 1
            return Outcome(item, "unreachable", self.now(), str(exc), attempts=item.attempts + 1)
        except OutcomeUnknown as exc:
            self.stats.uncertain += 1
            log.warning("outbox row %s: delivery unknown (%s); not sent again", item.id, exc)
            return Outcome(item, "uncertain", self.now(), f"delivery unknown: {exc}", attempts=item.attempts + 1)
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

    def _started(self, ids: list[int]) -> None:
        uow = SqlUnitOfWork(self.engine)
        with self._db, uow:
            uow.outbox_rows.mark_started(ids, self.worker, datetime.now(timezone.utc))
            uow.commit()

    def _renew(self) -> None:
        uow = SqlUnitOfWork(self.engine)
        with self._db, uow:
            uow.outbox_rows.renew(self.worker, datetime.now(timezone.utc))
            uow.commit()

    async def _keep_leases(self) -> None:
        """While a drain runs: renew the leases of the rows in flight well before they could expire."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                await asyncio.to_thread(self._renew)
            except Exception:  # noqa: BLE001 - the next renewal tries again, well within the lease
                log.exception("renewing the outbox leases failed")

    async def drain(self) -> int:
        """Send everything due now; return when nothing is claimable (rows waiting on a chat's pace or a
        retry time are left for the next call). Returns the number of messages sent.

        The next claim runs while the current batch is being sent, so the database work does not eat into
        the rate; rows in flight stay ``sending`` and are not claimed again."""
        sent_before = self.stats.sent
        outcomes: asyncio.Queue[Outcome | None] = asyncio.Queue()
        writer = asyncio.create_task(self._write(outcomes))
        leases = asyncio.create_task(self._keep_leases())
        tasks: list[asyncio.Task] = []
        try:
            upcoming = asyncio.create_task(asyncio.to_thread(self._claim))
            while batch := await upcoming:
                upcoming = None
                for n, (item, rendered) in enumerate(batch):
                    if n % START_GROUP == 0:  # stamped in small groups: a crash leaves few rows uncertain
                        await asyncio.to_thread(self._started, [i.id for i, _r in batch[n:n + START_GROUP]])
                    await self._pace()
                    await self._slots.acquire()
                    tasks.append(asyncio.create_task(self._one(item, rendered, outcomes)))
                    if upcoming is None and n >= len(batch) // 2:
                        upcoming = asyncio.create_task(asyncio.to_thread(self._claim))
            await asyncio.gather(*tasks)
        finally:
            leases.cancel()
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


def channel_senders(engine: Engine, settings: Settings, bot: Bot | None, zalo: ZaloClient | None = None, *,
                    renderers: Mapping[str, Renderer], **options: object) -> list[Sender]:
    """One sender per channel that has a client (no ``bot`` on a Zalo-only install), each at its channel's
    rates (Zalo publishes none: the settings' conservative defaults)."""
    common = {"renderers": renderers, "max_attempts": settings.send_max_attempts, "tz": settings.timezone} | options
    senders = [] if bot is None else [Sender(engine, bot, rate_global=settings.send_rate_global,
                                             rate_per_chat=settings.send_rate_per_chat, **common)]
    if zalo is not None:
        now = options.get("now") or (lambda: datetime.now(timezone.utc))  # the chart links' clock: the sender's
        transport = ZaloTransport(zalo, ChartLinks.of(settings), now=now)  # type: ignore[arg-type]
        senders.append(Sender(engine, transport, rate_global=settings.zalo_send_rate_global,
                              rate_per_chat=settings.zalo_send_rate_per_chat, **common))
    return senders
