"""Appraisal in Telegram. /appraise and its options, typed points and reasons run through the conversation
engine (core/conversation/appraise.py); still here: re-sending an item's files to the appraiser, and /explain
for units in the explanation round (its explanation text and files wait in the chat_state row, "apr" key;
these text handlers run before the engine's and stop there only when the chat waits for an explanation).
The round-1 notice's outbox renderer is registered here.
"""
from __future__ import annotations

from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import MessageLimit
from telegram.ext import (Application, ApplicationHandlerStop, CallbackQueryHandler, CommandHandler, ContextTypes,
                          MessageHandler, filters)

from ...core.conversation import callbacks
from ...core.conversation.appraise import points_text
from ...core.conversation.callbacks import Callback, encode, pattern
from ...core.conversation.events import Command
from ...core.conversation.views import BUTTON_LIMIT, clip
from ...core.decimals import num
from ...core.errors import DomainError
from ...core.permissions import UNIT_ROLES, Role
from ...core.services import appraisal as svc
from ...core.services.assessment import DOWNLOAD_LIMIT, chat_state, current_tag, save_chat_state
from ...i18n import t, when
from ..sender import RENDERERS, RenderContext, Rendered
from . import assess
from .common import Turn, dispatch_callback, for_members
from .onboarding import ROLE_COMMANDS

PRIVATE = filters.ChatType.PRIVATE
VERBS = {"pe": 2, "xl": 1, "xi": 2}
callbacks.register_verbs(VERBS)


def _b(text: str, tag: str, verb: str, *args: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(clip(text, BUTTON_LIMIT), callback_data=encode(tag, verb, *args))


async def _on_pe(turn: Turn, cb: Callback) -> None:
    files = await turn.run(svc.evidence_files, caller=turn.caller, unit_code=cb.args[0], item_code=cb.args[1],
                           now=turn.deps.now())
    if not files:
        await turn.send(turn.t("appraisal.no_files"))
        return
    for record in files:
        data = turn.deps.store.read(record.sha256)
        await turn.context.bot.send_document(turn.update.effective_chat.id, data,
                                             filename=record.file_name or f"{record.item_code}-{record.sha256[:8]}")


async def _on_xl(turn: Turn, cb: Callback) -> None:
    await _contestable(turn, cb.tag, cb.args[0])


async def _on_xi(turn: Turn, cb: Callback) -> None:
    found = await turn.run(svc.contestable, caller=turn.caller, unit_code=cb.args[0], now=turn.deps.now())
    view = next((i for i in found.items if i.item.code == cb.args[1]), None)
    if view is None:
        raise DomainError("appraisal.explanation_closed", unit=cb.args[0])
    await turn.run(save_chat_state, turn.person_id, {"apr": "contest", "unit": cb.args[0], "item": cb.args[1]})
    params = dict(code=view.item.code, own=points_text(view.self_points, turn.lang),
                  appraised=points_text(svc.mark_of(view.appraised), turn.lang))
    room = MessageLimit.MAX_TEXT_LENGTH - len(turn.t("explain.prompt", **params, reason=""))
    await turn.send(turn.t("explain.prompt", **params, reason=clip(view.appraised.reason or "-", room)))


HANDLERS = {"pe": _on_pe, "xl": _on_xl, "xi": _on_xi}


async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await dispatch_callback(update, context, HANDLERS)


# ---- commands and typed input ----------------------------------------------------------------------------


async def appraise_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await assess.run(update, context, Command("appraise"))


async def _contestable(turn: Turn, tag: str, unit_code: str) -> None:
    found = await turn.run(svc.contestable, caller=turn.caller, unit_code=unit_code, now=turn.deps.now())
    deadline = when(found.closes, turn.tz) if found.closes else turn.t("explain.no_deadline")
    rows = [[_b(turn.t("explain.item.button", code=i.item.code, own=points_text(i.self_points, turn.lang),
                       appraised=points_text(svc.mark_of(i.appraised), turn.lang)), tag, "xi", unit_code, i.item.code)]
            for i in found.items]
    await turn.show(turn.t("explain.header", code=found.unit.code, name=found.unit.name, deadline=deadline),
                    InlineKeyboardMarkup(rows) if rows else None)


@for_members
async def explain_command(turn: Turn) -> None:
    tag = await turn.run(current_tag)
    shown = 0
    for unit_code in sorted({g.unit_code for g in turn.identity.grants if g.role in UNIT_ROLES and g.unit_code}):
        try:
            await _contestable(turn, tag, unit_code)
            shown += 1
        except DomainError:
            continue
    if not shown:
        await turn.send(turn.t("explain.none"))


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A unit's typed explanation; anything else goes on to the engine's handler."""
    turn = await Turn.start(update, context)
    if not turn.has_role:
        return
    state = await turn.run(chat_state, turn.person_id)
    if state.get("apr") != "contest":
        return
    unit_code, item_code = state["unit"], state["item"]
    try:
        await turn.run(svc.contest, caller=turn.caller, unit_code=unit_code, item_code=item_code,
                       text=update.effective_message.text.strip(), now=turn.deps.now())
        await turn.run(save_chat_state, turn.person_id, {"apr": "file", "unit": unit_code, "item": item_code})
        await turn.send(turn.t("explain.saved", code=item_code))
    except DomainError as error:
        await turn.send(turn.error(error))
    raise ApplicationHandlerStop


async def on_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file sent after an explanation becomes new evidence for the contested item."""
    turn = await Turn.start(update, context)
    if not turn.has_role:
        return
    state = await turn.run(chat_state, turn.person_id)
    if state.get("apr") != "file":
        return
    message = update.effective_message
    attachment = message.document or message.photo[-1]
    if (attachment.file_size or 0) <= DOWNLOAD_LIMIT:
        data = bytes(await (await attachment.get_file()).download_as_bytearray())
        try:
            await turn.run(svc.add_contest_file, caller=turn.caller, store=turn.deps.store, unit_code=state["unit"],
                           item_code=state["item"], data=data, file_name=getattr(attachment, "file_name", None),
                           mime_type=getattr(attachment, "mime_type", None) or ("image/jpeg" if message.photo else None),
                           now=turn.deps.now())
            await turn.send(turn.t("explain.file_saved", code=state["item"]))
        except DomainError as error:
            await turn.send(turn.error(error))
    raise ApplicationHandlerStop


# ---- outbox renderers ------------------------------------------------------------------------------------


def _clip_lines(lines: list[str]) -> str:
    text = "\n".join(lines)
    return text if len(text) <= 4096 else text[:4095] + "…"


def render_round1(ctx: RenderContext, item) -> Rendered:
    p, lang = item.payload, ctx.language(item)
    lines = [t("notice.round1", lang, unit=p["unit"], name=p["unit_name"], total=num(p["total"], lang, fixed=False),
               maximum=num(p["maximum"], lang, fixed=False), index=num(p["index"], lang))]  # decimal comma in vi
    if p["lowered"]:
        lines.append(t("notice.round1.lowered", lang))
        lines += [t("notice.round1.item", lang, **i) for i in p["lowered"]]
    else:
        lines.append(t("notice.round1.none", lang))
    closes = p.get("explanation_closes")
    lines.append(t("notice.round1.explain", lang, deadline=when(datetime.fromisoformat(closes), ctx.tz) if closes
                   else t("explain.no_deadline", lang)))
    return Rendered(text=_clip_lines(lines))


# The result notice and the ranking (queued by publication) are rendered as charts by handlers/reports.py.
RENDERERS.update({"appraisal_round1": render_round1})


def register(application: Application) -> None:
    for role, name in ((Role.APPRAISER, "appraise"), (Role.OFFICER, "explain"), (Role.UNIT_LEADER, "explain")):
        if name not in ROLE_COMMANDS[role]:
            ROLE_COMMANDS[role].append(name)
    application.add_handler(CommandHandler("appraise", appraise_command, filters=PRIVATE))
    application.add_handler(CommandHandler("explain", explain_command, filters=PRIVATE))
    application.add_handler(CallbackQueryHandler(on_callback, pattern=pattern(VERBS)))
    application.add_handler(MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, on_text), group=-1)
    application.add_handler(MessageHandler(PRIVATE & (filters.Document.ALL | filters.PHOTO), on_file), group=-1)
