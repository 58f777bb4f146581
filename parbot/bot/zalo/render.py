"""Zalo as a text-only renderer of the conversation's Screens.

Zalo has no inline keyboards: a screen's options are listed numbered ("1. …") under its text, with the
line "Trả lời 1, 2 hoặc 3" and the words that may be typed instead ("tiếp", "quay lại", "nộp"). Where the
screen waits for a typed figure, a typed digit is that figure, so the options are lettered (a, b, c)
instead. What may be typed is kept per chat (the runner stores ``Rendered.choices``) so that the next "2"
or "tiếp" becomes the Press of that option (``press_of``). Texts are split within Zalo's 2,000 characters on line boundaries.
"""
from __future__ import annotations

import string
import unicodedata
from dataclasses import dataclass, field

from ...core.conversation import engine
from ...core.conversation.events import Press
from ...core.conversation.screen import Expects, Reply, Screen
from ...core.text import split_within
from ...i18n import t
from .client import TEXT_LIMIT


def normal(text: str) -> str:
    """What a person typed, as compared with numbers and words: NFC, lower case, single spaces."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


@dataclass(frozen=True)
class Rendered:
    texts: tuple[str, ...]
    choices: dict[str, str] = field(default_factory=dict)   # typed key (normal form) -> option id


def _listing(keys: list[str], lang: str) -> str:
    if len(keys) == 1:
        return keys[0]
    return f"{', '.join(keys[:-1])} {t('zalo.or', lang)} {keys[-1]}"


def render_screen(screen: Screen, lang: str) -> Rendered:
    options = [o for o in screen.options if engine.performs(o.id)]  # not Telegram's own buttons
    lettered = screen.expects is Expects.NUMBER
    keys = [string.ascii_lowercase[i] if lettered else str(i + 1) for i in range(len(options))]
    choices: dict[str, str] = {}
    lines: list[str] = []
    words: list[str] = []
    for key, option in zip(keys, options):
        choices[key] = option.id
        word = normal(option.word) if option.word else None
        if word and word not in choices:
            choices[word] = option.id
            words.append(option.word)  # type: ignore[arg-type]
        lines.append(f"{key}. {option.label}" + (f" ({option.word})" if option.word else ""))
    hint = ""
    if options:
        hint = t("zalo.reply.letters" if lettered else "zalo.reply.numbers", lang, choices=_listing(keys, lang))
        if words:
            hint = f"{hint}, {t('zalo.reply.words', lang, words=', '.join(words))}"
        lines.append(hint)
    blocks = [b for b in screen.blocks if b]
    if screen.link and (screen.link.shortened or len(split(blocks)) > 1):
        blocks.append(screen.link.text)  # the chat could not carry it whole in one text: the page does
    if screen.upload:
        blocks.append(screen.upload)  # Zalo carries photos, not documents: the page takes those
    return Rendered(split(blocks + (["\n".join(lines)] if lines else [])), choices)


def render_reply(reply: Reply, lang: str) -> Rendered:
    """All texts of a Reply; the choices are those of its last screen with options (the one on view). A
    refusal (an alert) is said first; a plain toast only when nothing else answers."""
    texts: list[str] = []
    if reply.toast and (reply.alert or not reply.screens):
        texts.append(reply.toast)
    last = Rendered(())
    for screen in reply.screens:
        rendered = render_screen(screen, lang)
        texts += rendered.texts
        if rendered.choices:
            last = rendered
    return Rendered(tuple(split(texts)), last.choices)


def split(blocks: list[str], limit: int = TEXT_LIMIT) -> tuple[str, ...]:
    """Blocks in texts within Zalo's limit (see core.text.split_within)."""
    return tuple(split_within(blocks, limit))


def press_of(choices: dict[str, str], text: str) -> Press | None:
    """The Press a typed "2" or "tiếp" stands for among the options on view (``Rendered.choices``)."""
    option_id = choices.get(normal(text))
    return Press(option_id) if option_id else None
