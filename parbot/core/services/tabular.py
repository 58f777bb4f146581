"""Rows read from CSV/XLSX files, as the services receive them: (line number, {column: text})."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()
