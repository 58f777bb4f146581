"""Webhook mode: one aiohttp server for both channels (`parbot bot run --webhook --listen HOST:PORT`);
in polling mode (`parbot bot run --listen HOST:PORT`) the same server without the update routes.

- ``POST /telegram``: a Telegram update, with ``X-Telegram-Bot-Api-Secret-Token``;
- ``POST /zalo``: a Zalo Bot Platform update, with ``X-Bot-Api-Secret-Token``;
- the signed-link pages of parbot.bot.web, ``/healthz`` and ``/metrics``.

A call without the secret (PARBOT_WEBHOOK_SECRET) or with a wrong one gets 403 and a log line that never
quotes what was sent. An update is answered 200 only once its handlers have run, and they commit what they
change, so a platform that got no 200 (process killed, database down) sends the update again. Each
chat's updates are handled one at a time, in arrival order, also across processes on one PostgreSQL
(``ChatLocks``), and an update handled before is not applied again (the inbox, storage/inbox.py).
"""
from __future__ import annotations

import asyncio
import errno
import hmac
import logging
from collections.abc import AsyncIterator, Hashable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Awaitable, Callable

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool
from telegram import Update
from telegram.ext import Application

from ..core.errors import Message
from ..storage.inbox import PruneClock, in_inbox
from .deps import Deps
from .inbox import KEEP_HANDLED
from .jobs import ReminderJobs
from .metrics import CHANNELS, CONTENT_TYPE, Handling, Metrics, backlog, outbox_counts
from .updates import chat_key
from .web import app as web_pages

log = logging.getLogger(__name__)

TELEGRAM_PATH, ZALO_PATH = "/telegram", "/zalo"
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ZALO_SECRET_HEADER = "X-Bot-Api-Secret-Token"
# The Zalo channel's entry point: a parsed update in, returns once it is handled and committed.
ZaloHandler = Callable[[dict], Awaitable[None]]


class ListenFailed(Exception):
    """The server could not listen where it was told (port taken, address not this machine's); ``reason`` is
    a Message (``problem.listen.*``), not the operating system's English."""

    def __init__(self, host: str, port: int, error: OSError) -> None:
        reason = LISTEN_REASONS.get(error.errno)
        self.reason = Message(f"listen.{reason}") if reason else \
            Message("listen.os_error", error=errno.errorcode.get(error.errno or 0, "?"))
        super().__init__(f"{host}:{port}: {self.reason}")


LISTEN_REASONS = {errno.EADDRINUSE: "in_use", errno.EADDRNOTAVAIL: "not_here", errno.EACCES: "forbidden"}


CHAT_LOCKS = 0x70617262  # "parb": the advisory-lock namespace of chats (two-key locks, apart from the sender's)


class ChatLocks:
    """One update of a chat at a time, in arrival order: an asyncio lock per chat within the process and,
    on PostgreSQL with several processes behind one URL, a session advisory lock per chat among them.

    All the advisory locks a process holds sit on ONE connection of its own, outside the pool the handlers
    draw from, so a process uses one connection for them whatever the number of chats in flight (one per
    chat in flight exhausted ``max_connections`` at 100 officers). Each is taken with
    ``pg_try_advisory_lock``; a chat another process holds is tried again after a pause growing from 10 ms to
    0.5 s, waited on asyncio, so a waiting chat holds neither a thread nor a connection and never holds up
    the others; it is released with ``pg_advisory_unlock`` on the same connection. Chosen over a bounded pool
    of connections blocking in ``pg_advisory_lock`` (the bound would cap the chats in flight, and the
    waits would hold threads) and over transaction-level locks (an update spans several transactions: the
    inbox check, the turn, the record). Within the process the asyncio lock keeps arrival order; between
    processes (a re-sent copy) the inbox, checked under the lock, drops the copy whichever comes second.

    If the lock connection dies, the server drops every lock on it: the next lock reconnects (a release has
    nothing left to release) and first takes again the locks of the chats still being handled here. One that another process took in between is logged:
    until this process finishes that update, a copy of it could run there at the same time (the inbox
    records it once, but both might answer)."""

    PAUSE_START, PAUSE_CEILING = 0.01, 0.5

    def __init__(self, engine: Engine) -> None:
        self.engine = (sa.create_engine(engine.url, poolclass=NullPool,
                                        connect_args={"application_name": "parbot-chat-locks"})
                       if engine.dialect.name == "postgresql" else None)
        # The connection is used from one thread: its calls are short (no waits on the server).
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="chat-locks") if self.engine else None
        self._connection: Connection | None = None
        self._held: set[str] = set()  # chats whose advisory lock this process holds
        self._local: dict[Hashable, tuple[asyncio.Lock, int]] = {}  # chat -> (lock, updates holding or waiting)
        self.pause = asyncio.sleep  # between tries of a chat another process holds (tests count the pauses)

    def _call(self, function: str, key: str) -> bool:
        had_connection = self._connection is not None
        try:
            return self._connected(function, key)
        except sa.exc.DBAPIError:
            if not had_connection:
                raise
            return self._connected(function, key)  # the connection had died: once more, on a new one

    def _connected(self, function: str, key: str) -> bool:
        try:
            if self._connection is None:
                self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                for held in sorted(self._held):  # the locks the server dropped with the last connection
                    if not self._execute("pg_try_advisory_lock", held):
                        self._held.discard(held)
                        log.warning("a chat's lock went with its connection and another process took it")
            return self._execute(function, key)
        except sa.exc.DBAPIError:
            if self._connection is not None:
                self._connection.invalidate()
                self._connection = None
            raise

    def _execute(self, function: str, key: str) -> bool:
        return bool(self._connection.execute(sa.text(f"SELECT {function}(:ns, hashtext(:key))"),
                                             {"ns": CHAT_LOCKS, "key": key}).scalar_one())

    def _try_lock(self, key: str) -> bool:
        if not self._call("pg_try_advisory_lock", key):
            return False
        self._held.add(key)
        return True

    def _unlock(self, key: str) -> None:
        if key not in self._held:  # lost with a connection and taken by another process meanwhile
            return
        self._held.discard(key)
        if self._connection is None:  # it went with the connection
            return
        try:
            self._connected("pg_advisory_unlock", key)  # not on a new connection: it would not hold the lock
        except sa.exc.DBAPIError as error:  # the connection died: the lock went with it
            log.warning("the chat locks' connection failed (%s); reconnecting at the next lock",
                        type(error).__name__)

    @asynccontextmanager
    async def _in_process(self, chat: Hashable) -> AsyncIterator[None]:
        lock, users = self._local.get(chat, (asyncio.Lock(), 0))
        self._local[chat] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._local[chat]
            if users == 1:
                del self._local[chat]
            else:
                self._local[chat] = (lock, users - 1)

    @asynccontextmanager
    async def hold(self, chat: Hashable | None) -> AsyncIterator[None]:
        if chat is None:
            yield
            return
        async with self._in_process(chat):
            if self.engine is None:
                yield
                return
            loop, key, pause = asyncio.get_running_loop(), repr(chat), self.PAUSE_START
            while not await loop.run_in_executor(self._thread, self._try_lock, key):
                await self.pause(pause)
                pause = min(pause * 2, self.PAUSE_CEILING)
            try:
                yield
            finally:
                await loop.run_in_executor(self._thread, self._unlock, key)

    def close(self) -> None:
        if self.engine is not None:
            self._thread.shutdown(wait=True, cancel_futures=True)
            if self._connection is not None:
                self._connection.close()  # the session's locks end with it
                self._connection = None
            self.engine.dispose()


class WebhookServer:
    def __init__(self, deps: Deps, secret: str | None, *, telegram: Application | None = None,
                 zalo: ZaloHandler | None = None, jobs: ReminderJobs | None = None) -> None:
        """Without ``secret`` (polling mode) it serves the pages, /healthz and /metrics only: updates come
        by polling, and /telegram and /zalo answer 404. ``telegram`` is the running Application, ``zalo``
        the Zalo bot's handler, ``jobs`` the process's sweep and senders (what /healthz reports): each may
        be absent, or attached once ready (a channel's path answers 404 until then)."""
        self.deps, self.telegram, self.zalo, self.jobs = deps, telegram, zalo, jobs
        self._secret = secret.encode() if secret else None
        self.metrics = Metrics(deps.engine)
        self.chat_locks = ChatLocks(deps.engine)
        self.pruning = PruneClock(KEEP_HANDLED)
        self.app = web.Application(client_max_size=web_pages.UPLOAD_LIMIT)
        web_pages.add_routes(self.app, deps, health=False)
        self.app.router.add_post(TELEGRAM_PATH, self.on_telegram)
        self.app.router.add_post(ZALO_PATH, self.on_zalo)
        self.app.router.add_get("/healthz", self.healthz)
        self.app.router.add_get("/metrics", self.metrics_page)
        self._runner: web.AppRunner | None = None

    # ---- the channels --------------------------------------------------------------------------------

    def _refusal(self, request: web.Request, channel: str, header: str) -> web.Response | None:
        given = request.headers.get(header)
        if given is not None and hmac.compare_digest(given.encode(), self._secret):
            return None
        log.warning("%s webhook call from %s refused: %s secret token", channel, request.remote,
                    "no" if given is None else "wrong")
        self.metrics.refused(channel, "forbidden")
        return web.Response(status=403, text="forbidden")

    async def _update(self, request: web.Request, channel: str) -> dict | None:
        try:
            data = await request.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            log.warning("%s webhook call from %s refused: the body is not a JSON object", channel, request.remote)
            self.metrics.refused(channel, "invalid")
            return None
        return data

    async def on_telegram(self, request: web.Request) -> web.Response:
        if self.telegram is None or self._secret is None:
            return web.Response(status=404, text="no Telegram webhook")
        refused = self._refusal(request, "telegram", TELEGRAM_SECRET_HEADER)
        if refused is not None:
            return refused
        data = await self._update(request, "telegram")
        try:
            update = Update.de_json(data, self.telegram.bot) if data is not None else None
        except (KeyError, TypeError, ValueError):
            update = None
        if update is None:
            return web.Response(status=400, text="not a Telegram update")
        application = self.telegram
        with self.metrics.handling("telegram") as handling:
            # In the chat's turn within this process (the update processor), then among the processes.
            handled_once = self._once(handling, "telegram", str(update.update_id), data, chat_key(update),
                                      lambda: application.process_update(update))
            await application.update_processor.process_update(update, handled_once)
        return web.Response(status=200)

    async def on_zalo(self, request: web.Request) -> web.Response:
        if self.zalo is None or self._secret is None:
            return web.Response(status=404, text="no Zalo webhook")
        refused = self._refusal(request, "zalo", ZALO_SECRET_HEADER)
        if refused is not None:
            return refused
        data = await self._update(request, "zalo")
        if data is None:
            return web.Response(status=400, text="not a Zalo update")
        message = data.get("message") if isinstance(data.get("message"), dict) else {}
        chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
        update_id, chat_id = message.get("message_id"), chat.get("id")
        with self.metrics.handling("zalo") as handling:
            await self._once(handling, "zalo", str(update_id) if update_id is not None else None, data,
                             ("zalo", str(chat_id)) if chat_id is not None else None, lambda: self.zalo(data))
        return web.Response(status=200)

    async def _once(self, handling: Handling, channel: str, update_id: str | None, data: dict,
                    chat: Hashable | None, handle: Callable[[], Awaitable[object]]) -> None:
        """Handles an update unless it was handled before (the platform re-sent it, maybe to another
        process): checked and recorded in the inbox under the chat's lock, so a copy waits for the original."""
        engine = self.deps.engine
        async with self.chat_locks.hold(chat):
            if update_id is not None and await asyncio.to_thread(
                    in_inbox, engine, lambda inbox: inbox.handled(channel, update_id), reading=True):
                handling.outcome = "duplicate"
                log.info("%s update %s was handled before: not applied again", channel, update_id)
                return
            await handle()
            if update_id is not None:
                cutoff = self.pruning.due()

                def record(inbox) -> None:  # noqa: ANN001 - a SqlInbox
                    inbox.record_handled(channel, update_id, data)
                    if cutoff is not None:
                        inbox.prune(cutoff)
                await asyncio.to_thread(in_inbox, engine, record)

    # ---- for the operator ----------------------------------------------------------------------------

    async def healthz(self, request: web.Request) -> web.Response:
        """200 when the database answers and the sender runs; the outbox backlog for alerting."""
        sender = "running" if self.jobs is not None and self.jobs.scheduler.running else "stopped"
        try:
            counts = await asyncio.to_thread(outbox_counts, self.deps.engine)
        except Exception as exc:  # noqa: BLE001 - the operator needs the kind of failure, not a traceback
            log.warning("healthz: database unreachable (%s)", type(exc).__name__)
            return web.json_response({"database": "down", "error": type(exc).__name__, "sender": sender},
                                     status=503)
        body = {"database": "ok", "sender": sender, "backlog": backlog(counts),
                "backlog_per_channel": {channel: backlog(counts, channel)
                                        for channel in sorted(set(CHANNELS) | {c for c, _ in counts})}}
        return web.json_response(body, status=200 if sender == "running" else 503)

    async def metrics_page(self, request: web.Request) -> web.Response:
        try:
            body = await asyncio.to_thread(self.metrics.render)
        except Exception as exc:  # noqa: BLE001 - a scrape without the database says so, without a traceback
            log.warning("metrics: database unreachable (%s)", type(exc).__name__)
            return web.Response(status=503, text="database unreachable")
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    # ---- running -------------------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> int:
        """Listens; returns the port (0 asks for a free one)."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port).start()
        except OSError as error:
            await self.stop()
            raise ListenFailed(host, port, error) from None
        return self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.chat_locks.close()
