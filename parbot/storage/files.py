"""Reading the tables administrators bring (CSV or XLSX) into rows for the services."""
from __future__ import annotations

import unicodedata
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ..core.errors import Message, ValidationFailed, file_problem
from ..core.services.tabular import Row, parse_csv


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
        raise ValidationFailed("file.not_found", [Message("file.not_found", path=str(path))])
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            return _read_xlsx(path)
        if suffix in (".csv", ".txt", ""):
            return parse_csv(path.read_bytes(), str(path))
    except OSError as exc:
        raise ValidationFailed("file.unreadable", [Message("file.os_error", path=str(path), detail=file_problem(exc))]) \
            from None
    raise ValidationFailed("file.unsupported", [Message("file.unsupported", path=str(path))])


@dataclass(frozen=True)
class Workbook:
    subject: str
    keywords: str
    sheets: list[tuple[str, list[str], list[Row]]]  # (title, header, rows) per sheet


# An XLSX file is a zip of XML. A province's largest workbook unpacks to a few MB; a zip bomb to gigabytes.
MAX_UNPACKED = 200 * 2**20
MAX_RATIO = 100  # XML compresses 5–20×; beyond this the file is not a spreadsheet an office made
MAX_MEMBERS = 10_000


def _check_zip(path: Path) -> None:
    """Refuse what is not an XLSX file, or would unpack too big, before openpyxl opens it. The sizes declared
    in the zip directory bound what zipfile will ever decompress, so checking them is enough."""
    def refused(code: str, **params) -> ValidationFailed:
        return ValidationFailed("file.unreadable", [Message(code, path=str(path), **params)])

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise refused("file.not_xlsx") from None
    if not any(m.filename == "[Content_Types].xml" for m in members):
        raise refused("file.not_xlsx")
    unpacked = sum(m.file_size for m in members)
    packed = max(sum(m.compress_size for m in members), 1)
    if len(members) > MAX_MEMBERS or unpacked > MAX_UNPACKED or unpacked > MAX_RATIO * packed and unpacked > 2**20:
        raise refused("file.too_big_unpacked", size=max(round(unpacked / 2**20), 1), limit=MAX_UNPACKED // 2**20)


def read_workbook(path: str | Path) -> Workbook:
    """Every sheet of an XLSX file as rows (header lower-cased, blank rows skipped), with its properties."""
    from openpyxl import load_workbook

    path = Path(path)
    if not path.is_file():
        raise ValidationFailed("file.not_found", [Message("file.not_found", path=str(path))])
    _check_zip(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a damaged workbook
        raise _damaged(path, exc) from None
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
    except Exception as exc:  # noqa: BLE001 - a damaged sheet fails only when its rows are read
        raise _damaged(path, exc) from None
    finally:
        workbook.close()


def _damaged(path: Path, exc: Exception) -> ValidationFailed:
    return ValidationFailed("file.unreadable", [Message("file.not_a_workbook", path=str(path), detail=Message(
        "read.workbook_damaged", error=exc.__class__.__name__))])


def _read_xlsx(path: Path) -> tuple[list[str], list[Row]]:
    _, header, rows = read_workbook(path).sheets[0]
    return header, rows
