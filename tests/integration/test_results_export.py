"""`parbot results`: CSV that Excel opens with Vietnamese names (BOM, one header per file)."""
from __future__ import annotations

import csv
import io
import json

import pytest

from appraisal_fixtures import build


def ranking(cli, *args):
    code, out, err = cli("results", "--period", "2020", *args, "--format", "json")
    assert code == 0, err
    return {b["block"]: b["units"] for b in json.loads(out)["blocks"]}


def test_each_block_is_one_csv_file_with_a_bom(cli, uow, tmp_path):
    build(uow, tmp_path)
    code, out, err = cli("results", "--period", "2020", "--format", "csv", "--out", "ket-qua.csv")
    assert code == 0, err
    expected = ranking(cli)
    assert sorted(p.name for p in tmp_path.glob("ket-qua*.csv")) == \
        ["ket-qua-huyen.csv", "ket-qua-so.csv", "ket-qua-xa.csv"]
    for block, units in expected.items():
        data = (tmp_path / f"ket-qua-{block}.csv").read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")
        records = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        header, rows = records[0], records[1:]
        assert header[0] == "block" and header.count("unit") == 1
        assert not any(r[:2] == header[:2] for r in rows)  # the header is not repeated
        assert [dict(zip(header[1:], r[1:])) for r in rows] == \
            [{k: str(v) for k, v in u.items()} for u in units]  # the same numbers as the JSON
        assert f"ket-qua-{block}.csv" in out


def test_one_block_to_a_file_and_to_the_screen(cli, uow, tmp_path):
    build(uow, tmp_path)
    code, _, err = cli("results", "--period", "2020", "--block", "so", "--format", "csv", "--out", "so.csv")
    assert code == 0, err
    text = (tmp_path / "so.csv").read_text(encoding="utf-8")
    assert text.startswith("\ufeffblock,") and "Sở Nội vụ" in text
    code, out, _ = cli("results", "--period", "2020", "--block", "so", "--format", "csv")
    assert code == 0 and out == text.removeprefix("\ufeff")


def test_several_blocks_on_the_screen_are_refused_with_what_to_do(cli, uow, tmp_path):
    build(uow, tmp_path)
    code, out, err = cli("results", "--period", "2020", "--format", "csv")
    assert code == 2 and not out
    assert "--block" in err and "--format xlsx" in err
    listed = err.split("các khối: ", 1)[1].split(")", 1)[0]
    assert sorted(listed.split(", ")) == ["huyen", "so", "xa"]


def csv_rows(cli, block):
    code, out, err = cli("results", "--period", "2020", "--block", block, "--format", "csv")
    assert code == 0, err
    records = list(csv.reader(io.StringIO(out)))
    return [dict(zip(records[0], r)) for r in records[1:]]


def shown(cli, monkeypatch, columns: int, *args):
    monkeypatch.setenv("COLUMNS", str(columns))
    code, out, err = cli("results", "--period", "2020", *args)
    assert code == 0, err
    return out


@pytest.mark.parametrize("columns", [60, 80, 99, 100, 120])
def test_the_table_fits_the_terminal_and_shows_the_csv_numbers(cli, uow, tmp_path, monkeypatch, columns):
    build(uow, tmp_path)
    out = shown(cli, monkeypatch, columns)
    assert max(len(line) for line in out.splitlines()) <= columns
    assert "…" not in out  # nothing cut short
    words = set(out.replace("│", " ").replace("·", " ").replace(":", " ").split())
    for block in ("so", "huyen", "xa"):
        for row in csv_rows(cli, block):
            numbers = [v for k, v in row.items() if k not in ("block", "unit", "unit_code", "class") and v]
            assert set(numbers) <= words, (row, columns)
            assert row["unit_code"] in out and all(w in words for w in row["unit"].split())
    assert ("Hạng" in out) == (columns >= 100)  # a table from 100 columns, a list of units below


def test_wide_shows_every_column_with_its_full_name(cli, uow, tmp_path, monkeypatch):
    build(uow, tmp_path)
    out = shown(cli, monkeypatch, 60, "--wide", "--block", "so")
    for name in ("Xếp hạng", "Mã đơn vị", "Lĩnh vực 1", "Lĩnh vực 2", "Điểm ĐTXHH", "Tổng điểm", "Điểm tối đa",
                 "Chỉ số (%)", "Xếp loại", "Sở Nội vụ", "Sở Tài chính"):
        assert name in out
    assert "…" not in out and max(len(line) for line in out.splitlines()) > 60
