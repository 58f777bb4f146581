"""Bot tokens never reach a log: a filter on every handler of the root logger rewrites each record.

A Telegram token (``<digits>:<30+ letters>``) is what the Bot API puts in every URL (``…/bot<TOKEN>/getMe``),
so PTB's "Set Bot API URL", httpx's request lines and InvalidToken's message all carry it. The configured
tokens (Telegram, Zalo, webhook secret) are redacted whatever their shape. Records are rewritten where they are
formatted: the message with its arguments, the exception text and the stack.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pydantic-settings stays out of `parbot --help`
    from .settings import Settings

TELEGRAM_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]{30,}")
MASK = "<token>"
_formatter = logging.Formatter()


class Redactor(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Short values would mask ordinary words; the shortest accepted secret is 8 characters.
        self.secrets.update(s for s in secrets if s and len(s) >= 8)

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return TELEGRAM_TOKEN.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: log what was given rather than drop it
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info:
            record.exc_text = record.exc_text or _formatter.formatException(record.exc_info)
            record.exc_info = None  # formatters print exc_text; the traceback object would print the token again
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def secrets_of(settings: Settings) -> list[str]:
    return [s.get_secret_value() for s in (settings.telegram_token, settings.zalo_token, settings.webhook_token)
            if s is not None]


def install(settings: Settings | None = None) -> Redactor:
    """Put one Redactor on every handler of the root logger and on Python's last-resort handler (which prints
    when none is configured); call again after logging.basicConfig. Idempotent."""
    handlers = [h for h in (*logging.getLogger().handlers, logging.lastResort) if h is not None]
    redactor = next((f for h in handlers for f in h.filters if isinstance(f, Redactor)), None) or Redactor()
    if settings is not None:
        redactor.add(secrets_of(settings))
    for handler in handlers:
        if redactor not in handler.filters:
            handler.addFilter(redactor)
    return redactor


def configure(level: int | str, settings: Settings | None = None, **options: object) -> Redactor:
    """logging.basicConfig, then the redactor: the one way parbot's entry points set up logging."""
    logging.basicConfig(level=level, **options)
    return install(settings)
