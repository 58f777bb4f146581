"""The officer's self-assessment as a conversation: /assess, /status, the item screens, typed numbers,
evidence, submission. Each function runs inside the engine's one transaction (the services nest in it),
adds screens to the turn and sets what the chat waits for next."""
from __future__ import annotations

from ...i18n import t
from ..errors import DomainError
from ..links import url
from ..rules import AllOfRule, AnswerError, ChoiceRule, YesNoRule, parse_number
from ..services import assessment as svc
from ..services import links
from ..services.assessment import DOWNLOAD_LIMIT, ItemView, Overview
from . import views
from .callbacks import Callback, MalformedCallback, encode
from .events import Edit, Text, Upload
from .screen import Expects, Link, Option
from .state import Awaiting, ChatState
from .turn import Rows, Turn
from .views import BUTTON_LIMIT, area_button, clip, typed

# ---- options (the callback data of callbacks.py is each option's id) -------------------------------


def _o(text: str, tag: str, verb: str, *args: object, word: str | None = None) -> Option:
    """``word``: what a text-only channel (Zalo) lets the person type instead of the option's number."""
    return Option(encode(tag, verb, *args), clip(text, BUTTON_LIMIT), word)


def menu_rows(over: Overview, lang: str) -> Rows:
    ws = over.ws
    tag, unit = ws.tag, ws.unit.code
    rows = [[_o(area_button(over, i, lang), tag, "ar", unit, i)] for i, progress in enumerate(over.progress.areas)
            if progress.total]
    rows.append([_o(t("button.status", lang), tag, "st", unit),
                 _o(t("button.final_review", lang), tag, "fr", unit)])
    return rows


def item_rows(view: ItemView, lang: str, *, held: str = "", next_slot: int | None = None,
              review: bool = False) -> Rows:
    """Answer buttons (when editable), evidence and explanation, then navigation.

    ``held`` is how far an all-of item's conditions were answered; ``next_slot`` adds a button to the next
    unanswered item (after evidence, the officer moves on when ready); ``review`` a button to the final
    review (when nothing is left to answer)."""
    ws, it = view.ws, view.item
    tag, unit, slot = ws.tag, ws.unit.code, it.position
    rows: Rows = []
    rule = it.rule
    if not ws.read_only:
        if isinstance(rule, YesNoRule):
            yes, no = rule.labels(lang)
            rows.append([_o(f"✅ {yes}", tag, "a", unit, slot, "y"), _o(f"❌ {no}", tag, "a", unit, slot, "n")])
        elif isinstance(rule, ChoiceRule):
            rows += [[_o(o.label_in(lang), tag, "a", unit, slot, o.code)] for o in rule.options]
        elif isinstance(rule, AllOfRule):
            rows.append([_o(t("common.yes", lang), tag, "c", unit, slot, held + "y"),
                         _o(t("common.no", lang), tag, "c", unit, slot, held + "n")])
        elif typed(it):
            rows.append([_o(t("button.type_numbers", lang), tag, "ty", unit, slot)])
        if it.not_applicable_allowed:
            rows.append([_o(t("button.not_applicable", lang), tag, "a", unit, slot, "na")])
        if it.evidence != "none":
            rows.append([_o(t("button.evidence", lang), tag, "ev", unit, slot),
                         _o(t("button.explanation", lang), tag, "ex", unit, slot)])
    if next_slot is not None:
        rows.append([_o(t("button.next_unanswered", lang), tag, "i", unit, next_slot, word=t("word.next", lang))])
    if review:
        rows.append([_o(t("button.final_review", lang), tag, "fr", unit)])
    nav = []
    if view.previous is not None:
        nav.append(_o(t("button.back", lang), tag, "i", unit, view.previous.position, word=t("word.back", lang)))
    if view.next is not None:
        nav.append(_o(t("button.skip", lang), tag, "i", unit, view.next.position, word=t("word.skip", lang)))
    nav.append(_o(t("button.menu", lang), tag, "m", unit, word=t("word.menu", lang)))
    rows.append(nav)
    return rows


def review_rows(over: Overview, lang: str, *, final: bool) -> Rows:
    ws = over.ws
    tag, unit = ws.tag, ws.unit.code
    rows: Rows = []
    if final:
        rows += [[_o(t("button.review_area", lang, area=a.code), tag, "rv", unit, i)]
                 for i, (a, p) in enumerate(zip(ws.criteria.areas, over.progress.areas)) if p.total]
        submitted = ws.stage.submitted_at is not None
        if ws.can_approve and ws.approval_required and not ws.stage.approved_at and not submitted:
            rows.append([_o(t("button.approve", lang), tag, "ap", unit)])
        if ws.can_assess and not ws.read_only:
            rows.append([_o(t("button.submit", lang), tag, "sb", unit, word=t("word.submit", lang))])
    rows.append([_o(t("button.menu", lang), tag, "m", unit, word=t("word.menu", lang))])
    return rows


def confirm_rows(over: Overview, lang: str) -> Rows:
    tag, unit = over.ws.tag, over.ws.unit.code
    return [[_o(t("button.confirm_submit", lang), tag, "sk", unit, word=t("word.confirm", lang)),
             _o(t("button.cancel", lang), tag, "fr", unit)]]


# ---- screens ---------------------------------------------------------------------------------------


def show_menu(turn: Turn, over: Overview, *, new: bool = False, note: str | None = None) -> None:
    text = views.menu_text(over, turn.tz, turn.lang)
    turn.show(f"{note}\n\n{text}" if note else text, menu_rows(over, turn.lang), new=new)
    turn.state = ChatState(seen=turn.state.seen, unit=over.ws.unit.code)


_EXPECTS = {Awaiting.INPUT: Expects.NUMBER, Awaiting.EVIDENCE: Expects.FILE, Awaiting.EXPLANATION: Expects.TEXT}


def show_item(turn: Turn, view: ItemView, *, mode: str = "answer", note: str | None = None, held: str = "",
              new: bool = False, next_slot: int | None = None, review: bool = False) -> None:
    """Show an item and record what the chat now waits for (typed numbers, evidence, an explanation)."""
    item, ws = view.item, view.ws
    awaiting, prompt = Awaiting.NOTHING, None
    if not ws.read_only:
        if mode in ("evidence", "explanation"):
            prompt, awaiting = turn.t(f"assess.prompt.{mode}"), Awaiting(mode)
        elif isinstance(item.rule, AllOfRule):
            prompt = views.condition_prompt(item, held, turn.lang)
        elif typed(item):
            prompt, awaiting = views.input_prompt(item, item.rule.inputs()[0].key, turn.lang), Awaiting.INPUT
        else:
            prompt = turn.t("assess.prompt.press")
    text, shortened = views.item_screen_text(view, turn.tz, turn.lang, note=note, prompt=prompt)
    turn.show(text, item_rows(view, turn.lang, held=held, next_slot=next_slot, review=review), new=new,
              expects=_EXPECTS.get(awaiting), link=_rules_link(turn, view, shortened),
              upload=_upload_link(turn, view) if awaiting is Awaiting.EVIDENCE else None)
    turn.state = ChatState(seen=turn.state.seen, unit=ws.unit.code, slot=item.position, awaiting=awaiting)


def _rules_link(turn: Turn, view: ItemView, shortened: bool) -> Link | None:
    """A signed link to the item's full rules page, for this person; None where links are not configured."""
    env = turn.env
    if not env.public_url or turn.identity.person is None:
        return None
    try:
        token = links.rules_token(key=env.link_key, person_id=turn.person_id, unit_code=view.ws.unit.code,
                                  item_code=view.item.code, now=turn.now, ttl=env.link_ttl)
    except DomainError:  # no PARBOT_LINK_SECRET (or too short): the chat's text stands alone
        return None
    page = url(env.public_url, "rules", token) + ("?lang=en" if turn.lang == "en" else "")
    return Link(turn.t("assess.item.rules_link", code=view.item.code, url=page), shortened)


def _upload_link(turn: Turn, view: ItemView) -> str | None:
    """The person's own signed upload page for the item (files a chat may not carry: PDF, DOCX, XLSX, images),
    offered on every channel beside sending the file in the chat; None where links are not configured."""
    env = turn.env
    if not env.public_url or turn.identity.person is None:
        return None
    try:
        token, _ = links.issue(turn.uow, caller=turn.caller, key=env.link_key, purpose="evidence",
                               unit_code=view.ws.unit.code, item_code=view.item.code, now=turn.now, ttl=env.link_ttl)
    except DomainError:  # no PARBOT_LINK_SECRET (or too short): the chat takes the file alone
        return None
    page = url(env.public_url, "evidence", token) + ("?lang=en" if turn.lang == "en" else "")
    return turn.t("assess.item.upload_link", url=page)


def show_review(turn: Turn, over: Overview, area: int | None = None, *, note: str | None = None,
                new: bool = False) -> None:
    text = views.review_text(over, area, turn.tz, turn.lang)
    turn.show(f"{note}\n\n{text}" if note else text, review_rows(over, turn.lang, final=area is None), new=new)


def after_answer(turn: Turn, view: ItemView, *, new: bool = False) -> None:
    """Show the points; ask for evidence where it is required and missing; else go to the next open item."""
    over, note = view.overview, views.saved_note(view, turn.lang)
    if not view.ws.read_only and over.needs_evidence(view.item):
        show_item(turn, view, mode="evidence", note=f"{note}\n{turn.t('assess.need_evidence')}", new=new)
        return
    following = over.next_unanswered(view.item)
    if following is None:
        show_review(turn, over, note=f"{note}\n{turn.t('assess.all_answered')}", new=new)
        return
    show_item(turn, svc.view_from(over, following), note=note, new=new)


def after_evidence(turn: Turn, view: ItemView, note: str, *, mode: str = "evidence") -> None:
    """Stay on the item (more files may follow) with a button to the next open item."""
    following = view.overview.next_unanswered(view.item)
    show_item(turn, view, mode=mode, note=note, new=True,
              next_slot=following.position if following and following.code != view.item.code else None,
              review=following is None)


# ---- commands --------------------------------------------------------------------------------------


def _unit_for(turn: Turn) -> str | None:
    """The unit this chat works on: the one in the chat state, else the person's only unit; None asks."""
    units = svc.my_units(turn.uow, caller=turn.caller)
    if not units:
        turn.send(turn.t("assess.no_unit"))
        return None
    if turn.state.unit in [u.code for u in units]:
        return turn.state.unit
    if len(units) == 1:
        return units[0].code
    tag = svc.current_tag(turn.uow)
    turn.send(turn.t("assess.pick_unit"), [[_o(u.name, tag, "u", u.code)] for u in units])
    return None


def assess_command(turn: Turn) -> None:
    """Resume where the chat stopped (the item it was on), else the area menu."""
    try:
        unit = _unit_for(turn)
        if unit is None:
            return
        if turn.state.unit == unit and turn.state.slot is not None:
            view = svc.item_view(turn.uow, caller=turn.caller, unit_code=unit, position=turn.state.slot,
                                 now=turn.now)
            show_item(turn, view, note=turn.t("assess.resumed"), new=True)
            return
        show_menu(turn, svc.overview(turn.uow, caller=turn.caller, unit_code=unit, now=turn.now), new=True)
    except DomainError as error:
        turn.send(turn.error(error))


def status_command(turn: Turn) -> None:
    try:
        unit = _unit_for(turn)
        if unit is None:
            return
        over = svc.overview(turn.uow, caller=turn.caller, unit_code=unit, now=turn.now)
        turn.send(views.status_text(over, turn.tz, turn.lang), review_rows(over, turn.lang, final=True))
    except DomainError as error:
        turn.send(turn.error(error))


COMMANDS = {"assess": assess_command, "status": status_command}


# ---- options pressed -------------------------------------------------------------------------------


def _overview(turn: Turn, cb: Callback) -> Overview:
    return svc.overview(turn.uow, caller=turn.caller, unit_code=cb.args[0], now=turn.now)


def _view(turn: Turn, cb: Callback) -> ItemView:
    return svc.item_view(turn.uow, caller=turn.caller, unit_code=cb.args[0], position=cb.slot(1), now=turn.now)


def _menu(turn: Turn, cb: Callback) -> None:
    show_menu(turn, _overview(turn, cb))


def _area(turn: Turn, cb: Callback) -> None:
    show_item(turn, svc.area_start(turn.uow, caller=turn.caller, unit_code=cb.args[0], area_index=cb.slot(1),
                                   now=turn.now))


def _item(turn: Turn, cb: Callback) -> None:
    show_item(turn, _view(turn, cb))


def _answer(turn: Turn, cb: Callback) -> None:
    unit, option = cb.args[0], cb.args[2]
    view = _view(turn, cb)
    if option == "na":
        outcome = svc.record_answer(turn.uow, caller=turn.caller, unit_code=unit, item_code=view.item.code,
                                    raw=None, now=turn.now, not_applicable=True)
    else:  # a yes/no rule reads "yes" (y / n), a choice rule "option"; any other rule refuses both
        outcome = svc.record_answer(turn.uow, caller=turn.caller, unit_code=unit, item_code=view.item.code,
                                    raw={"yes": option, "option": option}, now=turn.now)
    after_answer(turn, outcome.view)


def _condition(turn: Turn, cb: Callback) -> None:
    unit, held = cb.args[0], cb.args[2]
    view = _view(turn, cb)
    rule = view.item.rule
    if not isinstance(rule, AllOfRule) or set(held) - {"y", "n"} or len(held) > len(rule.conditions):
        raise MalformedCallback(cb.args[2])
    if len(held) < len(rule.conditions):
        show_item(turn, view, held=held)
        return
    conditions = {c.code: mark == "y" for c, mark in zip(rule.conditions, held)}
    outcome = svc.record_answer(turn.uow, caller=turn.caller, unit_code=unit, item_code=view.item.code,
                                raw={"conditions": conditions}, now=turn.now)
    after_answer(turn, outcome.view)


def _waiting(mode: str):
    def route(turn: Turn, cb: Callback) -> None:
        view = _view(turn, cb)
        if mode == "explanation" and view.answer is None:  # refused now, before the officer types it out
            raise DomainError("assess.answer_first", item=view.item.code)
        show_item(turn, view, mode=mode)
    return route


def _status(turn: Turn, cb: Callback) -> None:
    over = _overview(turn, cb)
    turn.show(views.status_text(over, turn.tz, turn.lang), review_rows(over, turn.lang, final=True))


def _review(turn: Turn, cb: Callback) -> None:
    over = _overview(turn, cb)
    if not 0 <= cb.slot(1) < len(over.ws.criteria.areas):
        raise MalformedCallback(cb.args[1])
    show_review(turn, over, cb.slot(1))


def _final(turn: Turn, cb: Callback) -> None:
    show_review(turn, _overview(turn, cb))


def _ask_submit(turn: Turn, cb: Callback) -> None:
    over = _overview(turn, cb)
    svc.check_submittable(over)  # what submitting would refuse is said before "are you sure?"
    text = f"{turn.t('assess.submit.confirm')}\n\n{views.status_text(over, turn.tz, turn.lang)}"
    turn.show(text, confirm_rows(over, turn.lang))


def _submit(turn: Turn, cb: Callback) -> None:
    over, done = svc.submit(turn.uow, caller=turn.caller, unit_code=cb.args[0], now=turn.now)
    show_review(turn, over, note=turn.t("assess.submit.done" if done else "assess.submit.already"))


def _approve(turn: Turn, cb: Callback) -> None:
    over, done = svc.approve(turn.uow, caller=turn.caller, unit_code=cb.args[0], now=turn.now)
    show_review(turn, over, note=turn.t("assess.approve.done" if done else "assess.approve.already"))


# Only this flow's verbs: other features' buttons go to their own handlers.
VERBS = {"m": _menu, "ar": _area, "i": _item, "a": _answer, "c": _condition, "ev": _waiting("evidence"),
         "ex": _waiting("explanation"), "ty": _item, "st": _status, "rv": _review, "fr": _final,
         "sb": _ask_submit, "sk": _submit, "ap": _approve, "u": _menu}
WRITING_VERBS = frozenset({"a", "c", "sk", "ap"})  # the others only read (and move the chat state)


# ---- typed text, documents and photos --------------------------------------------------------------


def on_text(turn: Turn, event: Text) -> None:
    state, text = turn.state, event.text
    if state.awaiting is Awaiting.NOTHING or state.unit is None or state.slot is None:
        turn.send(turn.t("assess.hint"))
        return
    try:
        view = svc.item_view(turn.uow, caller=turn.caller, unit_code=state.unit, position=state.slot, now=turn.now)
        if state.awaiting is Awaiting.INPUT:
            _typed(turn, view, text)
        elif state.awaiting is Awaiting.EVIDENCE:
            view, added = svc.add_reference(turn.uow, caller=turn.caller, unit_code=state.unit,
                                            item_code=view.item.code, text=text, now=turn.now)
            after_evidence(turn, view, turn.t("assess.evidence.reference_saved" if added
                                              else "assess.evidence.duplicate"))
        else:
            view = svc.set_explanation(turn.uow, caller=turn.caller, unit_code=state.unit,
                                       item_code=view.item.code, text=text, now=turn.now)
            after_evidence(turn, view, turn.t("assess.explanation.saved"), mode="answer")
    except DomainError as error:
        turn.send(turn.error(error))


def _typed(turn: Turn, view: ItemView, text: str) -> None:
    """One typed number; a ratio asks its two counts in turn. A bad number is explained and asked again."""
    item, values = view.item, dict(turn.state.values)
    inputs = item.rule.inputs()
    spec = next((i for i in inputs if i.key not in values), inputs[0])
    try:
        parse_number(text, integer=spec.kind == "integer", minimum=spec.minimum, maximum=spec.maximum)
    except AnswerError as error:
        turn.send(f"{turn.error(error)}\n{views.input_prompt(item, spec.key, turn.lang)}", expects=Expects.NUMBER)
        return
    values[spec.key] = text.strip()
    pending = [i for i in inputs if i.key not in values]
    if pending:  # an edit of this message replaces the value (on_edit)
        turn.state = turn.state.model_copy(update={"values": values, "awaited_message": turn.message_id})
        turn.send(views.input_prompt(item, pending[0].key, turn.lang), expects=Expects.NUMBER)
        return
    try:
        outcome = svc.record_answer(turn.uow, caller=turn.caller, unit_code=view.ws.unit.code,
                                    item_code=item.code, raw=values, now=turn.now)
    except AnswerError as error:  # e.g. numerator above denominator: both counts are asked again
        turn.state = turn.state.model_copy(update={"values": {}})
        turn.send(f"{turn.error(error)}\n{views.input_prompt(item, inputs[0].key, turn.lang)}", expects=Expects.NUMBER)
        return
    after_answer(turn, outcome.view, new=True)


def on_file(turn: Turn, event: Upload) -> None:
    state = turn.state
    if state.unit is None or state.slot is None:
        turn.send(turn.t("assess.evidence.no_item"))
        return
    too_big = turn.t("assess.evidence.too_big", size_mb=views.num(round(event.size / 1024 / 1024, 1), turn.lang))
    if event.size > DOWNLOAD_LIMIT:
        turn.send(too_big)
        return
    try:
        view = svc.item_view(turn.uow, caller=turn.caller, unit_code=state.unit, position=state.slot, now=turn.now)
        if view.ws.read_only:
            turn.send(views.read_only_text(view.ws, turn.tz, turn.lang))
            return
        if event.data is None:  # the channel refused the download
            turn.send(too_big)
            return
        view, added = svc.add_evidence_file(turn.uow, caller=turn.caller, store=turn.env.store,
                                            unit_code=state.unit, item_code=view.item.code, data=event.data,
                                            file_name=event.file_name, mime_type=event.mime, now=turn.now)
        after_evidence(turn, view, turn.t("assess.evidence.file_saved" if added else "assess.evidence.duplicate"))
    except DomainError as error:
        turn.send(turn.error(error))


def on_edit(turn: Turn, event: Edit) -> None:
    """A typed count corrected while the item still waits for the next one replaces it; any other edit
    changes nothing, and the person is told to send the new value."""
    state = turn.state
    if state.awaiting is not Awaiting.INPUT or not state.values or state.awaited_message != event.of \
            or state.unit is None or state.slot is None:
        turn.send(turn.t("assess.edit.not_applied"))
        return
    try:
        view = svc.item_view(turn.uow, caller=turn.caller, unit_code=state.unit, position=state.slot, now=turn.now)
    except DomainError as error:
        turn.send(turn.error(error))
        return
    item, key = view.item, list(state.values)[-1]  # the value that message gave
    spec = next(i for i in item.rule.inputs() if i.key == key)
    try:
        parse_number(event.text, integer=spec.kind == "integer", minimum=spec.minimum, maximum=spec.maximum)
    except AnswerError as error:
        turn.send(f"{turn.error(error)}\n{views.input_prompt(item, key, turn.lang)}", expects=Expects.NUMBER)
        return
    values = state.values | {key: event.text.strip()}
    turn.state = state.model_copy(update={"values": values})
    pending = next(i for i in item.rule.inputs() if i.key not in values)
    turn.send(f"{turn.t('assess.edit.replaced')}\n{views.input_prompt(item, pending.key, turn.lang)}",
              expects=Expects.NUMBER)
