"""The xlsx export, re-read with openpyxl (the PDF report: test_report_pdf.py)."""
from __future__ import annotations

import io
from decimal import Decimal as D

import openpyxl

from parbot.core.results import ItemMarks
from parbot.reports.xlsx import SHEET_NAME_MAX, _SheetNames, results_xlsx
from test_charts import make_block, marks_for


def workbook(blocks, lang="vi") -> openpyxl.Workbook:
    buffer = io.BytesIO()
    results_xlsx(blocks, buffer, lang=lang)
    buffer.seek(0)
    return openpyxl.load_workbook(buffer)


def test_ranking_sheet_holds_the_published_columns_as_numbers():
    block = make_block(6)
    ws = workbook([block])[block.block_name]
    header = [c.value for c in ws[2]]
    # Area 3 is measured only by the survey: its points are the survey column, not repeated, and the column
    # says which area it stands for.
    assert header == ["Xếp hạng", "Mã đơn vị", "Đơn vị", "1. Chỉ đạo, điều hành", "2. Cải cách thủ tục hành chính",
                      "3. Sự hài lòng (Điểm ĐTXHH)", "Tổng điểm", "Điểm tối đa", "Chỉ số (%)", "Xếp loại"]
    assert ws.freeze_panes == "D3"
    rows = list(ws.iter_rows(min_row=3, max_row=2 + len(block.units)))
    for row, unit in zip(rows, block.units):
        values = [c.value for c in row]
        assert unit.areas[2].survey_only and unit.areas[2].points == unit.survey
        expected = [unit.rank, unit.unit.code, unit.unit.name, *(a.points for a in unit.areas[:2]), unit.survey,
                    unit.total, unit.maximum, unit.index, unit.classification]
        assert [D(str(v)) if isinstance(v, (int, float)) else v for v in values] == expected
        assert {row[i].number_format for i in range(3, 9)} == {"0.00"}
    average = [c.value for c in ws[3 + len(block.units)]]
    assert average[2] == "Bình quân khối" and D(str(average[header.index("Chỉ số (%)")])) == block.average_index
    assert ws.column_dimensions["C"].width > ws.column_dimensions["A"].width


def test_bonus_and_deduction_columns_appear_only_when_used():
    plain = make_block(3)
    marks = {f"X{i:03d}": {**marks_for(i), "B1": ItemMarks(self=D(1)), "T1": ItemMarks(appraised=D("0.5"))}
             for i in range(3)}
    adjusted = make_block(3, marks=marks, block_name="Có điểm thưởng")
    wb = workbook([plain, adjusted])
    assert "Điểm thưởng" not in [c.value for c in wb[plain.block_name][2]]
    header = [c.value for c in wb["Có điểm thưởng"][2]]
    first = [c.value for c in wb["Có điểm thưởng"][3]]
    assert first[header.index("Điểm thưởng")] == 1 and first[header.index("Điểm trừ")] == 0.5


def test_a_detail_sheet_per_unit_with_items():
    block = make_block(2)
    wb = workbook([block, make_block(2, with_items=False, block_name="Phường")])
    # Ranking sheets first, then the units with items in rank order.
    assert wb.sheetnames == [block.block_name, "Phường", *(f"{u.unit.code} {u.unit.name}" for u in block.units)]
    unit = next(u for u in block.units if u.unit.code == "X000")  # seed 0: item 1.2 not applicable
    ws = wb["X000 Xã Phước Vĩnh An 0"]
    assert [c.value for c in ws[3]] == ["Mã", "Tiêu chí", "Điểm tối đa", "Tự chấm", "Thẩm định", "Điểm đạt",
                                        "Điểm chưa đạt", "Lý do"]
    by_code = {row[0].value: [c.value for c in row] for row in ws.iter_rows(min_row=4)}
    for item in unit.items:
        row = by_code[item.code]
        assert D(str(row[2])) == item.maximum and D(str(row[5])) == item.points and D(str(row[6])) == item.lost
        assert row[7] == item.reason
    assert by_code["1.1"][3:5] == [4, 2]  # self 4, appraised 2
    assert by_code["1.2"][3] == "Không áp dụng"
    assert by_code["2.1"][7] == "Thiếu tài liệu kiểm chứng"
    assert by_code["1"][1] == "Công tác chỉ đạo, điều hành cải cách hành chính"  # the area's subtotal row
    total = by_code[None]
    assert total[1] == "Tổng điểm" and D(str(total[5])) == unit.total


def test_sheet_names_follow_excel_rules():
    names = _SheetNames()
    taken = [names.take(n) for n in ["Khối: sở/ban [tỉnh]*?", "x" * 40, "X" * 40, "'quoted'", "", "Sheet"]]
    assert all(len(n) <= SHEET_NAME_MAX and not set(n) & set("[]:*?/\\") for n in taken)
    assert len({n.casefold() for n in taken}) == len(taken)
    assert taken[0] == "Khối  sở ban  tỉnh" and taken[3] == "quoted" and taken[5] == "Sheet (2)"
    long = "Ủy ban nhân dân cấp xã thuộc huyện Củ Chi"
    wb = workbook([make_block(1, block_name=long, with_items=False), make_block(1, block_name=long)])
    assert len(set(wb.sheetnames)) == len(wb.sheetnames) == 3
    assert all(len(n) <= SHEET_NAME_MAX for n in wb.sheetnames)


def test_english_headers_and_a_file_path(tmp_path):
    block = make_block(2, with_items=False)
    results_xlsx([block], tmp_path / "r.xlsx", lang="en")
    ws = openpyxl.load_workbook(tmp_path / "r.xlsx").active
    assert [c.value for c in ws[2]][:3] == ["Rank", "Unit code", "Unit"]
