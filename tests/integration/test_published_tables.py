"""The engine reproduces published provincial results exactly, through `parbot scores import` and `results`."""
from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import DATA, PUBLISHED


def published(name: str) -> list[dict[str, str]]:
    lines = [line for line in (PUBLISHED / name).read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def load_round(cli, tmp_path: Path, set_file: str, period_file: str, units: list[list[str]],
               scores: list[list[str]], year: int) -> dict:
    assert cli("framework", "validate", DATA / set_file)[0] == 0
    code, out, err = cli("period", "create", DATA / period_file)
    assert code == 0, err
    code, out, err = cli("units", "import", write_csv(tmp_path / "units.csv", ["code", "name", "block"], units))
    assert code == 0, err
    code, out, err = cli("scores", "import", write_csv(tmp_path / "scores.csv", ["unit", "item", "source", "points"],
                                                       scores), "--period", year)
    assert code == 0, err
    code, out, err = cli("results", "--period", year, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def test_binh_duong_2017_districts(cli, tmp_path):
    table = published("binhduong_2017_cap_huyen.csv")
    units = [[f"BD{i:02d}", row["unit"], "huyen"] for i, row in enumerate(table, 1)]
    scores = []
    for i, row in enumerate(table, 1):
        scores += [[f"BD{i:02d}", "TD.1", "appraised", row["diem_tham_dinh_max65"]],
                   [f"BD{i:02d}", "DT.1", "survey", row["diem_dtxhh_max35"]]]
    result = load_round(cli, tmp_path, "binhduong-2017.yaml", "binhduong-2017-period.yaml", units, scores, 2017)
    (block,) = result["blocks"]
    got = {u["unit"]: u for u in block["units"]}
    assert len(got) == len(table)
    for row in table:
        unit = got[row["unit"]]
        assert Decimal(unit["total"]) == Decimal(row["tong_diem_max100"])
        assert Decimal(unit["index_pct"]) == Decimal(row["chi_so_cchc_pct"])
        assert unit["rank"] == int(row["rank"])
    # "Phú Giáo, 46 appraised points, ranks below Dầu Tiếng, 44, on the total" (ranked by total, not appraisal).
    assert got["Huyện Phú Giáo"]["rank"] > got["Huyện Dầu Tiếng"]["rank"]
    assert block["average_index"] == "78.39"  # the published mean of the nine indices


BLOCK_OF_GROUP = {"co_quan_trung_uong": "trung_uong", "so_ban_nganh": "so_ban_nganh"}  # block codes ≤ 16 chars


def test_vinh_phuc_2019_two_blocks_ranked_separately(cli, tmp_path):
    table = published("vinhphuc_2019_tw_so.csv")
    units, scores = [], []
    for i, row in enumerate(table, 1):
        code = f"VP{i:02d}"
        units.append([code, row["unit"], BLOCK_OF_GROUP[row["group"]]])
        scores += [[code, "TT.1", "appraised", row["diem_danh_gia_truc_tiep"]],
                   [code, "DT.1", "survey", row["diem_dieu_tra_xhh"]]]
    result = load_round(cli, tmp_path, "vinhphuc-2019.yaml", "vinhphuc-2019-period.yaml", units, scores, 2019)
    blocks = {b["block"]: b for b in result["blocks"]}
    assert set(blocks) == {"trung_uong", "so_ban_nganh"}
    for row in table:
        unit = next(u for u in blocks[BLOCK_OF_GROUP[row["group"]]]["units"] if u["unit"] == row["unit"])
        assert Decimal(unit["total"]) == Decimal(row["tong_diem"])
        assert unit["rank"] == int(row["rank"]), row["unit"]
    for name, block in blocks.items():
        indices = [Decimal(u["index_pct"]) for u in block["units"]]
        mean = sum(indices) / len(indices)
        assert Decimal(block["average_index"]) == mean.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")


def test_not_applicable_items_leave_the_maximum_and_rank_by_index(cli, tmp_path):
    """Tây Ninh 2023: 69.25 of 71.5 (96.85%) ranks above 94.43 of 100 (94.43%)."""
    set_file = tmp_path / "tn.yaml"
    set_file.write_text((DATA / "binhduong-2017.yaml").read_text(encoding="utf-8")
                        .replace("max: 65", "max: 65\n        not_applicable: true"), encoding="utf-8")
    assert "not_applicable" in set_file.read_text(encoding="utf-8")
    (tmp_path / "tn-period.yaml").write_text(
        (DATA / "binhduong-2017-period.yaml").read_text(encoding="utf-8").replace("binhduong-2017.yaml", str(set_file)),
        encoding="utf-8")
    units = [["A", "Đơn vị A", "huyen"], ["B", "Đơn vị B", "huyen"]]
    scores = [["A", "TD.1", "appraised", "62"], ["A", "DT.1", "survey", "32.43"],
              ["B", "TD.1", "self", "na"], ["B", "DT.1", "survey", "34.5"]]
    code, _, err = cli("period", "create", tmp_path / "tn-period.yaml")
    assert code == 0, err
    write_csv(tmp_path / "u.csv", ["code", "name", "block"], units)
    write_csv(tmp_path / "s.csv", ["unit", "item", "source", "points"], scores)
    assert cli("units", "import", tmp_path / "u.csv")[0] == 0
    assert cli("scores", "import", tmp_path / "s.csv", "--period", 2017)[0] == 0
    out = json.loads(cli("results", "--period", 2017, "--format", "json")[1])
    a, b = (next(u for u in out["blocks"][0]["units"] if u["unit_code"] == c) for c in "AB")
    assert (a["maximum"], a["index_pct"]) == ("100.00", "94.43")
    assert (b["maximum"], b["index_pct"]) == ("35.00", "98.57")  # 34.5 / 35
    assert b["rank"] == 1 and a["rank"] == 2


@pytest.mark.parametrize("bad_row, message", [
    (["ZZ", "TD.1", "appraised", "10"], "dòng 4, cột “unit”: không có đơn vị mã “ZZ”"),
    (["BD02", "X.9", "appraised", "10"], "dòng 4, cột “item”: khối huyen không có tiêu chí mã “X.9”"),
    (["BD02", "TD.1", "appraised", "70"], "dòng 4, cột “points”: điểm 70 vượt điểm tối đa 65 của tiêu chí TD.1"),
    (["BD02", "TD.1", "appraised", "-1"], "dòng 4, cột “points”: điểm -1 là số âm"),
    (["BD02", "TD.1", "survey", "10"], "tiêu chí TD.1 do đơn vị tự chấm, không nhận điểm điều tra xã hội học"),
    (["BD02", "DT.1", "self", "10"], "lấy từ điều tra xã hội học"),
    (["BD02", "TD.1", "appraised", "mười"], "dòng 4, cột “points”: “mười” không phải là số"),
    (["BD02", "TD.1", "bogus", "10"], "dòng 4, cột “source”: nguồn điểm “bogus” phải là một trong"),
    (["BD02", "TD.1", "appraised", "na"], "không cho phép “không phát sinh”"),
    (["BD02", "TD.1", "appraised", "10.03"], "không phải bội số của bước 0.05"),
])
def test_a_bad_row_refuses_the_whole_file(cli, tmp_path, bad_row, message):
    load_round(cli, tmp_path, "binhduong-2017.yaml", "binhduong-2017-period.yaml",
               [["BD01", "Thành phố Thủ Dầu Một", "huyen"], ["BD02", "Thị xã Tân Uyên", "huyen"]],
               [["BD01", "TD.1", "appraised", "50"]], 2017)
    rows = [["BD01", "TD.1", "appraised", "51.5"], ["BD01", "DT.1", "survey", "30"], bad_row]
    code, out, err = cli("scores", "import", write_csv(tmp_path / "bad.csv", ["unit", "item", "source", "points"], rows),
                         "--period", 2017)
    assert code == 2
    assert ("row 4" in err or "dòng 4" in err) and message in err
    after = json.loads(cli("results", "--period", 2017, "--format", "json")[1])["blocks"][0]["units"]
    assert [(u["unit_code"], u["total"]) for u in after] == [("BD01", "50.00"), ("BD02", "0.00")]  # the good rows of the refused file were not written either


def test_audit_records_every_change(cli, tmp_path):
    load_round(cli, tmp_path, "binhduong-2017.yaml", "binhduong-2017-period.yaml",
               [["BD01", "Thành phố Thủ Dầu Một", "huyen"]], [["BD01", "TD.1", "appraised", "50"]], 2017)
    write_csv(tmp_path / "again.csv", ["unit", "item", "source", "points", "reason"],
              [["BD01", "TD.1", "appraised", "48,5", "Thiếu tài liệu kiểm chứng"]])
    assert cli("scores", "import", tmp_path / "again.csv", "--period", 2017)[0] == 0
    assert cli("scores", "import", tmp_path / "again.csv", "--period", 2017)[1].strip().endswith("thay đổi 0.")
    code, out, _ = cli("audit", "--period", 2017, "--unit", "BD01")
    lines = [line for line in out.splitlines() if "TD.1" in line]
    assert len(lines) == 2
    assert "∅ → 50" in lines[0]
    assert "50 → 48.5" in lines[1] and "Thiếu tài liệu kiểm chứng" in lines[1]
