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
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from ..core.errors import DomainError

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
        merged.merge(domain(lang, path.stem))
    return merged


@lru_cache(maxsize=None)
def domain(lang: str, name: str) -> Translations:
    """One domain of one language: `parbot --help` reads its own instead of parsing every catalog."""
    return _read(LOCALES / lang / "LC_MESSAGES" / f"{name}.po", lang)


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
    if code in LANGUAGES:
        return code
    from ..settings import get_settings  # only here: `parbot --help` reads the catalogs, not the settings

    return get_settings().language


def t(key: str, lang: str | None = DEFAULT, **params: object) -> str:
    return _text(translations, key, lang, params)


def t_domain(domain_name: str, key: str, /, lang: str | None = DEFAULT, **params: object) -> str:
    """``t`` within one domain, for a caller that must not pay for parsing the others."""
    return _text(lambda code: domain(code, domain_name), key, lang, params)


def _text(catalogs: Callable[[str], Translations], key: str, lang: str | None, params: dict) -> str:
    lang = language(lang)
    text = catalogs(lang)._catalog.get(key) or catalogs(DEFAULT)._catalog.get(key)
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


def _param(value: object, lang: str, tz: str) -> object:
    if isinstance(value, DomainError):  # a refusal quoted inside a problem (an import row's unknown unit)
        return error_text(value, lang, tz)
    if hasattr(value, "code") and hasattr(value, "params"):  # a nested Message
        return render(value, lang, tz)
    if isinstance(value, datetime):
        return when(value, tz)
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(str(_param(v, lang, tz)) for v in (sorted(value) if isinstance(value, (set, frozenset))
                                                          else value))
    return value


def _fill(key: str, params: dict, lang: str | None, tz: str) -> str:
    lang = language(lang)
    template = translations(lang)._catalog.get(key) or translations(DEFAULT)._catalog[key]
    values = {k: _param(v, lang, tz) for k, v in params.items()}
    return unicodedata.normalize("NFC", template.format_map(_Lenient(values)))


def error_text(error: DomainError, lang: str | None = DEFAULT, tz: str = "Asia/Ho_Chi_Minh") -> str:
    """The catalog message for a domain error code ("error.<code>"); unknown codes get a generic message."""
    key = f"error.{error.code}"
    if not has(key):
        log.warning("no message for error code %s", error.code)
        key = "error.generic"
    return _fill(key, error.params, lang, tz)


def render(message: object, lang: str | None = DEFAULT, tz: str = "Asia/Ho_Chi_Minh") -> str:
    """A problem (core.errors.Message: key "problem.<code>") in one language; plain text is returned as is."""
    if not (hasattr(message, "code") and hasattr(message, "params")):
        return str(message)
    key = f"problem.{message.code}"
    if not has(key):
        log.warning("no message for problem code %s", message.code)
        details = ", ".join(f"{k}={_param(v, language(lang), tz)}" for k, v in message.params.items())
        return f"{message.code} ({details})" if details else message.code
    return _fill(key, message.params, lang, tz)
