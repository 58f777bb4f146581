"""CSV files as Vietnamese offices save them: every encoding Excel writes, ',' ';' or tab, decimal commas."""
from __future__ import annotations

import unicodedata
from decimal import Decimal

import pytest

from parbot.core.decimals import to_decimal
from parbot.core.errors import ValidationFailed
from parbot.core.services.tabular import Row, parse_csv, where
from parbot.i18n import render
from parbot.storage.files import read_table

NAMES = ("Thị xã Tân Uyên", "Huyện Dầu Tiếng", "Sở Tư pháp")


def cp1258(text: str) -> bytes:
    """Windows-1258 as Excel writes it: a precomposed base letter (ê, ơ) plus a combining tone mark."""
    out = b""
    for char in text:
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        base, *marks = unicodedata.normalize("NFD", char)
        for index, mark in enumerate(marks):
            rest = marks[:index] + marks[index + 1:]
            try:
                out += (unicodedata.normalize("NFC", base + "".join(rest)) + mark).encode("cp1258")
                break
            except UnicodeEncodeError:
                continue
        else:
            raise AssertionError(f"{char!r} has no Windows-1258 form")
    return out


def table(delimiter: str) -> str:
    lines = [delimiter.join(("unit", "name", "points"))]
    decimal = "," if delimiter != "," else "."
    lines += [delimiter.join((f"U{i}", name, f"94{decimal}43")) for i, name in enumerate(NAMES, start=1)]
    return "\r\n".join(lines) + "\r\n"


ENCODED = {
    "utf-8 BOM": lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
    "utf-8": lambda text: text.encode("utf-8"),
    "utf-16 LE BOM": lambda text: b"\xff\xfe" + text.encode("utf-16-le"),
    "utf-16 BE BOM": lambda text: b"\xfe\xff" + text.encode("utf-16-be"),
    "windows-1258": cp1258,
}


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("encoding", list(ENCODED))
def test_every_encoding_and_delimiter_gives_the_same_rows(tmp_path, encoding, delimiter):
    path = tmp_path / "units.csv"
    path.write_bytes(ENCODED[encoding](table(delimiter)))
    header, rows = read_table(path)
    assert header == ["unit", "name", "points"]
    assert [(r.line, r.get("unit"), r.get("name")) for r in rows] == \
        [(i, f"U{i - 1}", name) for i, name in enumerate(NAMES, start=2)]
    assert all(unicodedata.is_normalized("NFC", r.get("name")) for r in rows)
    assert {to_decimal(r.get("points")) for r in rows} == {Decimal("94.43")}


def test_windows_1258_really_differs_from_utf8():
    # The fixture is a real Windows-1258 file: not valid UTF-8, and its tone marks are combining characters.
    data = cp1258(NAMES[0])
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert data.decode("cp1258") != NAMES[0] and unicodedata.normalize("NFC", data.decode("cp1258")) == NAMES[0]


def test_unknown_encoding_says_what_was_tried():
    with pytest.raises(ValidationFailed) as refused:
        parse_csv(b"unit,name\nU1,\x81\x8d\x8e\n", "don-vi.csv")
    assert refused.value.code == "file.unreadable"
    text = render(refused.value.problems[0], "vi")
    assert "don-vi.csv" in text and "utf-8, cp1258" in text and ".xlsx" in text


def test_utf16_without_bom_is_not_taken_for_utf8():
    with pytest.raises(ValidationFailed):
        parse_csv("unit,name\nU1,Sở\n".encode("utf-16-le"), "x.csv")


def test_decimal_commas_in_a_comma_file_name_the_row_and_the_fix():
    with pytest.raises(ValidationFailed) as refused:
        parse_csv(b"unit,item,source,points\nU1,1.1,self,2\nU1,1.2,self,94,43\n", "scores.csv")
    (problem,) = refused.value.problems
    text = render(problem, "vi")
    assert text.startswith("dòng 3: có 5 ô nhưng dòng tiêu đề có 4 ô") and "dấu chấm phẩy (;)" in text


def test_a_cell_problem_reads_in_vietnamese():
    from parbot.core.errors import Message

    problem = where(Row(7, {}), "points", Message("points.not_a_number", value="abc"))
    assert render(problem, "vi") == "dòng 7, cột “points”: “abc” không phải là số (ví dụ 12,5 hoặc 12.5, " \
                                    "hoặc na nếu không phát sinh)"
    assert render(problem, "en").startswith("row 7, column “points”: “abc” is not a number")


def zip_bomb(path, megabytes: int = 40):
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            for _ in range(megabytes):
                member.write(b"\0" * 2**20)
    return path


def test_a_zip_bomb_is_refused_before_openpyxl_opens_it(tmp_path, monkeypatch):
    import openpyxl

    def never(*args, **kwargs):
        raise AssertionError("openpyxl was asked to open a zip bomb")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    with pytest.raises(ValidationFailed) as refused:
        read_table(zip_bomb(tmp_path / "don-vi.xlsx"))
    text = render(refused.value.problems[0], "vi")
    assert text.startswith(f"{tmp_path / 'don-vi.xlsx'}: bảng tính giải nén ra 40 MB")


@pytest.mark.parametrize("content", [b"code,name,block\nA,B,C\n", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512])
def test_a_file_that_is_no_xlsx_says_how_to_save_one(tmp_path, content):
    path = tmp_path / "units.xlsx"
    path.write_bytes(content)
    with pytest.raises(ValidationFailed) as refused:
        read_table(path)
    assert "không phải tệp Excel .xlsx" in render(refused.value.problems[0], "vi")


def test_the_cli_refuses_a_bad_workbook_in_vietnamese_without_a_traceback(cli, tmp_path):
    zip_bomb(tmp_path / "bomb.xlsx", megabytes=2)
    code, out, err = cli("units", "import", "bomb.xlsx")
    assert code == 2 and "Traceback" not in out + err
    assert "bomb.xlsx: bảng tính giải nén ra 2 MB" in err
