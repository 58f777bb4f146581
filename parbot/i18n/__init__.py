"""Message catalogs: gettext ``.po`` files per language and per domain, read at start-up with Babel.

Message ids are symbolic keys ("assess.item.header"); each language writes the text out in full. Every
``locales/<lang>/LC_MESSAGES/<domain>.po`` is merged, so a feature adds its own domain file (reminders,
appraisal, reports) without touching the others. ``t(key, lang, **params)`` formats with ``str.format``
and returns NFC text; a key missing in a language falls back to Vietnamese, then to the key itself.
"""
from __future__ import annotations

import io
import logging
import string
import unicodedata
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from ..core.errors import DomainError
from ..settings import get_settings

LOCALES = Path(__file__).resolve().parent / "locales"
DEFAULT = "vi"
LANGUAGES = ("vi", "en")
log = logging.getLogger(__name__)


def _read(path: Path, lang: str) -> Translations:
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=path.stem)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=path.stem)


@lru_cache(maxsize=None)
def translations(lang: str) -> Translations:
    """All domains of one language merged into one gettext catalog."""
    merged = Translations()
    for path in sorted((LOCALES / lang / "LC_MESSAGES").glob("*.po")):
        merged.merge(_read(path, lang))
    return merged


def catalog(lang: str) -> dict[str, str]:
    """key -> text of one language (for checks and tools)."""
    return {k: v for k, v in translations(lang)._catalog.items() if isinstance(k, str) and k}


def has(key: str, lang: str = DEFAULT) -> bool:
    return key in translations(lang)._catalog


def placeholders(text: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name}


def language(lang: str | None) -> str:
    """A supported language for a Telegram language code ("en-US" -> en); anything else gets the province's
    default (PARBOT_LANGUAGE). DEFAULT stays the catalog every key exists in."""
    code = (lang or "").split("-")[0].lower()
    return code if code in LANGUAGES else get_settings().language


def t(key: str, lang: str | None = DEFAULT, **params: object) -> str:
    lang = language(lang)
    catalog_ = translations(lang)._catalog
    text = catalog_.get(key) or translations(DEFAULT)._catalog.get(key)
    if text is None:
        log.warning("missing message %s", key)
        text = key
    return unicodedata.normalize("NFC", text.format(**params) if params else text)


class _Lenient(dict):
    def __missing__(self, key: str) -> str:
        return "…"


def when(value: datetime, tz: str) -> str:
    """A moment as Vietnamese officers write it, in the province's time zone: 17:00 15/01/2021."""
    return value.astimezone(ZoneInfo(tz)).strftime("%H:%M %d/%m/%Y")


def error_text(error: DomainError, lang: str | None = DEFAULT, tz: str = "Asia/Ho_Chi_Minh") -> str:
    """The catalog message for a domain error code ("error.<code>"); unknown codes get a generic message."""
    key = f"error.{error.code}"
    if not has(key):
        log.warning("no message for error code %s", error.code)
        key = "error.generic"
    template = translations(language(lang))._catalog.get(key) or translations(DEFAULT)._catalog[key]
    params = {k: when(v, tz) if isinstance(v, datetime) else v for k, v in error.params.items()}
    return unicodedata.normalize("NFC", template.format_map(_Lenient(params)))
