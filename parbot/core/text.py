"""Text people type, made safe to store and show: NFC, no control or invisible format characters.

A reference made only of zero-width spaces, or a reason with an ESC in it, must neither satisfy a rule
("evidence required") nor break a document later: every service stores people's text through ``clean_text``.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable

KEEP = frozenset("\n\t")


def clean_text(value: str | None) -> str:
    """NFC, without control characters (except newline and tab) and invisible format characters (zero-width
    spaces, direction marks), trimmed."""
    text = unicodedata.normalize("NFC", value or "")
    return "".join(ch for ch in text if ch in KEEP or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co")
                   ).strip()


# Letters and symbols to Unicode that draw nothing: the Hangul fillers and the blank Braille pattern, the usual
# way to send "nothing" past a chat app's empty-message check.
BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def visible(text: str | None) -> bool:
    """Whether a reader sees anything: a character that is not a space, a separator, a control or format
    character, a lone combining mark, or one of BLANK."""
    return any(ch not in BLANK and not ch.isspace() and unicodedata.category(ch)[0] not in "CZM"
               for ch in text or "")


def split_within(blocks: Iterable[str], limit: int) -> list[str]:
    """Texts of at most ``limit`` characters for a channel's message limit: blocks joined by blank lines, cut
    between blocks, else between the lines of a long block, and a single line over the limit where it must be.
    Empty blocks are dropped; a blank line inside a long block is kept where it fits."""
    texts: list[str] = []
    for block in blocks:
        if not block:
            continue
        pieces = [block] if len(block) <= limit else block.split("\n")
        for index, piece in enumerate(pieces):
            while len(piece) > limit:
                texts.append(piece[:limit])
                piece = piece[limit:]
            separator = "\n" if index else "\n\n"
            if texts and (piece or index) and len(texts[-1]) + len(separator) + len(piece) <= limit:
                texts[-1] = f"{texts[-1]}{separator}{piece}"
            elif piece:
                texts.append(piece)
    return texts
