"""Appraisal in Telegram. /appraise and /explain, their options and what they wait for (unit search, typed
points and reasons, explanations and their files) run through the conversation engine
(core/conversation/appraise.py); still here: sending an item's files back to the appraiser (documents, which
the Screens do not carry yet) and the round-1 notice's outbox renderer.
"""
from __future__ import annotations

from datetime import datetime

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from ...core.conversation.callbacks import Callback, pattern
from ...core.conversation.events import Command
from ...core.decimals import num
from ...core.services import appraisal as svc
from ...i18n import t, when
from ..sender import RenderContext, Rendered
from . import assess
from .common import Turn, dispatch_callback

PRIVATE = filters.ChatType.PRIVATE
VERBS = ("pe",)  # in callbacks.VERBS with the appraisal's verbs: core builds the option, this module answers it


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


async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await dispatch_callback(update, context, {"pe": _on_pe})


async def appraise_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await assess.run(update, context, Command("appraise"))


async def explain_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await assess.run(update, context, Command("explain"))


# ---- outbox renderers ------------------------------------------------------------------------------------


def _clip_lines(lines: list[str]) -> str:
    text = "\n".join(lines)
    return text if len(text) <= 4096 else text[:4095] + "…"


def _mark(text: str, lang: str) -> str:
    """A lowered item's points as the officer reads them: "0,5" in Vietnamese, "Không phát sinh" for "na"
    (points are kept at the set's precision, at most 3 decimals, so nothing is rounded here)."""
    return t("assess.answer.na", lang) if text == "na" else num(text, lang, fixed=False, places=3)


def render_round1(ctx: RenderContext, item) -> Rendered:
    p, lang = item.payload, ctx.language(item)
    lines = [t("notice.round1", lang, unit=p["unit"], name=p["unit_name"], total=num(p["total"], lang, fixed=False),
               maximum=num(p["maximum"], lang, fixed=False), index=num(p["index"], lang))]  # decimal comma in vi
    if p["lowered"]:
        lines.append(t("notice.round1.lowered", lang))
        lines += [t("notice.round1.item", lang, **{**i, "self": _mark(i["self"], lang),
                                                   "appraised": _mark(i["appraised"], lang)}) for i in p["lowered"]]
    else:
        lines.append(t("notice.round1.none", lang))
    closes = p.get("explanation_closes")
    lines.append(t("notice.round1.explain", lang, deadline=when(datetime.fromisoformat(closes), ctx.tz) if closes
                   else t("explain.no_deadline", lang)))
    return Rendered(text=_clip_lines(lines))


RENDERERS = {"appraisal_round1": render_round1}


def register(application: Application) -> None:
    application.add_handler(CommandHandler("appraise", appraise_command, filters=PRIVATE))
    application.add_handler(CommandHandler("explain", explain_command, filters=PRIVATE))
    application.add_handler(CallbackQueryHandler(on_callback, pattern=pattern(VERBS)))
