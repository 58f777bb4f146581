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
