"""Inline keyboards of the self-assessment screens; every button carries callback data from callbacks.py."""
from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from ..core.rules import AllOfRule, ChoiceRule, YesNoRule
from ..core.services.assessment import ItemView, Overview
from ..i18n import t
from .callbacks import encode
from .views import BUTTON_LIMIT, area_button, clip, typed


# Rows per page of a long list (the units an appraiser sees): with buttons of at most BUTTON_LIMIT characters and
# 64-byte callback data, a page stays far below Telegram's 100 buttons and its ~10 kB markup limit.
PAGE_SIZE = 20


def _b(text: str, tag: str, verb: str, *args: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(clip(text, BUTTON_LIMIT), callback_data=encode(tag, verb, *args))


def menu(over: Overview, lang: str) -> InlineKeyboardMarkup:
    ws = over.ws
    tag, unit = ws.tag, ws.unit.code
    rows = [[_b(area_button(over, i, lang), tag, "ar", unit, i)] for i, progress in enumerate(over.progress.areas)
            if progress.total]
    rows.append([_b(t("button.status", lang), tag, "st", unit), _b(t("button.final_review", lang), tag, "fr", unit)])
    return InlineKeyboardMarkup(rows)


def item(view: ItemView, lang: str, *, held: str = "", next_slot: int | None = None,
         review: bool = False) -> InlineKeyboardMarkup:
    """Answer buttons (when editable), evidence and explanation, then navigation.

    ``held`` is how far an all-of item's conditions were answered; ``next_slot`` adds a button to the next
    unanswered item (after evidence, the officer moves on when ready); ``review`` a button to the final
    review (when nothing is left to answer)."""
    ws, it = view.ws, view.item
    tag, unit, slot = ws.tag, ws.unit.code, it.position
    rows: list[list[InlineKeyboardButton]] = []
    rule = it.rule
    if not ws.read_only:
        if isinstance(rule, YesNoRule):
            yes = t("common.yes", lang) if lang == "en" else rule.yes_label
            no = t("common.no", lang) if lang == "en" else rule.no_label
            rows.append([_b(f"✅ {yes}", tag, "a", unit, slot, "y"), _b(f"❌ {no}", tag, "a", unit, slot, "n")])
        elif isinstance(rule, ChoiceRule):
            rows += [[_b(o.label_en if lang == "en" and o.label_en else o.label, tag, "a", unit, slot, o.code)]
                     for o in rule.options]
        elif isinstance(rule, AllOfRule):
            rows.append([_b(t("common.yes", lang), tag, "c", unit, slot, held + "y"),
                         _b(t("common.no", lang), tag, "c", unit, slot, held + "n")])
        elif typed(it):
            rows.append([_b(t("button.type_numbers", lang), tag, "ty", unit, slot)])
        if it.not_applicable_allowed:
            rows.append([_b(t("button.not_applicable", lang), tag, "a", unit, slot, "na")])
        if it.evidence != "none":
            rows.append([_b(t("button.evidence", lang), tag, "ev", unit, slot),
                         _b(t("button.explanation", lang), tag, "ex", unit, slot)])
    if next_slot is not None:
        rows.append([_b(t("button.next_unanswered", lang), tag, "i", unit, next_slot)])
    if review:
        rows.append([_b(t("button.final_review", lang), tag, "fr", unit)])
    nav = []
    if view.previous is not None:
        nav.append(_b(t("button.back", lang), tag, "i", unit, view.previous.position))
    if view.next is not None:
        nav.append(_b(t("button.skip", lang), tag, "i", unit, view.next.position))
    nav.append(_b(t("button.menu", lang), tag, "m", unit))
    rows.append(nav)
    return InlineKeyboardMarkup(rows)


def review(over: Overview, lang: str, *, final: bool) -> InlineKeyboardMarkup:
    ws = over.ws
    tag, unit = ws.tag, ws.unit.code
    rows = []
    if final:
        rows += [[_b(t("button.review_area", lang, area=a.code), tag, "rv", unit, i)]
                 for i, (a, p) in enumerate(zip(ws.criteria.areas, over.progress.areas)) if p.total]
        submitted = ws.stage.submitted_at is not None
        if ws.can_approve and ws.approval_required and not ws.stage.approved_at and not submitted:
            rows.append([_b(t("button.approve", lang), tag, "ap", unit)])
        if ws.can_assess and not ws.read_only:
            rows.append([_b(t("button.submit", lang), tag, "sb", unit)])
    rows.append([_b(t("button.menu", lang), tag, "m", unit)])
    return InlineKeyboardMarkup(rows)


def confirm_submit(over: Overview, lang: str) -> InlineKeyboardMarkup:
    tag, unit = over.ws.tag, over.ws.unit.code
    return InlineKeyboardMarkup([[_b(t("button.confirm_submit", lang), tag, "sk", unit),
                                  _b(t("button.cancel", lang), tag, "fr", unit)]])


def units(choices: list[tuple[str, str]], tag: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_b(name, tag, "u", code)] for code, name in choices])


def paged(rows: list[list[InlineKeyboardButton]], page: int, lang: str, tag: str,
          verb: str) -> tuple[InlineKeyboardMarkup, int, int]:
    """One page of ``rows`` with ‹ › buttons (``verb`` with the page number as its argument); the page asked for
    is kept within range. Returns the keyboard, the page shown and the number of pages."""
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = rows[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    nav = []
    if page > 0:
        nav.append(_b(t("button.page.previous", lang), tag, verb, page - 1))
    if page < pages - 1:
        nav.append(_b(t("button.page.next", lang), tag, verb, page + 1))
    return InlineKeyboardMarkup(shown + [nav] if nav else shown), page, pages
