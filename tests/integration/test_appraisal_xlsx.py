"""The councils' offline path through the real command: export a workbook, fill it, import it back (bad rows
refuse the whole file), then survey results and publication, compared with `parbot results`."""
from __future__ import annotations

import json
import re
from pathlib import Path

from openpyxl import load_workbook


from appraisal_fixtures import build  # noqa: E402


def fill(path: Path, values: dict[tuple[str, str], tuple[object, object]], extra: dict[str, list] | None = None) -> None:
    workbook = load_workbook(path)
    for sheet in workbook.worksheets:
        header = [c.value for c in sheet[1]]
        col_points, col_reason = header.index("appraised_points") + 1, header.index("reason") + 1
        for row in range(2, sheet.max_row + 1):
            key = (sheet.title, sheet.cell(row, 2).value)
            if key in values:
                points, reason = values[key]
                sheet.cell(row, col_points, points)
                sheet.cell(row, col_reason, reason)
        for record in (extra or {}).get(sheet.title, []):
            sheet.append(record)
    workbook.save(path)


def test_workbook_round_trip_with_bad_rows(cli, uow, tmp_path):
    build(uow, tmp_path, submit=("SNV", "STC"))
    code, out, err = cli("appraisal", "export", "--period", "2020", "--out", "council.xlsx")
    assert code == 0, err
    assert "2 đơn vị, 8 mục" in out
    workbook = load_workbook(tmp_path / "council.xlsx")
    assert workbook.sheetnames == ["SNV", "STC"]  # submitted units only
    rows = list(workbook["SNV"].iter_rows(values_only=True))
    assert rows[0][:7] == ("unit", "item", "area", "name", "max", "answer", "self_points")
    assert rows[1][:7] == ("SNV", "1.1", "1", "Kế hoạch CCHC", 2, "points=2", 2)
    assert rows[4][6] == "na" and rows[1][8] == "Đã có báo cáo"

    every = {(u, i): ("ok", None) for u in ("SNV", "STC") for i in ("1.1", "1.2", "2.1", "2.2")}
    bad = dict(every)
    bad[("SNV", "1.1")] = (1, None)            # lowered without a reason
    bad[("SNV", "2.1")] = (4, "Quá cao")       # above the maximum 3
    bad[("STC", "2.2")] = (0.5, "Có phát sinh")  # fine: not applicable → points, with a reason
    fill(tmp_path / "council.xlsx", bad, extra={"STC": [["STC", "3.1.1", "3", "x", 2, "", "", "", "", 1, "y"]]})
    code, _, err = cli("appraisal", "import", "council.xlsx")
    assert code == 2
    assert "trang SNV dòng 2: tiêu chí 1.1: hãy ghi lý do khi điểm thẩm định khác điểm tự chấm" in err
    assert re.search(r"trang SNV dòng 4: .*4.*điểm tối đa 3 của tiêu chí 2\.1", err)
    assert "trang STC dòng 6: tiêu chí 3.1.1 lấy điểm từ điều tra xã hội học, không thẩm định" in err
    assert "Chưa ghi gì vào cơ sở dữ liệu" in err  # the CLI speaks Vietnamese by default
    code, out, _ = cli("audit", "--period", "2020", "--unit", "SNV", "--item", "1.1")
    assert "appraised" not in out

    good = dict(every)
    good[("SNV", "1.1")] = (1.5, "Kế hoạch ban hành chậm")
    fill(tmp_path / "council.xlsx", good)
    workbook = load_workbook(tmp_path / "council.xlsx")
    workbook["STC"].delete_rows(6)
    workbook.save(tmp_path / "council.xlsx")
    code, out, err = cli("appraisal", "import", "council.xlsx")
    assert code == 0, err
    assert "đã đọc 8 dòng, thay đổi 8 điểm" in out
    code, out, _ = cli("audit", "--period", "2020", "--unit", "SNV", "--item", "1.1")
    line = next(row for row in out.splitlines() if "thẩm định (vòng 1)" in row)  # appraised:round1, in words
    words = line.split()
    assert "nhập từ bảng tính" in line and "∅ → 1.5" in line and "Kế hoạch ban hành chậm" in line and words[2].startswith("cli:")

    (tmp_path / "survey.csv").write_text("unit,item,count_a,count_b,count_c,count_d\nSNV,3,5,3,2,0\n"
                                         "STC,3.1.1,1,0,0,0\n", encoding="utf-8")
    code, out, err = cli("survey", "import", "survey.csv", "--period", "2020")
    assert code == 0, err
    code, _, err = cli("publish", "--period", "2020", "--block", "so")
    assert code == 2 and "so: STC: thiếu điểm điều tra xã hội học của 1 tiêu chí" in err
    (tmp_path / "survey2.csv").write_text("unit,item,points\nSTC,3.1.2,0.5\n", encoding="utf-8")
    assert cli("survey", "import", "survey2.csv", "--period", "2020")[0] == 0
    code, out, err = cli("publish", "--period", "2020", "--block", "so")
    assert code == 0, err
    assert "Đã công bố khối so lần 1: 2 đơn vị" in out
    code, results, _ = cli("results", "--period", "2020", "--block", "so", "--format", "json")
    live = {u["unit_code"]: (u["total"], u["index_pct"], u["rank"]) for u in json.loads(results)["blocks"][0]["units"]}
    with uow:
        (snapshot,) = uow.snapshots.history(uow.periods.get(2020).id, "so")
    frozen = {u["code"]: (f"{float(u['total']):.2f}", u["index"], u["rank"]) for u in snapshot.results["units"]}
    assert frozen == live
    # SNV: 1.5 + 1 + 3 (2.2 na) + survey (5×100 + 3×60 + 2×20)/1000 × 3 = 2.16 → 7.66 of 9.
    assert live["SNV"] == ("7.66", "85.11", 2)
    code, _, err = cli("publish", "--period", "2020", "--block", "so")
    assert code == 1 and "Khối so đã công bố (lần 1)" in err
