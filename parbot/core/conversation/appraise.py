"""Appraisal's conversation. Appraisers: /appraise (units, paged and filtered by typing part of a name) →
unit → area → item: accept the self points, type other points with a reason, accept the rest of an area,
keep the round-1 points in round 2. Units in the explanation round: /explain → an appraised item → the
explanation typed, then files for it. Every option names a unit and an item; the services check the
presser's grants and the areas the period gives them, so a forged option is refused like any other.

What the chat waits for (the unit search, typed points, their reason, an explanation, its files) is the
typed ChatState; typed points wait with the message they came in, whose edit replaces them.
"""
from __future__ import annotations

import unicodedata

from ...i18n import t, when
from ..decimals import fmt
from ..errors import DomainError
from ..permissions import UNIT_ROLES
from ..results import NA
from ..services import appraisal as svc
from ..services.assessment import DOWNLOAD_LIMIT, current_tag
from .callbacks import Callback, encode
from .events import Edit, Text, Upload
from .screen import Expects, Option
from .state import Awaiting, ChatState
from .turn import Rows, Turn
from .views import BUTTON_LIMIT, clip, num

WRITING_VERBS = frozenset({"pk", "pr", "pg"})
AWAITS = frozenset({Awaiting.UNIT_SEARCH, Awaiting.POINTS, Awaiting.REASON, Awaiting.CONTEST})
TEXT_LIMIT = 4000
# Rows per page of the unit list: with buttons of at most BUTTON_LIMIT characters and 64-byte ids, a page stays
# far below Telegram's 100 buttons and its ~10 kB markup limit (and is short enough to read on any channel).
PAGE_SIZE = 20


def _o(text: str, tag: str, verb: str, *args: object) -> Option:
    return Option(encode(tag, verb, *args), clip(text, BUTTON_LIMIT))


def points_text(mark, lang: str) -> str:
    if mark is None:
        return t("appraisal.none_yet", lang)
    return t("appraisal.na", lang) if mark is NA else fmt(mark, decimal_comma=lang == "vi")


def _fresh(turn: Turn) -> ChatState:
    return ChatState(seen=turn.state.seen)


def _folded(text: str) -> str:
    """Lower case without Vietnamese diacritics, so "so noi vu" finds "Sở Nội vụ"."""
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def paged(rows: Rows, page: int, lang: str, tag: str, verb: str) -> tuple[Rows, int, int]:
    """One page of ``rows`` with ‹ › options (``verb`` with the page number as its argument); the page asked
    for is kept within range. Returns the rows, the page shown and the number of pages."""
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = rows[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    nav = []
    if page > 0:
        nav.append(_o(t("button.page.previous", lang), tag, verb, page - 1))
    if page < pages - 1:
        nav.append(_o(t("button.page.next", lang), tag, verb, page + 1))
    return shown + [nav] if nav else shown, page, pages


# ---- screens ---------------------------------------------------------------------------------------------


def show_units(turn: Turn, tag: str, page: int = 0, query: str = "", *, new: bool = False) -> None:
    """The units to appraise, a page at a time; while the list is shown, typed text filters it by name or code."""
    overview = svc.list_units(turn.uow, caller=turn.caller, now=turn.now)
    if not overview:
        turn.state = _fresh(turn)
        turn.show(turn.t("appraisal.none"), new=new)
        return
    lines = [turn.t("appraisal.list.header", year=turn.uow.periods.current().year)]
    if query:
        wanted = _folded(query)
        matching = [o for o in overview if wanted in _folded(f"{o.code} {o.name}")]
        lines.append(turn.t("units.filtered", query=query, count=len(matching)) if matching
                     else turn.t("units.no_match", query=query))
        if matching:
            overview = matching
        else:
            query = ""
    rows = [[_o(turn.t("appraisal.unit.button", code=o.code, status=turn.t(f"appraisal.status.{o.status}"),
                       done=o.mine_appraised, total=o.mine_total,
                       contested=turn.t("appraisal.contested.mark", count=o.contested_open) if o.contested_open
                       else ""), tag, "pu", o.code)] for o in overview]
    rows, page, pages = paged(rows, page, turn.lang, tag, "pn")
    lines.append(turn.t("units.page", page=page + 1, pages=pages, count=len(overview)))
    turn.state = _fresh(turn).waiting(Awaiting.UNIT_SEARCH, query=query)
    turn.show("\n".join(lines), rows, new=new)


def show_unit(turn: Turn, tag: str, unit_code: str, note: str | None = None, *, new: bool = False) -> None:
    view = svc.unit_view(turn.uow, caller=turn.caller, unit_code=unit_code, now=turn.now)
    lines = [turn.t("appraisal.unit.header", code=view.unit.code, name=view.unit.name,
                    status=turn.t(f"appraisal.status.{view.status}"), round=view.round or "-")]
    rows: Rows = []
    if view.contested:
        lines.append(turn.t("appraisal.unit.contested"))
        rows += [[_o(f"❗ {i.item.code}. {i.item.name}", tag, "pi", unit_code, i.item.code)] for i in view.contested]
    lines.append(turn.t("appraisal.unit.pick_area"))
    for area in view.areas:
        if area.mine:
            done = sum(1 for i in area.items if i.appraised is not None)
            rows.append([_o(turn.t("appraisal.area.button", code=area.code, name=area.name, done=done,
                                   total=len(area.items)), tag, "pa", unit_code, area.code)])
    rows.append([_o(turn.t("appraisal.button.units"), tag, "pl")])
    text = "\n".join(lines)
    turn.show(f"{note}\n\n{text}" if note else text, rows, new=new)


def item_text(turn: Turn, unit_code: str, view: svc.ItemView) -> str:
    item, lang = view.item, turn.lang
    lines = [turn.t("appraisal.item.header", unit=unit_code, code=item.code, name=item.label(lang),
                    max=fmt(item.maximum, decimal_comma=lang == "vi"))]
    if view.answer is not None:
        lines.append(turn.t("appraisal.item.answer", answer=svc.answer_text(view.answer) or "-"))
    lines.append(turn.t("appraisal.item.self", points=points_text(view.self_points, lang)))
    names = [e.file_name or e.reference or e.kind for e in view.evidence]
    lines.append(turn.t("appraisal.item.evidence", list="; ".join(names)) if names
                 else turn.t("appraisal.item.no_evidence"))
    if view.explanation:
        lines.append(turn.t("appraisal.item.explanation", text=view.explanation))
    if view.appraised is not None:
        reason = f" — {view.appraised.reason}" if view.appraised.reason else ""
        lines.append(turn.t("appraisal.item.appraised", round=view.appraised.appraisal_round or "-",
                            points=points_text(svc.mark_of(view.appraised), lang), reason=reason))
    if view.contest is not None:
        lines.append(turn.t("appraisal.item.contest", text=view.contest.text))
    return clip("\n".join(lines), TEXT_LIMIT)


def show_item(turn: Turn, tag: str, unit_code: str, item_code: str, note: str | None = None, *,
              view: svc.UnitView | None = None, new: bool = False) -> None:
    view = view or svc.unit_view(turn.uow, caller=turn.caller, unit_code=unit_code, now=turn.now)
    items = [i for a in view.areas if a.mine for i in a.items]
    current = next((i for i in items if i.item.code == item_code), None)
    if current is None:
        raise DomainError("appraisal.area_not_assigned", unit=unit_code, area=item_code)
    rows = [[_o(turn.t("appraisal.button.accept"), tag, "pk", unit_code, item_code)],
            [_o(turn.t("appraisal.button.set"), tag, "pp", unit_code, item_code)]]
    if view.round == 2 and current.appraised is not None:
        rows.append([_o(turn.t("appraisal.button.keep"), tag, "pg", unit_code, item_code)])
    rows.append([_o(turn.t("appraisal.button.rest"), tag, "pr", unit_code, current.item.area_code)])
    if any(e.kind == "file" for e in current.evidence):
        rows.append([_o(turn.t("appraisal.button.files"), tag, "pe", unit_code, item_code)])
    following = items[items.index(current) + 1:]
    nav = [_o(turn.t("appraisal.button.back"), tag, "pu", unit_code)]
    if following:
        nav.insert(0, _o(turn.t("appraisal.button.next"), tag, "pi", unit_code, following[0].item.code))
    rows.append(nav)
    text = item_text(turn, unit_code, current)
    turn.show(f"{note}\n\n{text}" if note else text, rows, new=new)


def _saved_note(turn: Turn, outcome: svc.Outcome) -> str:
    note = turn.t("appraisal.saved", code=outcome.item_code, points=points_text(outcome.points, turn.lang))
    if outcome.replaced_by:
        note += "\n" + turn.t("appraisal.replaced", value=outcome.replaced_value, who=outcome.replaced_by)
    return note


def _after_write(turn: Turn, tag: str, unit_code: str, outcome: svc.Outcome, *, new: bool = False) -> None:
    """Show the next item of the caller's areas still without appraised points, or the unit."""
    turn.state = _fresh(turn)
    view = svc.unit_view(turn.uow, caller=turn.caller, unit_code=unit_code, now=turn.now)
    pending = view.contested or [i for a in view.areas if a.mine for i in a.items if i.appraised is None]
    if pending:
        show_item(turn, tag, unit_code, pending[0].item.code, note=_saved_note(turn, outcome), view=view, new=new)
    else:
        show_unit(turn, tag, unit_code, note=_saved_note(turn, outcome), new=new)


# ---- the command and the options -------------------------------------------------------------------------


def appraise_command(turn: Turn) -> None:
    try:
        show_units(turn, current_tag(turn.uow), new=True)
    except DomainError as error:
        turn.send(turn.error(error))


def _units(turn: Turn, cb: Callback) -> None:
    show_units(turn, cb.tag)


def _page(turn: Turn, cb: Callback) -> None:
    state = turn.state
    show_units(turn, cb.tag, cb.slot(0), state.query if state.awaiting is Awaiting.UNIT_SEARCH else "")


def _unit(turn: Turn, cb: Callback) -> None:
    turn.state = _fresh(turn)  # typed text no longer filters the list
    show_unit(turn, cb.tag, cb.args[0])


def _area(turn: Turn, cb: Callback) -> None:
    view = svc.unit_view(turn.uow, caller=turn.caller, unit_code=cb.args[0], now=turn.now)
    area = next((a for a in view.areas if a.code == cb.args[1] and a.mine), None)
    if area is None or not area.items:
        raise DomainError("appraisal.area_not_assigned", unit=cb.args[0], area=cb.args[1])
    first = next((i for i in area.items if i.appraised is None), area.items[0])
    show_item(turn, cb.tag, cb.args[0], first.item.code, view=view)


def _item(turn: Turn, cb: Callback) -> None:
    show_item(turn, cb.tag, *cb.args)


def _accept(turn: Turn, cb: Callback) -> None:
    outcome = svc.appraise(turn.uow, caller=turn.caller, unit_code=cb.args[0], item_code=cb.args[1], now=turn.now)
    _after_write(turn, cb.tag, cb.args[0], outcome)


def _assigned_item(turn: Turn, unit_code: str, item_code: str):  # noqa: ANN202 - a criteria Item
    """The item, when the presser appraises its area in this unit; refused otherwise, before anything is read."""
    view = svc.unit_view(turn.uow, caller=turn.caller, unit_code=unit_code, now=turn.now)
    item = next((i.item for a in view.areas if a.mine for i in a.items if i.item.code == item_code), None)
    if item is None:
        raise DomainError("appraisal.area_not_assigned", unit=unit_code, area=item_code)
    return item


def _keep(turn: Turn, cb: Callback) -> None:
    # keep() reads the round-1 points before appraise() checks grants: without this guard anyone with a role
    # learnt from "nothing to keep" whether any unit's item was appraised yet.
    _assigned_item(turn, cb.args[0], cb.args[1])
    outcome = svc.keep(turn.uow, caller=turn.caller, unit_code=cb.args[0], item_code=cb.args[1], now=turn.now)
    _after_write(turn, cb.tag, cb.args[0], outcome)


def _set(turn: Turn, cb: Callback) -> None:
    item = _assigned_item(turn, cb.args[0], cb.args[1])
    turn.state = _fresh(turn).waiting(Awaiting.POINTS, unit=cb.args[0], item=item.code)
    turn.send(turn.t("appraisal.prompt.points", code=item.code, max=fmt(item.maximum, decimal_comma=turn.lang == "vi")),
              expects=Expects.NUMBER)


def _rest(turn: Turn, cb: Callback) -> None:
    outcomes = svc.accept_rest(turn.uow, caller=turn.caller, unit_code=cb.args[0], area_code=cb.args[1],
                               now=turn.now)
    show_unit(turn, cb.tag, cb.args[0], note=turn.t("appraisal.rest_done", count=len(outcomes)))


# ---- the explanation round -------------------------------------------------------------------------------


def show_contestable(turn: Turn, tag: str, unit_code: str, *, new: bool = False) -> None:
    found = svc.contestable(turn.uow, caller=turn.caller, unit_code=unit_code, now=turn.now)
    deadline = when(found.closes, turn.tz) if found.closes else turn.t("explain.no_deadline")
    rows = [[_o(turn.t("explain.item.button", code=i.item.code, own=points_text(i.self_points, turn.lang),
                       appraised=points_text(svc.mark_of(i.appraised), turn.lang)), tag, "xi", unit_code, i.item.code)]
            for i in found.items]
    turn.show(turn.t("explain.header", code=found.unit.code, name=found.unit.name, deadline=deadline), rows,
              new=new)


def explain_command(turn: Turn) -> None:
    """Each of the person's units whose explanation window is open, with its items to explain."""
    tag = current_tag(turn.uow)
    shown = 0
    for unit_code in sorted({g.unit_code for g in turn.identity.grants if g.role in UNIT_ROLES and g.unit_code}):
        try:
            show_contestable(turn, tag, unit_code, new=True)
            shown += 1
        except DomainError:
            continue
    if not shown:
        turn.send(turn.t("explain.none"))


def _contestable(turn: Turn, cb: Callback) -> None:
    show_contestable(turn, cb.tag, cb.args[0])


def _explain_item(turn: Turn, cb: Callback) -> None:
    found = svc.contestable(turn.uow, caller=turn.caller, unit_code=cb.args[0], now=turn.now)
    view = next((i for i in found.items if i.item.code == cb.args[1]), None)
    if view is None:
        raise DomainError("appraisal.explanation_closed", unit=cb.args[0])
    turn.state = _fresh(turn).waiting(Awaiting.CONTEST, unit=cb.args[0], item=cb.args[1])
    params = dict(code=view.item.code, own=points_text(view.self_points, turn.lang),
                  appraised=points_text(svc.mark_of(view.appraised), turn.lang))
    room = TEXT_LIMIT - len(turn.t("explain.prompt", **params, reason=""))  # a long reason leaves room for the rest
    turn.send(turn.t("explain.prompt", **params, reason=clip(view.appraised.reason or "-", room)),
              expects=Expects.TEXT)


def _contest(turn: Turn, text: str) -> None:
    state = turn.state
    svc.contest(turn.uow, caller=turn.caller, unit_code=state.unit or "", item_code=state.item or "", text=text,
                now=turn.now)
    turn.state = state.waiting(Awaiting.CONTEST_FILE)
    turn.send(turn.t("explain.saved", code=state.item), expects=Expects.FILE)


def takes_file(state: ChatState) -> bool:
    return state.awaiting is Awaiting.CONTEST_FILE


def on_file(turn: Turn, event: Upload) -> None:
    """A file sent after an explanation becomes new evidence for the contested item."""
    state = turn.state
    if event.size > DOWNLOAD_LIMIT or event.data is None:
        turn.send(turn.t("assess.evidence.too_big", size_mb=num(round(event.size / 1024 / 1024, 1), turn.lang)))
        return
    try:
        svc.add_contest_file(turn.uow, caller=turn.caller, store=turn.env.store, unit_code=state.unit or "",
                             item_code=state.item or "", data=event.data, file_name=event.file_name,
                             mime_type=event.mime, now=turn.now)
        turn.send(turn.t("explain.file_saved", code=state.item), expects=Expects.FILE)
    except DomainError as error:
        turn.send(turn.error(error))


VERBS = {"pl": _units, "pn": _page, "pu": _unit, "pa": _area, "pi": _item, "pk": _accept, "pp": _set,
         "pr": _rest, "pg": _keep, "xl": _contestable, "xi": _explain_item}
COMMANDS = {"appraise": appraise_command, "explain": explain_command}


# ---- typed text and its edits ----------------------------------------------------------------------------


def on_text(turn: Turn, event: Text) -> None:
    """Typed text appraisal waits for: a search of the unit list, points, their reason, or an explanation."""
    state, text = turn.state, event.text.strip()
    tag = current_tag(turn.uow)
    try:
        if state.awaiting is Awaiting.UNIT_SEARCH:
            show_units(turn, tag, 0, text, new=True)
        elif state.awaiting is Awaiting.POINTS:
            _take_points(turn, tag, text, turn.message_id)
        elif state.awaiting is Awaiting.CONTEST:
            _contest(turn, text)
        else:
            _write_typed(turn, tag, state.points or "", text)
    except DomainError as error:
        turn.send(turn.error(error))


def _take_points(turn: Turn, tag: str, points: str, message_id: int | None, note: str = "") -> None:
    """Typed points: saved at once, or kept (with the message they came in, which the appraiser may still
    edit) while the reason they need is asked."""
    state = turn.state
    if svc.needs_reason(turn.uow, caller=turn.caller, unit_code=state.unit, item_code=state.item, points=points):
        turn.state = state.waiting(Awaiting.REASON, points=points, awaited_message=message_id)
        turn.send(f"{note}{turn.t('appraisal.prompt.reason')}", expects=Expects.TEXT)
    else:
        _write_typed(turn, tag, points, None)


def _write_typed(turn: Turn, tag: str, points: str, reason: str | None) -> None:
    unit_code = turn.state.unit or ""
    outcome = svc.appraise(turn.uow, caller=turn.caller, unit_code=unit_code, item_code=turn.state.item or "",
                           points=points, reason=reason, now=turn.now)
    _after_write(turn, tag, unit_code, outcome, new=True)


def takes_edit(state: ChatState, event: Edit) -> bool:
    """An edit of the typed points while their reason is awaited is appraisal's; any other is not."""
    return state.awaiting is Awaiting.REASON and state.awaited_message == event.of


def on_edit(turn: Turn, event: Edit) -> None:
    """The corrected points replace the awaited ones (0 corrected to 0,5 gives 0,5 and still asks the reason)."""
    points = event.text.strip()
    try:
        _take_points(turn, current_tag(turn.uow), points, event.of,
                     note=turn.t("appraisal.edit.points", points=points) + "\n")
    except DomainError as error:
        turn.send(turn.error(error))
