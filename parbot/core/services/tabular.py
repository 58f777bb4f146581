"""Rows read from CSV/XLSX files, as the services receive them: (line number, {column: text}).

CSV files come as Vietnamese offices save them: Excel's "CSV UTF-8" (with a BOM), "Unicode Text" (UTF-16,
tab-separated), plain "CSV" in Windows-1258 and, with Vietnamese regional settings, ';' between fields so
that decimal commas (94,43) stay inside one field. ``parse_csv`` detects the encoding and the delimiter.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass

from ..errors import Message, ValidationFailed

# Tried strictly in this order: a BOM names its encoding; UTF-8 rarely decodes text written in another
# encoding by accident; cp1258 (Windows Vietnamese) comes last because it accepts almost any bytes.
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()


def where(row: Row, column: str, problem: str) -> Message:
    """A problem in one cell: "dòng 7, cột points: …"."""
    return Message("row.cell", line=row.line, column=column, problem=problem)


def columns(required: tuple[str, ...], optional: tuple[str, ...]) -> Message:
    """The headers a table takes, each quoted as its reader's language quotes a column, the optional ones
    said so."""
    return Message("file.columns", required=[Message("file.column_name", column=c) for c in required],
                   optional=[Message("file.column_name", column=c) for c in optional])


def decode(data: bytes, name: str) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was written in."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            candidates = [encoding]
            break
    else:
        candidates = ["utf-8", "cp1258"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:  # UTF-16 without its BOM decodes as UTF-8 with a NUL in every other place
            return text, encoding
    raise ValidationFailed("file.unreadable", [Message("file.encoding", path=name, tried=", ".join(candidates))])


def _delimiter(header_line: str) -> str:
    """The candidate that splits the header most (a header names columns and rarely holds one of them)."""
    fields = {d: len(next(csv.reader([header_line], delimiter=d))) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: (fields[d], -DELIMITERS.index(d)))


def _text(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


def parse_csv(data: bytes, name: str) -> tuple[list[str], list[Row]]:
    """Header (lower-cased) and rows with their 1-based line numbers; '#' lines are comments."""
    text, _ = decode(data, name)
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise ValidationFailed("file.empty", [Message("file.empty", path=name)])
    delimiter = _delimiter(lines[0][1])
    try:
        records = list(csv.reader(io.StringIO("\n".join(line for _, line in lines)), delimiter=delimiter))
    except csv.Error as exc:  # the reader is not strict: a cell beyond the csv module's limit, in practice
        detail = Message("read.csv_cell_too_long", limit=csv.field_size_limit()) if "field limit" in str(exc) \
            else Message("read.csv_syntax")
        raise ValidationFailed("file.unreadable", [Message("file.bad_csv", path=name, detail=detail)]) from None
    header = [_text(h).lower() for h in records[0]]
    rows = []
    problems = []
    for (number, _), record in zip(lines[1:], records[1:]):
        if len(record) > len(header):
            problems.append(Message("file.bad_row", line=number, fields=len(record), header=len(header)))
            continue
        rows.append(Row(line=number, values={h: _text(v) for h, v in zip(header, record)}))
    if problems:
        raise ValidationFailed("file.bad_row", problems)
    return header, rows
