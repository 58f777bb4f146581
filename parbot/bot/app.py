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

import logging
from typing import Awaitable, Callable

from sqlalchemy.engine import Engine
from telegram import Update
from telegram.error import BadRequest, NetworkError
from telegram.ext import Application, ApplicationBuilder, ApplicationHandlerStop, ContextTypes, MessageHandler, filters

from ..i18n import language, t
from ..settings import Settings
from ..storage.db import make_engine, upgrade
from ..storage.evidence_store import EvidenceStore
from .deps import Deps
from .handlers import appraise, assess, onboarding, reports
from .jobs import start_reminders, stop_reminders
from .updates import ChatOrderedProcessor, RetryAfterLimiter

log = logging.getLogger("parbot.bot")

HANDLER_MODULES = [onboarding, appraise, assess, reports]
POST_INIT_HOOKS: list[Callable[[Application], Awaitable[None]]] = [onboarding.default_menu, start_reminders]
POST_SHUTDOWN_HOOKS: list[Callable[[Application], Awaitable[None]]] = [stop_reminders]
EDIT_HANDLERS: list[Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[bool]]] = [assess.on_edit]
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
    application = (ApplicationBuilder().token(settings.telegram_token.get_secret_value())
                   .base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
                   .concurrent_updates(ChatOrderedProcessor()).rate_limiter(RetryAfterLimiter())
                   .post_init(run_post_init).post_shutdown(run_post_shutdown).build())
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
    return application


def run_bot(settings: Settings) -> None:
    """Poll until SIGINT/SIGTERM; PTB's run_polling stops cleanly on both (finishing the current update)."""
    import signal

    engine = make_engine(settings.database_url)
    upgrade(engine)
    application = build_application(settings, engine)
    log.info("polling %s", settings.telegram_api_base)
    application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False,
                            stop_signals=(signal.SIGINT, signal.SIGTERM))
