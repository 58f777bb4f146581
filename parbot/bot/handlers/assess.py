"""The self-assessment in Telegram: each update becomes an Event, the conversation engine runs the whole turn
in one worker thread (one transaction), and the Reply's screens are rendered (bot/render.py). The flow
itself is core/conversation/assess.py.
"""
from __future__ import annotations

import asyncio

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from ...core.conversation import engine
from ...core.conversation.callbacks import pattern
from ...core.conversation.events import Command, Edit, Event, Press, Sender, Text, Upload
from ...core.services.assessment import DOWNLOAD_LIMIT
from ..deps import Deps
from ..render import deliver
from .common import Turn, log

PRIVATE = filters.ChatType.PRIVATE


def sender_of(update: Update) -> Sender:
    user, chat = update.effective_user, update.effective_chat
    return Sender(channel="telegram", account_id=str(user.id), chat_id=str(chat.id), language=user.language_code,
                  private=chat.type == "private", name=user.first_name or "", username=user.username)


async def run(update: Update, context: ContextTypes.DEFAULT_TYPE, event: Event,
              message_id: int | None = None) -> None:
    deps: Deps = context.application.bot_data["deps"]
    reply = await asyncio.to_thread(engine.handle, deps.uow(), sender_of(update), event, env=deps.env(),
                                    message_id=message_id)
    await deliver(update, context, reply)


async def open_workspace(turn: Turn) -> None:
    """Resume where the chat stopped (after /start, for instance)."""
    await run(turn.update, turn.context, Command("assess"))


async def assess_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await run(update, context, Command("assess"))


async def status_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await run(update, context, Command("status"))


async def channels_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await run(update, context, Command("kenh"))


async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await run(update, context, Press(update.callback_query.data or ""))


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    await run(update, context, Text(message.text or ""), message.message_id)


async def on_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """A correction of typed text, under the same message id (bot/app.py routes every edited text here): the
    engine replaces a count still awaited, and says that any other edit changed nothing."""
    message = update.effective_message
    await run(update, context, Edit(of=message.message_id, text=message.text or ""))
    return True


async def on_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Fetched before the turn (the engine runs off the event loop); one over Telegram's limit is not."""
    message = update.effective_message
    attachment = message.document or message.photo[-1]
    size, data = attachment.file_size or 0, None
    if size <= DOWNLOAD_LIMIT:
        try:
            data = bytes(await (await attachment.get_file()).download_as_bytearray())
        except BadRequest as exc:
            log.info("evidence download refused: %s", exc)
    mime = getattr(attachment, "mime_type", None) or ("image/jpeg" if message.photo else None)
    upload = Upload(file_name=getattr(attachment, "file_name", None), size=size, mime=mime, data=data)
    await run(update, context, upload, message.message_id)


def register(application: Application) -> None:
    new = PRIVATE & filters.UpdateType.MESSAGE  # edits are routed by bot/app.py
    application.add_handler(CommandHandler("assess", assess_command, filters=new))
    application.add_handler(CommandHandler("status", status_command, filters=new))
    application.add_handler(CommandHandler("kenh", channels_command, filters=new))
    application.add_handler(CallbackQueryHandler(on_callback, pattern=pattern(engine.VERBS)))
    application.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND, on_text))
    application.add_handler(MessageHandler(new & (filters.Document.ALL | filters.PHOTO), on_file))
