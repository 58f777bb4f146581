"""Paged inline keyboards for the handlers not yet on the conversation engine (the appraiser's unit list)."""
from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from ..core.conversation.callbacks import encode
from ..core.conversation.views import BUTTON_LIMIT, clip
from ..i18n import t

# Rows per page of a long list (the units an appraiser sees): with buttons of at most BUTTON_LIMIT characters and
# 64-byte callback data, a page stays far below Telegram's 100 buttons and its ~10 kB markup limit.
PAGE_SIZE = 20


def _b(text: str, tag: str, verb: str, *args: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(clip(text, BUTTON_LIMIT), callback_data=encode(tag, verb, *args))


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
