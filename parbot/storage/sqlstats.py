"""Opt-in counts of SQL statements and transactions, for benchmarks: ``PARBOT_SQL_STATS=1`` or ``enable()``.

Listens on the ``Engine`` class, so every engine of the process counts, without changes to ``make_engine``.
"""
from __future__ import annotations

import os
import threading
from collections import Counter

from sqlalchemy import event
from sqlalchemy.engine import Engine

_counts: Counter[str] = Counter()
_lock = threading.Lock()  # the bot runs SQL in worker threads
_enabled = False


def _bump(key: str) -> None:
    with _lock:
        _counts[key] += 1


def _on_statement(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
    _bump("statements")


def enable() -> None:
    global _enabled
    if not _enabled:
        event.listen(Engine, "before_cursor_execute", _on_statement)
        event.listen(Engine, "commit", lambda conn: _bump("commits"))
        event.listen(Engine, "rollback", lambda conn: _bump("rollbacks"))
        event.listen(Engine, "begin", lambda conn: _bump("transactions"))
        _enabled = True


def snapshot() -> dict[str, int]:
    with _lock:
        return {k: _counts[k] for k in ("statements", "transactions", "commits", "rollbacks")}


if os.environ.get("PARBOT_SQL_STATS"):
    enable()
