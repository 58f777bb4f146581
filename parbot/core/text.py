"""Text people type, made safe to store and show: NFC, no control or invisible format characters.

A reference made only of zero-width spaces, or a reason with an ESC in it, must neither satisfy a rule
("evidence required") nor break a document later: every service stores people's text through ``clean_text``.
"""
from __future__ import annotations

import unicodedata

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
