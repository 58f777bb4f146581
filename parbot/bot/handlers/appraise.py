"""Appraisal in the chat: /appraise for appraisers (units → areas → items: accept, other points with a reason,
accept the rest of an area, re-send evidence, keep in round 2), /explain for units in the explanation round.

Every button names a unit and an item; the services check the presser's grants and the areas the period
gives them, so a forged button is refused like any other. Typed points, reasons and explanations wait in the
chat_state row ("apr" key), so a restart resumes; these text handlers run before the assessment's and stop
there only when the chat waits for appraisal input. The round-1 notice's outbox renderer is registered here.
"""
from __future__ import annotations

import unicodedata
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import MessageLimit
from telegram.ext import (Application, ApplicationHandlerStop, CallbackQueryHandler, CommandHandler, ContextTypes,
                          MessageHandler, filters)

from ...core.decimals import fmt, num
from ...core.errors import DomainError
from ...core.permissions import UNIT_ROLES, Role
from ...core.results import NA
from ...core.services import appraisal as svc
from ...core.services.assessment import DOWNLOAD_LIMIT, chat_state, current_tag, save_chat_state
from ...i18n import t, when
from ...core.conversation import callbacks
from ...core.conversation.callbacks import Callback, encode, pattern
from .. import keyboards
from ..sender import RENDERERS, RenderContext, Rendered
from ...core.conversation.views import BUTTON_LIMIT, clip
from .common import Turn, dispatch_callback, for_members
from .onboarding import ROLE_COMMANDS

PRIVATE = filters.ChatType.PRIVATE
VERBS = {"pl": 0, "pn": 1, "pu": 1, "pa": 2, "pi": 2, "pk": 2, "pp": 2, "pr": 2, "pe": 2, "pg": 2, "xl": 1, "xi": 2}
callbacks.register_verbs(VERBS)
TEXT_LIMIT = 4000


def _b(text: str, tag: str, verb: str, *args: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(clip(text, BUTTON_LIMIT), callback_data=encode(tag, verb, *args))


def _points(mark, lang: str) -> str:
    if mark is None:
        return t("appraisal.none_yet", lang)
    return t("appraisal.na", lang) if mark is NA else fmt(mark, decimal_comma=lang == "vi")


# ---- appraisers' screens ---------------------------------------------------------------------------------


def _folded(text: str) -> str:
    """Lower case without Vietnamese diacritics, so "so noi vu" finds "Sở Nội vụ"."""
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


async def _units(turn: Turn, tag: str, page: int = 0, query: str = "") -> None:
    """The units to appraise, a page at a time; while the list is shown, typed text filters it by name or code."""
    overview = await turn.run(svc.list_units, caller=turn.caller, now=turn.deps.now())
    if not overview:
        await turn.show(turn.t("appraisal.none"))
        return
    with turn.deps.uow() as uow:
        year = uow.periods.current().year
    lines = [turn.t("appraisal.list.header", year=year)]
    if query:
        wanted = _folded(query)
        matching = [o for o in overview if wanted in _folded(f"{o.code} {o.name}")]
        lines.append(turn.t("units.filtered", query=query, count=len(matching)) if matching
                     else turn.t("units.no_match", query=query))
        if matching:
            overview = matching
        else:
            query = ""
    rows = [[_b(turn.t("appraisal.unit.button", code=o.code, status=turn.t(f"appraisal.status.{o.status}"),
                       done=o.mine_appraised, total=o.mine_total,
                       contested=turn.t("appraisal.contested.mark", count=o.contested_open) if o.contested_open else ""),
                tag, "pu", o.code)] for o in overview]
    markup, page, pages = keyboards.paged(rows, page, turn.lang, tag, "pn")
    lines.append(turn.t("units.page", page=page + 1, pages=pages, count=len(overview)))
    await turn.run(save_chat_state, turn.person_id, {"apr": "units", "query": query})
    await turn.show("\n".join(lines), markup)


async def _unit(turn: Turn, tag: str, unit_code: str, note: str | None = None) -> None:
    view = await turn.run(svc.unit_view, caller=turn.caller, unit_code=unit_code, now=turn.deps.now())
    lines = [turn.t("appraisal.unit.header", code=view.unit.code, name=view.unit.name,
                    status=turn.t(f"appraisal.status.{view.status}"), round=view.round or "-")]
    rows = []
    if view.contested:
        lines.append(turn.t("appraisal.unit.contested"))
        rows += [[_b(f"❗ {i.item.code}. {i.item.name}", tag, "pi", unit_code, i.item.code)] for i in view.contested]
    lines.append(turn.t("appraisal.unit.pick_area"))
    for area in view.areas:
        if area.mine:
            done = sum(1 for i in area.items if i.appraised is not None)
            rows.append([_b(turn.t("appraisal.area.button", code=area.code, name=area.name, done=done,
                                   total=len(area.items)), tag, "pa", unit_code, area.code)])
    rows.append([_b(turn.t("appraisal.button.units"), tag, "pl")])
    text = "\n".join(lines)
    await turn.show(f"{note}\n\n{text}" if note else text, InlineKeyboardMarkup(rows))


def _item_text(turn: Turn, unit_code: str, view: svc.ItemView) -> str:
    item, lang = view.item, turn.lang
    lines = [turn.t("appraisal.item.header", unit=unit_code, code=item.code, name=item.label(lang),
                    max=fmt(item.maximum, decimal_comma=lang == "vi"))]
    if view.answer is not None:
        lines.append(turn.t("appraisal.item.answer", answer=svc.answer_text(view.answer) or "-"))
    lines.append(turn.t("appraisal.item.self", points=_points(view.self_points, lang)))
    names = [e.file_name or e.reference or e.kind for e in view.evidence]
    lines.append(turn.t("appraisal.item.evidence", list="; ".join(names)) if names
                 else turn.t("appraisal.item.no_evidence"))
    if view.explanation:
        lines.append(turn.t("appraisal.item.explanation", text=view.explanation))
    if view.appraised is not None:
        reason = f" — {view.appraised.reason}" if view.appraised.reason else ""
        lines.append(turn.t("appraisal.item.appraised", round=view.appraised.appraisal_round or "-",
                            points=_points(svc.mark_of(view.appraised), lang), reason=reason))
    if view.contest is not None:
        lines.append(turn.t("appraisal.item.contest", text=view.contest.text))
    return clip("\n".join(lines), TEXT_LIMIT)


async def _item(turn: Turn, tag: str, unit_code: str, item_code: str, note: str | None = None) -> None:
    view = await turn.run(svc.unit_view, caller=turn.caller, unit_code=unit_code, now=turn.deps.now())
    items = [i for a in view.areas if a.mine for i in a.items]
    current = next((i for i in items if i.item.code == item_code), None)
    if current is None:
        raise DomainError("appraisal.area_not_assigned", unit=unit_code, area=item_code)
    rows = [[_b(turn.t("appraisal.button.accept"), tag, "pk", unit_code, item_code)],
            [_b(turn.t("appraisal.button.set"), tag, "pp", unit_code, item_code)]]
    if view.round == 2 and current.appraised is not None:
        rows.append([_b(turn.t("appraisal.button.keep"), tag, "pg", unit_code, item_code)])
    rows.append([_b(turn.t("appraisal.button.rest"), tag, "pr", unit_code, current.item.area_code)])
    if any(e.kind == "file" for e in current.evidence):
        rows.append([_b(turn.t("appraisal.button.files"), tag, "pe", unit_code, item_code)])
    following = items[items.index(current) + 1:]
    nav = [_b(turn.t("appraisal.button.back"), tag, "pu", unit_code)]
    if following:
        nav.insert(0, _b(turn.t("appraisal.button.next"), tag, "pi", unit_code, following[0].item.code))
    rows.append(nav)
    text = _item_text(turn, unit_code, current)
    await turn.show(f"{note}\n\n{text}" if note else text, InlineKeyboardMarkup(rows))


def _saved_note(turn: Turn, outcome: svc.Outcome) -> str:
    note = turn.t("appraisal.saved", code=outcome.item_code, points=_points(outcome.points, turn.lang))
    if outcome.replaced_by:
        note += "\n" + turn.t("appraisal.replaced", value=outcome.replaced_value, who=outcome.replaced_by)
    return note


async def _after_write(turn: Turn, tag: str, unit_code: str, outcome: svc.Outcome) -> None:
    """Show the next item of the caller's areas still without appraised points, or the unit."""
    view = await turn.run(svc.unit_view, caller=turn.caller, unit_code=unit_code, now=turn.deps.now())
    pending = view.contested or [i for a in view.areas if a.mine for i in a.items if i.appraised is None]
    if pending:
        await _item(turn, tag, unit_code, pending[0].item.code, note=_saved_note(turn, outcome))
    else:
        await _unit(turn, tag, unit_code, note=_saved_note(turn, outcome))


# ---- buttons ---------------------------------------------------------------------------------------------


async def _on_pl(turn: Turn, cb: Callback) -> None:
    await _units(turn, cb.tag)


async def _on_pn(turn: Turn, cb: Callback) -> None:
    state = await turn.run(chat_state, turn.person_id)
    await _units(turn, cb.tag, cb.slot(0), state.get("query", "") if state.get("apr") == "units" else "")


async def _on_pu(turn: Turn, cb: Callback) -> None:
    if (await turn.run(chat_state, turn.person_id)).get("apr") == "units":
        await turn.run(save_chat_state, turn.person_id, {})  # typed text no longer filters the list
    await _unit(turn, cb.tag, cb.args[0])


async def _on_pa(turn: Turn, cb: Callback) -> None:
    view = await turn.run(svc.unit_view, caller=turn.caller, unit_code=cb.args[0], now=turn.deps.now())
    area = next((a for a in view.areas if a.code == cb.args[1] and a.mine), None)
    if area is None or not area.items:
        raise DomainError("appraisal.area_not_assigned", unit=cb.args[0], area=cb.args[1])
    first = next((i for i in area.items if i.appraised is None), area.items[0])
    await _item(turn, cb.tag, cb.args[0], first.item.code)


async def _on_pi(turn: Turn, cb: Callback) -> None:
    await _item(turn, cb.tag, *cb.args)


async def _on_pk(turn: Turn, cb: Callback) -> None:
    outcome = await turn.run(svc.appraise, caller=turn.caller, unit_code=cb.args[0], item_code=cb.args[1],
                             now=turn.deps.now())
    await _after_write(turn, cb.tag, cb.args[0], outcome)


async def _assigned_item(turn: Turn, unit_code: str, item_code: str):
    """The item, when the presser appraises its area in this unit; refused otherwise, before anything is read."""
    view = await turn.run(svc.unit_view, caller=turn.caller, unit_code=unit_code, now=turn.deps.now())
    item = next((i.item for a in view.areas if a.mine for i in a.items if i.item.code == item_code), None)
    if item is None:
        raise DomainError("appraisal.area_not_assigned", unit=unit_code, area=item_code)
    return item


async def _on_pg(turn: Turn, cb: Callback) -> None:
    # keep() reads the round-1 points before appraise() checks grants: without this guard anyone with a role
    # learnt from "nothing to keep" whether any unit's item was appraised yet.
    await _assigned_item(turn, cb.args[0], cb.args[1])
    outcome = await turn.run(svc.keep, caller=turn.caller, unit_code=cb.args[0], item_code=cb.args[1],
                             now=turn.deps.now())
    await _after_write(turn, cb.tag, cb.args[0], outcome)


async def _on_pp(turn: Turn, cb: Callback) -> None:
    item = await _assigned_item(turn, cb.args[0], cb.args[1])
    await turn.run(save_chat_state, turn.person_id, {"apr": "points", "unit": cb.args[0], "item": item.code})
    await turn.send(turn.t("appraisal.prompt.points", code=item.code,
                           max=fmt(item.maximum, decimal_comma=turn.lang == "vi")))


async def _on_pr(turn: Turn, cb: Callback) -> None:
    outcomes = await turn.run(svc.accept_rest, caller=turn.caller, unit_code=cb.args[0], area_code=cb.args[1],
                              now=turn.deps.now())
    await _unit(turn, cb.tag, cb.args[0], note=turn.t("appraisal.rest_done", count=len(outcomes)))


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
    params = dict(code=view.item.code, own=_points(view.self_points, turn.lang),
                  appraised=_points(svc.mark_of(view.appraised), turn.lang))
    room = MessageLimit.MAX_TEXT_LENGTH - len(turn.t("explain.prompt", **params, reason=""))
    await turn.send(turn.t("explain.prompt", **params, reason=clip(view.appraised.reason or "-", room)))


HANDLERS = {"pl": _on_pl, "pn": _on_pn, "pu": _on_pu, "pa": _on_pa, "pi": _on_pi, "pk": _on_pk, "pp": _on_pp, "pr": _on_pr,
            "pe": _on_pe, "pg": _on_pg, "xl": _on_xl, "xi": _on_xi}


async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await dispatch_callback(update, context, HANDLERS)


# ---- commands and typed input ----------------------------------------------------------------------------


@for_members
async def appraise_command(turn: Turn) -> None:
    tag = await turn.run(current_tag)
    try:
        await _units(turn, tag)
    except DomainError as error:
        await turn.send(turn.error(error))


async def _contestable(turn: Turn, tag: str, unit_code: str) -> None:
    found = await turn.run(svc.contestable, caller=turn.caller, unit_code=unit_code, now=turn.deps.now())
    deadline = when(found.closes, turn.tz) if found.closes else turn.t("explain.no_deadline")
    rows = [[_b(turn.t("explain.item.button", code=i.item.code, own=_points(i.self_points, turn.lang),
                       appraised=_points(svc.mark_of(i.appraised), turn.lang)), tag, "xi", unit_code, i.item.code)]
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
    """Typed points, reasons and explanations; anything else goes on to the other features' handlers."""
    turn = await Turn.start(update, context)
    if not turn.has_role:
        return
    state = await turn.run(chat_state, turn.person_id)
    mode = state.get("apr")
    if mode not in ("points", "reason", "contest", "units"):
        return
    text = update.effective_message.text.strip()
    tag = await turn.run(current_tag)
    try:
        if mode == "units":
            await _units(turn, tag, 0, text)
        elif mode == "points":
            await _take_points(turn, tag, state, text, update.effective_message.message_id)
        elif mode == "reason":
            await _write_typed(turn, tag, state, state["points"], text)
        else:
            unit_code, item_code = state["unit"], state["item"]
            await turn.run(svc.contest, caller=turn.caller, unit_code=unit_code, item_code=item_code, text=text,
                           now=turn.deps.now())
            await turn.run(save_chat_state, turn.person_id, {"apr": "file", "unit": unit_code, "item": item_code})
            await turn.send(turn.t("explain.saved", code=item_code))
    except DomainError as error:
        await turn.send(turn.error(error))
    raise ApplicationHandlerStop


async def _take_points(turn: Turn, tag: str, state: dict, points: str, message_id: int, note: str = "") -> None:
    """Typed points: saved at once, or kept (with the message they came in, which the appraiser may still
    edit) while the reason they need is asked."""
    if await turn.run(svc.needs_reason, caller=turn.caller, unit_code=state["unit"], item_code=state["item"],
                      points=points):
        await turn.run(save_chat_state, turn.person_id,
                       state | {"apr": "reason", "points": points, "points_message": message_id})
        await turn.send(f"{note}{turn.t('appraisal.prompt.reason')}")
    else:
        await _write_typed(turn, tag, state, points, None)


async def on_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """An edit of the typed points while their reason is awaited replaces them (0 corrected to 0,5 gives 0,5
    and still asks the reason); any other edit is not appraisal's."""
    turn = await Turn.start(update, context)
    if not turn.has_role:
        return False
    state = await turn.run(chat_state, turn.person_id)
    message = update.effective_message
    if state.get("apr") != "reason" or state.get("points_message") != message.message_id:
        return False
    points = message.text.strip()
    try:
        await _take_points(turn, await turn.run(current_tag), state, points, message.message_id,
                           note=turn.t("appraisal.edit.points", points=points) + "\n")
    except DomainError as error:
        await turn.send(turn.error(error))
    return True


async def _write_typed(turn: Turn, tag: str, state: dict, points: str, reason: str | None) -> None:
    outcome = await turn.run(svc.appraise, caller=turn.caller, unit_code=state["unit"], item_code=state["item"],
                             points=points, reason=reason, now=turn.deps.now())
    await turn.run(save_chat_state, turn.person_id, {})
    await _after_write(turn, tag, state["unit"], outcome)


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
