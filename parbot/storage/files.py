"""Reading the tables administrators bring (CSV or XLSX) into rows for the services."""
from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ..core.errors import ValidationFailed
from ..core.services.tabular import Row


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # Excel stores 12.5 as a float; str() keeps its shortest exact form.
        value = Decimal(str(value))
        if value == value.to_integral_value():
            value = value.quantize(Decimal(1))
    return unicodedata.normalize("NFC", str(value)).strip()


def read_table(path: str | Path) -> tuple[list[str], list[Row]]:
    """Header (lower-cased) and rows with their 1-based line numbers; '#' lines in CSV are comments."""
    path = Path(path)
    if not path.is_file():
        raise ValidationFailed("file.not_found", [f"{path}: no such file"])
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            return _read_xlsx(path)
        if suffix in (".csv", ".txt", ""):
            return _read_csv(path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValidationFailed("file.unreadable", [f"{path}: {exc}"]) from None
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a damaged workbook
        raise ValidationFailed("file.unreadable", [f"{path}: not a readable workbook ({exc.__class__.__name__})"]) from None
    raise ValidationFailed("file.unsupported", [f"{path}: use a .csv (UTF-8) or .xlsx file"])


def _read_csv(path: Path) -> tuple[list[str], list[Row]]:
    text = path.read_text(encoding="utf-8-sig")
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise ValidationFailed("file.empty", [f"{path}: the file has no header row"])
    reader = csv.reader(io.StringIO("\n".join(line for _, line in lines)))
    records = list(reader)
    header = [_text(h).lower() for h in records[0]]
    rows = []
    for (number, _), record in zip(lines[1:], records[1:]):
        if len(record) > len(header):
            raise ValidationFailed("file.bad_row", [f"{path}: row {number} has {len(record)} fields, "
                                                    f"the header {len(header)}"])
        rows.append(Row(line=number, values={h: _text(v) for h, v in zip(header, record)}))
    return header, rows


@dataclass(frozen=True)
class Workbook:
    subject: str
    keywords: str
    sheets: list[tuple[str, list[str], list[Row]]]  # (title, header, rows) per sheet


def read_workbook(path: str | Path) -> Workbook:
    """Every sheet of an XLSX file as rows (header lower-cased, blank rows skipped), with its properties."""
    from openpyxl import load_workbook

    path = Path(path)
    if not path.is_file():
        raise ValidationFailed("file.not_found", [f"{path}: no such file"])
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a damaged workbook
        raise ValidationFailed("file.unreadable", [f"{path}: not a readable workbook ({exc.__class__.__name__})"]) \
            from None
    try:
        sheets = []
        for sheet in workbook.worksheets:
            header: list[str] = []
            rows = []
            for number, record in enumerate(sheet.iter_rows(values_only=True), start=1):
                if not header:
                    header = [_text(h).lower() for h in record]
                    continue
                if any(_text(v) for v in record):
                    rows.append(Row(line=number, values={h: _text(v) for h, v in zip(header, record) if h}))
            sheets.append((unicodedata.normalize("NFC", sheet.title), [h for h in header if h], rows))
        return Workbook(subject=workbook.properties.subject or "", keywords=workbook.properties.keywords or "",
                        sheets=sheets)
    finally:
        workbook.close()


def _read_xlsx(path: Path) -> tuple[list[str], list[Row]]:
    _, header, rows = read_workbook(path).sheets[0]
    return header, rows
