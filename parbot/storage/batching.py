"""Batches for IN (...) queries."""
from __future__ import annotations

from typing import Iterable

CHUNK = 900  # stay below SQLite's bound-parameter limit in IN (...) queries


def chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]
