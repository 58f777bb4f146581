"""The self-assessment in the chat: /assess, /status, the item screens, typed numbers, evidence, submission.

Handlers are thin: parse the button or text, call a service (which checks grants and the calendar and
commits), then render. Where the chat waits for typed input is kept in the chat_state table, so after a
restart the next number typed still lands on the right item.
"""
from __future__ import annotations

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from ...core.errors import DomainError
from ...core.rules import AllOfRule, AnswerError, parse_number
from ...core.services import assessment as svc
from ...core.services.assessment import DOWNLOAD_LIMIT, ItemView, Overview
from .. import keyboards, views
from ..callbacks import Callback, MalformedCallback, pattern
from .common import Turn, dispatch_callback, for_members, log

PRIVATE = filters.ChatType.PRIVATE


# ---- screens ---------------------------------------------------------------------------------------


async def show_menu(turn: Turn, over: Overview, *, new: bool = False, note: str | None = None) -> None:
    text = views.menu_text(over, turn.tz, turn.lang)
    message_id = await turn.show(f"{note}\n\n{text}" if note else text, keyboards.menu(over, turn.lang), new=new)
    await turn.run(svc.save_chat_state, turn.person_id, {"unit": over.ws.unit.code, "msg": message_id})


async def show_item(turn: Turn, view: ItemView, *, mode: str = "answer", note: str | None = None,
                    held: str = "", new: bool = False, next_slot: int | None = None, review: bool = False) -> None:
    """Render an item and record what the chat now waits for (typed numbers, evidence, an explanation)."""
    item, ws = view.item, view.ws
    state: dict = {"unit": ws.unit.code, "slot": item.position}
    prompt = None
    if not ws.read_only:
        if mode in ("evidence", "explanation"):
            prompt, state["await"] = turn.t(f"assess.prompt.{mode}"), mode
        elif isinstance(item.rule, AllOfRule):
            prompt = views.condition_prompt(item, held, turn.lang)
        elif views.typed(item):
            key = item.rule.inputs()[0].key
            prompt, state["await"], state["values"] = views.input_prompt(item, key, turn.lang), "input", {}
        else:
            prompt = turn.t("assess.prompt.press")
    text = views.item_text(view, turn.tz, turn.lang, note=note, prompt=prompt)
    state["msg"] = await turn.show(text, keyboards.item(view, turn.lang, held=held, next_slot=next_slot,
                                                              review=review), new=new)
    await turn.run(svc.save_chat_state, turn.person_id, state)


async def show_review(turn: Turn, over: Overview, area: int | None = None, *, note: str | None = None,
                      new: bool = False) -> None:
    text = views.review_text(over, area, turn.tz, turn.lang)
    await turn.show(f"{note}\n\n{text}" if note else text, keyboards.review(over, turn.lang, final=area is None),
                    new=new)


async def after_answer(turn: Turn, view: ItemView, *, new: bool = False) -> None:
    """Show the points; ask for evidence where it is required and missing; else go to the next open item."""
    over, note = view.overview, views.saved_note(view, turn.lang)
    if not view.ws.read_only and over.needs_evidence(view.item):
        await show_item(turn, view, mode="evidence", note=f"{note}\n{turn.t('assess.need_evidence')}", new=new)
        return
    following = over.next_unanswered(view.item)
    if following is None:
        await show_review(turn, over, note=f"{note}\n{turn.t('assess.all_answered')}", new=new)
        return
    await show_item(turn, svc.view_from(over, following), note=note, new=new)


async def after_evidence(turn: Turn, view: ItemView, note: str, *, mode: str = "evidence") -> None:
    """Stay on the item (more files may follow) with a button to the next open item."""
    following = view.overview.next_unanswered(view.item)
    await show_item(turn, view, mode=mode, note=note, new=True,
                    next_slot=following.position if following and following.code != view.item.code else None,
                    review=following is None)


# ---- commands --------------------------------------------------------------------------------------


async def _unit_for(turn: Turn) -> str | None:
    """The unit this chat works on: the one in the chat state, else the person's only unit; None asks."""
    units = await turn.run(svc.my_units, caller=turn.caller)
    if not units:
        await turn.send(turn.t("assess.no_unit"))
        return None
    state = await turn.run(svc.chat_state, turn.person_id)
    codes = [u.code for u in units]
    if state.get("unit") in codes:
        return state["unit"]
    if len(units) == 1:
        return units[0].code
    tag = await turn.run(svc.current_tag)
    await turn.send(turn.t("assess.pick_unit"), keyboards.units([(u.code, u.name) for u in units], tag))
    return None


@for_members
async def assess_command(turn: Turn) -> None:
    await open_workspace(turn)


async def open_workspace(turn: Turn) -> None:
    """Resume where the chat stopped (the item it was on), else the area menu."""
    try:
        unit = await _unit_for(turn)
        if unit is None:
            return
        state = await turn.run(svc.chat_state, turn.person_id)
        if state.get("unit") == unit and "slot" in state:
            view = await turn.run(svc.item_view, caller=turn.caller, unit_code=unit, position=state["slot"], now=turn.deps.now())
            await show_item(turn, view, note=turn.t("assess.resumed"), new=True)
            return
        await show_menu(turn, await turn.run(svc.overview, caller=turn.caller, unit_code=unit, now=turn.deps.now()), new=True)
    except DomainError as error:
        await turn.send(turn.error(error))


@for_members
async def status_command(turn: Turn) -> None:
    try:
        unit = await _unit_for(turn)
        if unit is None:
            return
        over = await turn.run(svc.overview, caller=turn.caller, unit_code=unit, now=turn.deps.now())
        await turn.send(views.status_text(over, turn.tz, turn.lang), keyboards.review(over, turn.lang, final=True))
    except DomainError as error:
        await turn.send(turn.error(error))


# ---- buttons ---------------------------------------------------------------------------------------


async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await dispatch_callback(update, context, VERBS)


def _now(turn: Turn):
    return turn.deps.now()


async def _menu(turn: Turn, cb: Callback) -> None:
    await show_menu(turn, await turn.run(svc.overview, caller=turn.caller, unit_code=cb.args[0], now=_now(turn)))


async def _area(turn: Turn, cb: Callback) -> None:
    await show_item(turn, await turn.run(svc.area_start, caller=turn.caller, unit_code=cb.args[0], area_index=cb.slot(1), now=_now(turn)))


async def _item(turn: Turn, cb: Callback) -> None:
    await show_item(turn, await turn.run(svc.item_view, caller=turn.caller, unit_code=cb.args[0], position=cb.slot(1), now=_now(turn)))


async def _answer(turn: Turn, cb: Callback) -> None:
    unit, option = cb.args[0], cb.args[2]
    view = await turn.run(svc.item_view, caller=turn.caller, unit_code=unit, position=cb.slot(1), now=_now(turn))
    if option == "na":
        outcome = await turn.run(svc.record_answer, caller=turn.caller, unit_code=unit, item_code=view.item.code,
                                 raw=None, now=_now(turn), not_applicable=True)
    else:  # a yes/no rule reads "yes" (y / n), a choice rule "option"; any other rule refuses both
        outcome = await turn.run(svc.record_answer, caller=turn.caller, unit_code=unit, item_code=view.item.code,
                                 raw={"yes": option, "option": option}, now=_now(turn))
    await after_answer(turn, outcome.view)


async def _condition(turn: Turn, cb: Callback) -> None:
    unit, held = cb.args[0], cb.args[2]
    view = await turn.run(svc.item_view, caller=turn.caller, unit_code=unit, position=cb.slot(1), now=_now(turn))
    rule = view.item.rule
    if not isinstance(rule, AllOfRule) or set(held) - {"y", "n"} or len(held) > len(rule.conditions):
        raise MalformedCallback(cb.args[2])
    if len(held) < len(rule.conditions):
        await show_item(turn, view, held=held)
        return
    conditions = {c.code: mark == "y" for c, mark in zip(rule.conditions, held)}
    outcome = await turn.run(svc.record_answer, caller=turn.caller, unit_code=unit, item_code=view.item.code,
                             raw={"conditions": conditions}, now=_now(turn))
    await after_answer(turn, outcome.view)


def _waiting(mode: str):
    async def handler(turn: Turn, cb: Callback) -> None:
        view = await turn.run(svc.item_view, caller=turn.caller, unit_code=cb.args[0], position=cb.slot(1), now=_now(turn))
        await show_item(turn, view, mode=mode)
    return handler


async def _status(turn: Turn, cb: Callback) -> None:
    over = await turn.run(svc.overview, caller=turn.caller, unit_code=cb.args[0], now=_now(turn))
    await turn.show(views.status_text(over, turn.tz, turn.lang), keyboards.review(over, turn.lang, final=True))


async def _review(turn: Turn, cb: Callback) -> None:
    over = await turn.run(svc.overview, caller=turn.caller, unit_code=cb.args[0], now=_now(turn))
    if not 0 <= cb.slot(1) < len(over.ws.criteria.areas):
        raise MalformedCallback(cb.args[1])
    await show_review(turn, over, cb.slot(1))


async def _final(turn: Turn, cb: Callback) -> None:
    await show_review(turn, await turn.run(svc.overview, caller=turn.caller, unit_code=cb.args[0], now=_now(turn)))


async def _ask_submit(turn: Turn, cb: Callback) -> None:
    over = await turn.run(svc.overview, caller=turn.caller, unit_code=cb.args[0], now=_now(turn))
    text = f"{turn.t('assess.submit.confirm')}\n\n{views.status_text(over, turn.tz, turn.lang)}"
    await turn.show(text, keyboards.confirm_submit(over, turn.lang))


async def _submit(turn: Turn, cb: Callback) -> None:
    over, done = await turn.run(svc.submit, caller=turn.caller, unit_code=cb.args[0], now=_now(turn))
    await show_review(turn, over, note=turn.t("assess.submit.done" if done else "assess.submit.already"))


async def _approve(turn: Turn, cb: Callback) -> None:
    over, done = await turn.run(svc.approve, caller=turn.caller, unit_code=cb.args[0], now=_now(turn))
    await show_review(turn, over, note=turn.t("assess.approve.done" if done else "assess.approve.already"))


async def _pick_unit(turn: Turn, cb: Callback) -> None:
    await show_menu(turn, await turn.run(svc.overview, caller=turn.caller, unit_code=cb.args[0], now=_now(turn)))


# Only this module's verbs: other features' buttons go to their own handlers.
VERBS = {"m": _menu, "ar": _area, "i": _item, "a": _answer, "c": _condition, "ev": _waiting("evidence"),
         "ex": _waiting("explanation"), "ty": _item, "st": _status, "rv": _review, "fr": _final,
         "sb": _ask_submit, "sk": _submit, "ap": _approve, "u": _pick_unit}
PATTERN = pattern(VERBS)


# ---- typed text, documents and photos --------------------------------------------------------------


async def _fresh_state(turn: Turn) -> dict | None:
    """The chat state, or None when this message was handled already: after a crash Telegram redelivers
    unconfirmed updates, and a typed count must not be taken twice (message ids grow within a chat)."""
    state = await turn.run(svc.chat_state, turn.person_id)
    message_id = turn.update.effective_message.message_id
    if message_id <= state.get("seen", 0):
        log.info("message %s of person %s handled already", message_id, turn.person_id)
        return None
    state["seen"] = message_id
    await turn.run(svc.save_chat_state, turn.person_id, state)
    return state


@for_members
async def on_text(turn: Turn) -> None:
    state = await _fresh_state(turn)
    if state is None:
        return
    waiting, text = state.get("await"), turn.update.effective_message.text or ""
    if not waiting:
        await turn.send(turn.t("assess.hint"))
        return
    try:
        view = await turn.run(svc.item_view, caller=turn.caller, unit_code=state["unit"], position=state["slot"], now=_now(turn))
        if waiting == "input":
            await _typed(turn, view, state, text)
        elif waiting == "evidence":
            view, added = await turn.run(svc.add_reference, caller=turn.caller, unit_code=state["unit"],
                                         item_code=view.item.code, text=text, now=_now(turn))
            await after_evidence(turn, view, turn.t("assess.evidence.reference_saved" if added
                                                    else "assess.evidence.duplicate"))
        else:
            view = await turn.run(svc.set_explanation, caller=turn.caller, unit_code=state["unit"],
                                  item_code=view.item.code, text=text, now=_now(turn))
            await after_evidence(turn, view, turn.t("assess.explanation.saved"), mode="answer")
    except DomainError as error:
        await turn.send(turn.error(error))


async def _typed(turn: Turn, view: ItemView, state: dict, text: str) -> None:
    """One typed number; a ratio asks its two counts in turn. A bad number is explained and asked again."""
    item, values = view.item, dict(state.get("values") or {})
    inputs = item.rule.inputs()
    spec = next((i for i in inputs if i.key not in values), inputs[0])
    try:
        parse_number(text, integer=spec.kind == "integer", minimum=spec.minimum, maximum=spec.maximum)
    except AnswerError as error:
        await turn.send(f"{turn.error(error)}\n{views.input_prompt(item, spec.key, turn.lang)}")
        return
    values[spec.key] = text.strip()
    typed = dict(state.get("typed") or {}) | {spec.key: turn.update.effective_message.message_id}  # for edits
    pending = [i for i in inputs if i.key not in values]
    if pending:
        await turn.run(svc.save_chat_state, turn.person_id, state | {"values": values, "typed": typed})
        await turn.send(views.input_prompt(item, pending[0].key, turn.lang))
        return
    try:
        outcome = await turn.run(svc.record_answer, caller=turn.caller, unit_code=state["unit"], item_code=item.code,
                                 raw=values, now=_now(turn))
    except AnswerError as error:  # e.g. numerator above denominator: both counts are asked again
        await turn.run(svc.save_chat_state, turn.person_id, state | {"values": {}})
        await turn.send(f"{turn.error(error)}\n{views.input_prompt(item, inputs[0].key, turn.lang)}")
        return
    await after_answer(turn, outcome.view, new=True)


async def on_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """An edit of a count typed for the item still being answered replaces it, and the count still missing is
    asked again; any other edit is not the assessment's."""
    turn = await Turn.start(update, context)
    if not turn.has_role:
        return False
    state = await turn.run(svc.chat_state, turn.person_id)
    message = turn.update.effective_message
    key = next((k for k, m in (state.get("typed") or {}).items() if m == message.message_id), None)
    if state.get("await") != "input" or key not in (state.get("values") or {}):
        return False
    text = message.text.strip()
    try:
        view = await turn.run(svc.item_view, caller=turn.caller, unit_code=state["unit"], position=state["slot"],
                              now=_now(turn))
        inputs = view.item.rule.inputs()
        spec = next(i for i in inputs if i.key == key)
        parse_number(text, integer=spec.kind == "integer", minimum=spec.minimum, maximum=spec.maximum)
    except DomainError as error:
        await turn.send(turn.error(error))
        return True
    values = state["values"] | {key: text}
    await turn.run(svc.save_chat_state, turn.person_id, state | {"values": values})
    pending = next(i for i in inputs if i.key not in values)
    await turn.send(turn.t("assess.edit.count", label=views.input_label(view.item, key, turn.lang), value=text)
                    + "\n" + views.input_prompt(view.item, pending.key, turn.lang))
    return True


@for_members
async def on_file(turn: Turn) -> None:
    state = await _fresh_state(turn)
    if state is None:
        return
    if "slot" not in state:
        await turn.send(turn.t("assess.evidence.no_item"))
        return
    message = turn.update.effective_message
    attachment = message.document or message.photo[-1]
    size = attachment.file_size or 0
    if size > DOWNLOAD_LIMIT:
        await turn.send(turn.t("assess.evidence.too_big", size_mb=views.num(round(size / 1024 / 1024, 1), turn.lang)))
        return
    try:
        view = await turn.run(svc.item_view, caller=turn.caller, unit_code=state["unit"], position=state["slot"], now=_now(turn))
        if view.ws.read_only:
            await turn.send(views.read_only_text(view.ws, turn.tz, turn.lang))
            return
        try:
            data = bytes(await (await attachment.get_file()).download_as_bytearray())
        except BadRequest as exc:
            log.info("evidence download refused: %s", exc)
            await turn.send(turn.t("assess.evidence.too_big", size_mb=views.num(round(size / 1024 / 1024, 1),
                                                                                  turn.lang)))
            return
        name = getattr(attachment, "file_name", None)
        mime = getattr(attachment, "mime_type", None) or ("image/jpeg" if message.photo else None)
        view, added = await turn.run(svc.add_evidence_file, caller=turn.caller, store=turn.deps.store,
                                     unit_code=state["unit"], item_code=view.item.code, data=data, file_name=name,
                                     mime_type=mime, now=_now(turn))
        await after_evidence(turn, view, turn.t("assess.evidence.file_saved" if added
                                                else "assess.evidence.duplicate"))
    except DomainError as error:
        await turn.send(turn.error(error))


def register(application: Application) -> None:
    application.add_handler(CommandHandler("assess", assess_command, filters=PRIVATE))
    application.add_handler(CommandHandler("status", status_command, filters=PRIVATE))
    application.add_handler(CallbackQueryHandler(on_callback, pattern=PATTERN))
    application.add_handler(MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, on_text))
    application.add_handler(MessageHandler(PRIVATE & (filters.Document.ALL | filters.PHOTO), on_file))
