"""The xlsx export and the PDF report, re-read with openpyxl, pypdf and pypdfium2."""
from __future__ import annotations

import io
import math
from decimal import Decimal as D

import openpyxl
import pypdf
import pypdfium2

from parbot.core.results import ItemMarks, UnitRef, compute_block
from parbot.reports.pdf import RANKING_ROWS, TABLE_ROWS, results_report_pdf
from parbot.reports.xlsx import SHEET_NAME_MAX, _SheetNames, results_xlsx
from test_charts import BANDS, make_block, make_criteria, marks_for


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


# ----------------------------------------------------------------------------------------------------
# PDF


def pdf_bytes(blocks, previous=None, title="Báo cáo kết quả Chỉ số CCHC năm 2024") -> tuple[bytes, int]:
    buffer = io.BytesIO()
    pages = results_report_pdf(blocks, buffer, title, previous)
    return buffer.getvalue(), pages


def expected_pages(blocks) -> int:
    units = sum(len(b.units) for b in blocks)
    per_block = sum(math.ceil(len(b.units) / TABLE_ROWS) + math.ceil(len(b.units) / RANKING_ROWS) for b in blocks)
    return 1 + per_block + 1 + units


def test_report_has_its_pages_and_vietnamese_text():
    departments = make_block(3, name="Sở Tài nguyên và Môi trường {i}", block_name="Sở, ban, ngành")
    communes = make_block(45)
    data, pages = pdf_bytes([departments, communes], previous={"X001": D("70")})
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == pages == expected_pages([departments, communes]) == 1 + 2 + 4 + 1 + 48
    assert "Báo cáo kết quả Chỉ số CCHC năm 2024" in reader.pages[0].extract_text()
    table = reader.pages[1].extract_text()
    assert "Bảng xếp hạng – Sở, ban, ngành 2024" in table and "Sở Tài nguyên và Môi trường 1" in table
    assert "So với năm" in table  # previous indices given: the change column
    unit_page = reader.pages[-1].extract_text()
    last = communes.units[-1]
    assert last.unit.name in unit_page and "Thiếu tài liệu kiểm chứng" in unit_page
    fonts = [f.get_object() for f in reader.pages[1]["/Resources"]["/Font"].values()]
    assert {f["/BaseFont"].split("+")[-1] for f in fonts} == {"DejaVuSans", "DejaVuSans-Bold"}
    assert b"/FontFile2" in data  # TrueType programs embedded (fonttype 42), not Type 3 outlines


def test_a_page_renders():
    data, _ = pdf_bytes([make_block(3)])
    document = pypdfium2.PdfDocument(data)
    image = document[len(document) - 1].render(scale=0.5).to_pil().convert("L")
    histogram = image.histogram()
    assert image.size[0] > 200
    assert sum(histogram[:128]) > 500  # dark pixels: text and bars were drawn, not a blank page


def test_report_is_deterministic():
    blocks = [make_block(4)]
    assert pdf_bytes(blocks)[0] == pdf_bytes(blocks)[0]
    assert b"CreationDate" not in pdf_bytes(blocks)[0]


def test_many_lost_items_continue_on_another_page():
    criteria = make_criteria(extra_items=40)
    units = [UnitRef("A", "Xã An Bình", "xa")]
    marks = {"A": {**marks_for(1), **{f"2.{n}": ItemMarks(self=D(0), reason="Không có văn bản " * 6)
                                      for n in range(2, 42)}}}
    block = compute_block(criteria, "Xã", units, marks, BANDS, with_items=True)
    data, pages = pdf_bytes([block])
    assert pages > expected_pages([block])
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert "(tiếp theo)" in reader.pages[-1].extract_text()
    codes = [line.split()[0] for page in reader.pages[4:] for line in page.extract_text().splitlines() if line]
    assert all(f"2.{n}" in codes for n in range(2, 42))  # every lost item listed, none dropped at a break


def test_units_without_items_and_empty_blocks():
    data, pages = pdf_bytes([make_block(2, with_items=False), make_block(0, block_name="Trống")])
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == pages == 1 + 2 + 1 + 2
    assert "Không có chi tiết theo tiêu chí." in reader.pages[-1].extract_text()


def test_the_process_pool_writes_the_same_file_as_one_process():
    blocks = [make_block(45)]  # two chunks of unit pages, besides the front matter
    alone, parallel = io.BytesIO(), io.BytesIO()
    pages = results_report_pdf(blocks, alone, "Báo cáo", workers=1)
    assert results_report_pdf(blocks, parallel, "Báo cáo", workers=2) == pages == expected_pages(blocks)
    assert alone.getvalue() == parallel.getvalue()
    assert len(pypdf.PdfReader(parallel).pages) == pages


def test_lost_points_are_grouped_by_area_with_reasons_and_only_items_that_lost():
    block = make_block(3)
    unit = block.units[0]
    data, _ = pdf_bytes([block])
    page = pypdf.PdfReader(io.BytesIO(data)).pages[-3].extract_text()  # the first unit's page
    lost = [i for i in unit.items if i.lost > 0 or (i.section == "deduction" and i.points > 0)]
    kept = [i for i in unit.items if i not in lost]
    assert lost and kept
    lines = page.splitlines()
    for item in lost:
        assert any(line.startswith(f"{item.code} ") for line in lines), item.code
        if item.reason:
            assert item.reason in page
    for item in kept:
        assert not any(line.startswith(f"{item.code} ") for line in lines), item.code
