"""The python-telegram-bot Application as `parbot bot run` builds it.

Extension points for other features:
- ``HANDLER_MODULES``: modules exposing ``register(application)``; add yours with one line.
- ``POST_INIT_HOOKS``: ``async def hook(application)`` run once the bot is up (schedulers, senders).
- ``POST_SHUTDOWN_HOOKS``: the same, run when the bot stops (stopping what the first started).
- ``EDIT_HANDLERS``: ``async def handler(update, context) -> bool`` offered an edited text message in turn
  until one takes it (returns True); edits reach no other handler, so an edited command never runs again.
Tests that start the application by hand call ``run_post_init(application)`` themselves.
"""
from __future__ import annotations

import asyncio
import logging
import signal
from typing import Awaitable, Callable

from sqlalchemy.engine import Engine
from telegram import Update
from telegram.error import BadRequest, NetworkError
from telegram.ext import Application, ApplicationBuilder, ApplicationHandlerStop, ContextTypes, MessageHandler, filters

from ..i18n import language, t
from ..settings import Settings
from ..storage.db import make_engine, upgrade
from ..storage.evidence_store import EvidenceStore
from ..storage.process_locks import POLLING_LOCK, Release, sqlite_lock_path, try_advisory_lock, try_file_lock
from .deps import Deps
from . import inbox
from .handlers import appraise, assess, onboarding, reports
from .jobs import ReminderJobs, start_jobs, start_reminders, stop_jobs, stop_reminders
from .updates import RetryAfterLimiter
from .webhook import TELEGRAM_PATH, ZALO_PATH, WebhookServer, ZaloHandler
from .zalo.client import ZaloNetworkError
from .zalo.runner import ZaloRunner

log = logging.getLogger("parbot.bot")

HANDLER_MODULES = [onboarding, appraise, assess, reports]
POST_INIT_HOOKS: list[Callable[[Application], Awaitable[None]]] = [inbox.replay, onboarding.default_menu,
                                                                   start_reminders]
POST_SHUTDOWN_HOOKS: list[Callable[[Application], Awaitable[None]]] = [stop_reminders, reports.close_charts]
EDIT_HANDLERS: list[Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[bool]]] = [assess.on_edit]
START_RETRY_FIRST, START_RETRY_CAP = 1.0, 60.0  # seconds between attempts to reach the Bot API at start
# Bot API connections. httpcore scans every pooled connection (a readability check each) for every request,
# and with PTB's 256 a busy bot kept about one per chat being answered open: 16 cut CPU per update by ~10 % at
# 100 officers (benchmarks/load.py, alternate runs). A request that finds none free waits for one up to
# POOL_WAIT s (PTB's default 1 s would turn a busy minute into lost replies).
BOT_API_CONNECTIONS, POOL_WAIT = 16, 30.0
EDITS_FIRST = -100  # the handler group that sees edited messages before any feature's handlers


async def on_edited_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edit of typed text: the feature whose input it was may take it; nothing else sees it."""
    for handler in EDIT_HANDLERS:
        if await handler(update, context):
            break
    raise ApplicationHandlerStop


async def drop_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Other edits (commands, captions) are ignored: Telegram sends them, but the user did not act again."""
    raise ApplicationHandlerStop


async def run_post_init(application: Application) -> None:
    for hook in POST_INIT_HOOKS:
        await hook(application)


async def run_post_shutdown(application: Application) -> None:
    for hook in POST_SHUTDOWN_HOOKS:
        await hook(application)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log what failed (never the token or message contents) and tell the person something went wrong."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, NetworkError) and not isinstance(error, BadRequest):
        # A timeout or a lost connection: the reply may well have been delivered (Telegram applied it, the
        # answer was lost). Telling the person something failed, or sending again, would then be false.
        log.warning("update %s: a reply's outcome is unknown: %s", update_id, error.__class__.__name__)
        return
    log.error("update %s failed: %s", update_id, error.__class__.__name__, exc_info=error)
    if isinstance(update, Update) and update.effective_chat is not None and update.effective_chat.type == "private":
        user = update.effective_user
        try:
            await context.bot.send_message(update.effective_chat.id,
                                           t("error.unexpected", language(user.language_code if user else None)))
        except Exception:  # noqa: BLE001 - the chat may be unreachable; the log has the cause
            log.warning("could not tell chat about the failure of update %s", update_id)


def build_application(settings: Settings, engine: Engine, deps: Deps | None = None) -> Application:
    if settings.telegram_token is None:
        raise SystemExit("TELEGRAM_BOT_TOKEN is not set")
    base = settings.telegram_api_base.rstrip("/")
    builder = (ApplicationBuilder().token(settings.telegram_token.get_secret_value())
               .base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
               .concurrent_updates(inbox.InboxProcessor(engine))
               .rate_limiter(RetryAfterLimiter(in_flight=BOT_API_CONNECTIONS))
               .connection_pool_size(BOT_API_CONNECTIONS).pool_timeout(POOL_WAIT)
               .post_init(run_post_init).post_shutdown(run_post_shutdown))
    if settings.proxy_url:  # where api.telegram.org is reachable only through the province's proxy
        builder = builder.proxy(settings.proxy_url).get_updates_proxy(settings.proxy_url)
    application = builder.build()
    application.bot_data["deps"] = deps or Deps(settings=settings, engine=engine,
                                                 store=EvidenceStore(settings.evidence_dir))
    edited = filters.UpdateType.EDITED
    application.add_handler(MessageHandler(edited & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND,
                                           on_edited_text), group=EDITS_FIRST)
    application.add_handler(MessageHandler(edited, drop_edit), group=EDITS_FIRST)
    for module in HANDLER_MODULES:
        module.register(application)
    onboarding.register_fallbacks(application)
    application.add_error_handler(on_error)
    inbox.install(application, engine)
    return application


async def when_reachable(attempt: Callable[[], Awaitable[object]], stop: asyncio.Event, api: str,
                         unreachable: type[Exception] | tuple[type[Exception], ...] = NetworkError, *,
                         first: float = START_RETRY_FIRST, cap: float = START_RETRY_CAP) -> bool:
    """``attempt()`` retried with exponential backoff while the API cannot be reached (blocked, proxy
    down, server not up yet). False when ``stop`` was set meanwhile; any other error (a rejected token, a
    refused call) is not retried."""
    delay = first
    while not stop.is_set():
        try:
            await attempt()
            return True
        except unreachable as exc:  # TimedOut too; the text may quote the address, the type says enough
            log.warning("Bot API %s unreachable (%s); retrying in %.0f s", api, type(exc).__name__, delay)
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            pass
        delay = min(cap, delay * 2)
    return False


async def initialize_when_reachable(application: Application, stop: asyncio.Event, api: str, **backoff: float
                                    ) -> bool:
    """``application.initialize()`` (which asks getMe) once the Bot API answers (``when_reachable``)."""
    return await when_reachable(application.initialize, stop, api, **backoff)


def hold_polling_lock(engine: Engine, lang: str) -> Release:
    """One poller per database: two would each take every other update from Telegram (409 Conflict) and
    both answer the same chats. Refused at once, with a clear message, when another process holds it."""
    if engine.dialect.name == "postgresql":
        release = try_advisory_lock(engine, POLLING_LOCK)
        where = engine.url.render_as_string()
    else:
        path = sqlite_lock_path(engine, "poller")
        release = try_file_lock(path) if path is not None else (lambda: None)
        where = engine.url.database
    if release is None:
        raise SystemExit(t("outbox.poller_running", lang, where=where))
    return release


async def start_zalo(runner: ZaloRunner, stop: asyncio.Event, webhook: str | None, url: str | None) -> bool:
    """With a ``webhook`` secret the platform posts to ``url`` (setWebhook; without PARBOT_PUBLIC_URL
    the operator sets it); else the runner polls, after deleteWebhook: the platform refuses getUpdates
    while a webhook is set, e.g. one left by an earlier webhook run. False when stopped meanwhile."""
    client, api = runner.bot.client, runner.bot.deps.settings.zalo_api_base
    if webhook is None:
        if not await when_reachable(client.delete_webhook, stop, api, ZaloNetworkError):
            return False
        await runner.start()
    elif url is not None and not await when_reachable(lambda: client.set_webhook(url, webhook), stop, api,
                                                      ZaloNetworkError):
        return False
    return True


async def serve(settings: Settings, *, webhook: bool = False, listen: tuple[str, int] | None = None,
                zalo: ZaloHandler | None = None, stop: asyncio.Event | None = None,
                ready: Callable[[int | None], None] | None = None) -> None:
    """The bot on every channel with a token until ``stop`` is set (SIGINT/SIGTERM set it), finishing the
    update being handled. Updates come by polling, or with ``webhook`` through the HTTP server on
    ``listen`` (/telegram and /zalo; each platform's setWebhook is called when PARBOT_PUBLIC_URL is set);
    with ``listen`` alone, polling, and the server has the signed-link pages, /healthz and /metrics.
    ``zalo`` stands in for the Zalo bot's handler (tests). ``ready`` is told the server's port (None
    without one) once updates are taken."""
    if webhook and (listen is None or settings.webhook_token is None):
        raise ValueError("webhook mode needs a listen address and PARBOT_WEBHOOK_SECRET")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    release = (lambda: None) if webhook else hold_polling_lock(engine, settings.language)
    application = build_application(settings, engine) if settings.telegram_token is not None else None
    deps = (application.bot_data["deps"] if application is not None
            else Deps(settings=settings, engine=engine, store=EvidenceStore(settings.evidence_dir)))
    zalo_runner = ZaloRunner(deps) if settings.zalo_token is not None and zalo is None else None
    if zalo_runner is not None:
        zalo = zalo_runner.bot.handle_zalo_update
    secret = settings.webhook_token.get_secret_value() if webhook else None
    public = settings.public_url.rstrip("/") if settings.public_url else None
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server: WebhookServer | None = None
    hooks_ran = False
    jobs: ReminderJobs | None = None
    try:
        port = None
        if listen is not None:  # listening before any setWebhook; Telegram is attached once started
            server = WebhookServer(deps, secret, zalo=zalo)
            port = await server.start(*listen)
            log.info("web server on %s:%s%s", listen[0], port, " (webhooks)" if webhook else "")
        # Telegram's getMe first: a rejected token ends the start at once, not after Zalo became reachable.
        if application is not None and not await initialize_when_reachable(application, stop,
                                                                           settings.telegram_api_base):
            return
        # Zalo before the jobs start: a refused setWebhook ends the start with no job in flight.
        if zalo_runner is not None and not await start_zalo(zalo_runner, stop, secret,
                                                            public and f"{public}{ZALO_PATH}"):
            return
        if application is not None:
            hooks_ran = True  # before the hooks run: a hook failing half-way still gets its shutdown hooks
            await run_post_init(application)  # the jobs start here (start_reminders)
            await application.start()
            jobs = application.bot_data.get("reminder_jobs")
        else:
            jobs = start_jobs(deps, None)
        if server is not None:
            server.telegram, server.jobs = application, jobs
        if application is not None and not webhook:
            log.info("polling %s", settings.telegram_api_base)
            await application.updater.start_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
        elif application is not None and public:
            await application.bot.set_webhook(f"{public}{TELEGRAM_PATH}", secret_token=secret,
                                              allowed_updates=Update.ALL_TYPES)
        if ready is not None:
            ready(port)
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if server is not None:
            await server.stop()  # no new updates; aiohttp lets the running ones finish
        if zalo_runner is not None:
            await zalo_runner.stop()
        if application is not None:
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            if hooks_ran:
                await run_post_shutdown(application)
            await application.shutdown()
        else:
            if jobs is not None:
                await stop_jobs(jobs)
            await reports.close_charts(None)  # Zalo alone: no Telegram post-shutdown hook closes the chart worker
        release()
        engine.dispose()


def run_bot(settings: Settings, *, webhook: bool = False, listen: tuple[str, int] | None = None,
            zalo: ZaloHandler | None = None) -> None:
    """Until SIGINT/SIGTERM, finishing the current update."""
    asyncio.run(serve(settings, webhook=webhook, listen=listen, zalo=zalo))
