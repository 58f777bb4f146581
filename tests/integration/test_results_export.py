"""`parbot results`: CSV that Excel opens with Vietnamese names (BOM, one header per file)."""
from __future__ import annotations

import csv
import io
import json

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
    assert "--block" in err and "huyen, so, xa" in err and "--format xlsx" in err
