"""The PDF report and the Word annex, re-read with pypdf, pypdfium2 and python-docx."""
from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal as D

import docx
import pypdf
import pypdfium2
import pytest
import typer

from parbot.cli.report_cmds import _date
from parbot.core.results import ItemMarks, UnitRef, compute_block
from parbot.core.decimals import num
from parbot.reports.annex import Heading
from parbot.reports.docx import results_docx
from parbot.reports.pdf import results_report_pdf
from test_charts import BANDS, make_block, make_criteria, marks_for

HEADING = Heading("Báo cáo kết quả Chỉ số cải cách hành chính năm 2024", province="tỉnh Thanh Hóa",
                  issuer="Sở Nội vụ", decision="123/QĐ-UBND", date=date(2026, 3, 15))
LITERAL = r"Thiếu $\foo$ <b>đậm</b> & <i>"


def report(blocks, previous=None, heading=HEADING) -> tuple[pypdf.PdfReader, bytes, int]:
    buffer = io.BytesIO()
    pages = results_report_pdf(blocks, buffer, heading, previous)
    return pypdf.PdfReader(io.BytesIO(buffer.getvalue())), buffer.getvalue(), pages


def texts(reader) -> list[str]:
    return [page.extract_text() for page in reader.pages]


def flat(text: str) -> str:
    """Extracted text with its line breaks (wrapped cells) taken as spaces."""
    return re.sub(r"\s+", " ", text)


def blocks():
    departments = make_block(3, name="Sở Tài nguyên và Môi trường {i}", block_name="Sở, ban, ngành")
    return [departments, make_block(45)]


def test_cover_contents_and_page_numbers():
    reader, data, pages = report(blocks(), previous={"X001": D("70")})
    pages_text = texts(reader)
    assert len(reader.pages) == pages
    cover = flat(pages_text[0])
    for field in ("TỈNH THANH HÓA", "SỞ NỘI VỤ", "Số: 123/QĐ-UBND", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                  "Thanh Hóa, ngày 15 tháng 3 năm 2026", "Báo cáo kết quả Chỉ số cải cách hành chính năm 2024",
                  "Kèm theo Quyết định số 123/QĐ-UBND ngày 15 tháng 3 năm 2026", "Mục lục"):
        assert field in cover, field
    for number, text in enumerate(pages_text, start=1):
        assert f"Trang {number}/{pages}" in text
    # Each contents entry names the page its section starts on.
    laid_out = reader.pages[0].extract_text(extraction_mode="layout")  # each title and its page on one line
    entries = re.findall(r"^((?:Bảng xếp hạng|Kết quả từng đơn vị) .+?)\s{3,}(\d+)$", laid_out, re.M)
    assert len(entries) == 4
    for title, page in entries:
        assert flat(pages_text[int(page) - 1]).startswith(title.strip()), title
    fonts = [f.get_object() for f in reader.pages[1]["/Resources"]["/Font"].values()]
    assert {f["/BaseFont"].split("+")[-1] for f in fonts} >= {"DejaVuSans", "DejaVuSans-Bold"}
    assert b"/FontFile2" in data  # the TrueType programs embedded


def test_ranking_table_in_the_published_shape():
    departments, communes = blocks()
    reader, _, _ = report([departments, communes], previous={"X001": D("70")})
    table = texts(reader)[1]
    assert ("Bảng xếp hạng Chỉ số CCHC năm 2024 – Sở, ban, ngành STT Tên đơn vị Điểm tối đa Điểm đạt Chỉ số (%) "
            "Xếp loại So với năm trước 1 ") in flat(table)
    row = flat(table)
    assert [u.unit.code for u in departments.units] == ["X002", "X001", "X000"]
    assert "1 Sở Tài nguyên và Môi trường 2 40,00 25,00 62,50 Yếu — 2" in row  # no index last year: "—"
    assert "2 Sở Tài nguyên và Môi trường 1 40,00 21,00 52,50 Yếu −17,50 3" in row  # last year 70
    assert "3 Sở Tài nguyên và Môi trường 0 34,00 17,00 50,00 Yếu — Bình quân khối 55,00" in row


def test_a_small_blocks_chart_shares_the_tables_page_and_a_long_block_is_split():
    small, large = make_block(2, block_name="Khối nhỏ"), make_block(50)
    pages_text = texts(report([small, large])[0])
    assert "Biểu đồ xếp hạng – Khối nhỏ" in pages_text[1] and "Bảng xếp hạng" in pages_text[1]
    parts = [p for p in pages_text if "Biểu đồ xếp hạng – Ủy ban nhân dân cấp xã (" in p]
    assert len(parts) == 2 and "(2/2)" in parts[-1]
    bars = [n for p in parts for n in re.findall(r"^(\d+)\. Xã", p, re.M)]
    assert len(bars) == 50  # every unit has its bar, none lost between parts


def test_unit_pages_list_lost_items_in_full_with_literal_reasons():
    criteria = make_criteria(extra_items=12)
    units = [UnitRef("A", "Xã An Bình", "xa")]
    marks = {"A": {**marks_for(1), "2.1": ItemMarks(self=D(3), reason=LITERAL),
                   **{f"2.{n}": ItemMarks(self=D(0), reason="Không có văn bản " * 6) for n in range(2, 14)}}}
    block = compute_block(criteria, "Xã", units, marks, BANDS, with_items=True)
    reader, _, _ = report([block])
    unit_pages = flat(" ".join(texts(reader)[2:]))
    assert "Xã An Bình" in unit_pages and "Các tiêu chí chưa đạt điểm tối đa" in unit_pages
    assert LITERAL in unit_pages  # markup-like text printed as written
    for n in range(2, 14):  # long names wrapped whole, never cut mid-phrase
        assert f"2.{n} Tiêu chí thành phần bổ sung số {n} về thủ tục hành chính liên thông" in unit_pages
    assert "1.2" not in unit_pages.split("1.1", 1)[0]  # items that lost nothing are not listed
    assert "…" not in unit_pages


def test_a_page_renders_and_the_file_is_deterministic():
    _, data, _ = report([make_block(3)])
    document = pypdfium2.PdfDocument(data)
    image = document[len(document) - 1].render(scale=0.5).to_pil().convert("L")
    document.close()
    assert sum(image.histogram()[:128]) > 500  # dark pixels: text and tables were drawn
    assert report([make_block(3)])[1] == data  # invariant: a fixed date and ids, so the same results, same bytes


def test_a_plain_title_units_without_items_and_empty_blocks():
    reader, _, pages = report([make_block(2, with_items=False), make_block(0, block_name="Trống")],
                              heading="Bản nháp")
    pages_text = texts(reader)
    assert "Bản nháp" in pages_text[0] and "Số:" not in pages_text[0]
    assert "Không có chi tiết theo tiêu chí." in pages_text[-2]
    assert "Bảng xếp hạng Chỉ số CCHC năm 2024 – Trống" in pages_text[-1] and f"Trang {pages}/{pages}" in pages_text[-1]


def test_the_word_annex_holds_the_ranking_tables(tmp_path):
    departments, communes = blocks()
    results_docx([departments, communes], tmp_path / "phu-luc.docx", HEADING, previous={"X001": D("70")})
    document = docx.Document(tmp_path / "phu-luc.docx")
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Kèm theo Quyết định số 123/QĐ-UBND ngày 15 tháng 3 năm 2026" in text
    assert "Bảng xếp hạng Chỉ số CCHC năm 2024 – Ủy ban nhân dân cấp xã" in text
    first, first_areas, second, second_areas = document.tables  # per block: the ranking, then the areas
    rows = [[c.text for c in row.cells] for row in first.rows]
    assert rows[0] == ["STT", "Tên đơn vị", "Điểm tối đa", "Điểm đạt", "Chỉ số (%)", "Xếp loại", "So với năm trước"]
    assert rows[2] == ["2", "Sở Tài nguyên và Môi trường 1", "40,00", "21,00", "52,50", "Yếu", "−17,50"]
    assert rows[-1][1] == "Bình quân khối" and len(second.rows) == 1 + 45 + 1
    assert first.rows[0]._tr.trPr.xpath("./w:tblHeader")  # the header repeats on every page
    area_rows = [[c.text for c in row.cells] for row in second_areas.rows]
    unit = communes.ranked[0]
    assert area_rows[0] == ["STT", "Tên đơn vị", "1", "2", "3", "Chỉ số (%)"]
    assert area_rows[1] == ["1", unit.unit.name.replace("Ủy ban nhân dân", "UBND"),
                            *(num(a.index, "vi") for a in unit.areas), num(unit.index, "vi")]
    assert area_rows[-1][1] == "Bình quân khối" and len(area_rows) == 1 + 45 + 1
    footer = document.sections[0].footer.paragraphs[0]
    assert footer.text == "Trang /"  # "Trang 3/12": the numbers are Word's PAGE and NUMPAGES fields
    assert [i.text for i in footer._p.xpath(".//w:instrText")] == ["PAGE", "NUMPAGES"]


def test_a_bad_decision_date_is_refused_in_vietnamese():
    assert _date("2026-03-15") == date(2026, 3, 15)
    with pytest.raises(typer.BadParameter, match="ngày không hợp lệ"):
        _date("15/03/2026")


def test_parbot_report_writes_the_pdf_and_both_annexes(cli, uow, tmp_path):
    from appraisal_fixtures import ADMIN, YEAR, build
    from test_publication import fill

    from parbot.core.services import publication

    build(uow, tmp_path)
    fill(uow)
    publication.publish(uow, caller=ADMIN, block="so", year=YEAR)
    code, out, err = cli("report", "--period", YEAR, "--out", "bao-cao.pdf", "--province", "tỉnh Bình Dương",
                         "--issuer", "Sở Nội vụ", "--decision", "45/QĐ-UBND", "--date", "2021-03-01")
    assert code == 0, err
    assert "bao-cao.docx" in out and "bao-cao.xlsx" in out and "tạm tính" in out
    cover = flat(texts(pypdf.PdfReader(tmp_path / "bao-cao.pdf"))[0])
    assert "Số: 45/QĐ-UBND" in cover and "Bình Dương, ngày 1 tháng 3 năm 2021" in cover and "tạm tính" in cover
    tables = docx.Document(tmp_path / "bao-cao.docx").tables
    names = [[row.cells[1].text for row in table.rows] for table in tables if table.rows[0].cells[2].text == "Điểm tối đa"]
    assert ["Tên đơn vị", "Sở Tài chính", "Sở Nội vụ", "Bình quân khối"] in names and len(names) == 3
    import openpyxl
    assert "Sở, ban, ngành" in openpyxl.load_workbook(tmp_path / "bao-cao.xlsx").sheetnames
    code, _, err = cli("report", "--period", YEAR, "--out", "x.pdf", "--date", "01/03/2021")
    assert code == 2 and "ngày không hợp lệ" in err and not (tmp_path / "x.pdf").exists()


def test_the_period_file_carries_the_covers_fields():
    from appraisal_fixtures import PERIOD

    from parbot.core.period import parse_period

    config, problems = parse_period(PERIOD + "report: {province: tỉnh Bình Dương, issuer: Sở Nội vụ, "
                                             "decision: 45/QĐ-UBND, date: 2021-03-01}\n")
    assert problems == [] and config.report.decision == "45/QĐ-UBND" and config.report.date == date(2021, 3, 1)
    _, problems = parse_period(PERIOD + "report: {decison: 45/QĐ-UBND}\n")
    assert problems  # a misspelt field is refused, not ignored


def test_the_report_and_the_word_annex_show_points_at_the_sets_precision(tmp_path):
    from test_points_precision import criteria

    # Thừa Thiên Huế publishes 97,685: at 2 decimals the report read 97,69 (and the lost 2,315 as 2,32).
    block = compute_block(criteria(), "Sở", [UnitRef("A", "Sở A", "so")],
                          {"A": {"1.1": ItemMarks(self=D("60"), appraised=D("58.345"), reason="Thiếu"),
                                 "2.1": ItemMarks(appraised=D("39.34"))}}, with_items=True)
    text = flat(" ".join(texts(report([block])[0])))
    assert "1 Sở A 100,000 97,685 97,69" in text  # the ranking table: points at 3, the index at 2
    assert "Điểm đạt 97,685/100,000" in text and "1. Chỉ đạo 60,000 58,345 97,24" in text
    assert "1.1 a 60 58,345/60 −1,655" in text  # the lost-points line, trimmed but never rounded to 2
    results_docx([block], tmp_path / "a.docx", HEADING)
    row = [c.text for c in docx.Document(tmp_path / "a.docx").tables[0].rows[1].cells]
    assert row == ["1", "Sở A", "100,000", "97,685", "97,69", "Chưa xếp loại"]


def test_a_page_compares_the_units_by_area_and_marks_the_areas_below_the_top_class_condition(tmp_path):
    from parbot.core.results import Band
    from parbot.reports.pdf import BELOW, _area_comparison, _Styles

    bands = (Band("Xuất sắc", D(60), min_area_index=D(55)), *BANDS[1:])
    units = [UnitRef(f"X{i:03d}", f"Ủy ban nhân dân xã Phước Vĩnh An {i}", "xa") for i in range(3)]
    block = compute_block(make_criteria(), "Ủy ban nhân dân cấp xã", units,
                          {u.code: marks_for(i) for i, u in enumerate(units)}, bands, with_items=True)
    pages_text = texts(report([block])[0])
    (page,) = [flat(p) for p in pages_text[1:] if p.startswith("So sánh các đơn vị theo lĩnh vực")]
    assert "So sánh các đơn vị theo lĩnh vực – Ủy ban nhân dân cấp xã" in flat(pages_text[0])  # in the contents
    assert "Lĩnh vực: 1 – Chỉ đạo, điều hành; 2 – Cải cách thủ tục hành chính; 3 – Sự hài lòng." in page
    assert "dưới 55%, điều kiện của loại “Xuất sắc”" in page
    rows = {u.unit.code: u for u in block.ranked}
    for unit in rows.values():  # each unit's row: rank, name, every area's index, then the index
        cells = " ".join(num(a.index, "vi") for a in unit.areas)
        assert f"{unit.rank} {unit.unit.name.replace('Ủy ban nhân dân', 'UBND')} {cells} {num(unit.index, 'vi')}" \
            in page
    averages = block.area_averages()
    assert "Bình quân khối " + " ".join(num(averages[c], "vi") for c in "123") + f" {num(block.average_index, 'vi')}" \
        in page
    # The shaded cells are exactly the area indices under 55 %.
    (table,) = [f for f in _area_comparison(block, "vi", _Styles()) if hasattr(f, "_cellvalues")]
    shaded = {(column, row) for column, row in ((c[1][0], c[1][1]) for c in table._bkgrndcmds if c[3] == BELOW)}
    expected = {(2 + i, r) for r, unit in enumerate(block.ranked, start=1) for i, a in enumerate(unit.areas)
                if a.maximum > 0 and a.points / a.maximum * 100 < 55}
    assert shaded == expected and expected
    # The Word annex holds the same table with the same cells shaded.
    results_docx([block], tmp_path / "a.docx", HEADING)
    table = docx.Document(tmp_path / "a.docx").tables[1]
    assert [c.text for c in table.rows[-1].cells][1:] == ["Bình quân khối"] + [num(averages[c], "vi") for c in "123"] \
        + [num(block.average_index, "vi")]
    filled = {(c, r) for r, row in enumerate(table.rows) for c, cell in enumerate(row.cells)
              if cell._tc.xpath("./w:tcPr/w:shd[@w:fill='F4C7C3']")}
    assert filled == expected


def test_units_left_out_read_as_such_not_as_zero_scores(tmp_path):
    units = [UnitRef("A", "Xã A", "xa"), UnitRef("E", "Xã Chưa chấm", "xa")]
    block = compute_block(make_criteria(), "Xã", units, {"A": marks_for(1)}, BANDS, with_items=True)
    results_docx([block], tmp_path / "a.docx", HEADING)
    rows = {row.cells[1].text: [c.text for c in row.cells] for row in docx.Document(tmp_path / "a.docx").tables[0].rows}
    # An unscored unit read "0,00 … 0,00 Không xếp hạng": a zero score next to the note that it has none.
    maximum = num(block.excluded[0].maximum, "vi")
    assert rows["Xã Chưa chấm"] == ["—", "Xã Chưa chấm", maximum, "—", "—", "Không xếp hạng: chưa có điểm"]
    assert rows["Xã A"][0] == "1" and rows["Xã A"][3:5] == [num(block.ranked[0].total, "vi"),
                                                          num(block.ranked[0].index, "vi")]
    assert f"— Xã Chưa chấm {maximum} — — Không xếp hạng: chưa có điểm" in flat(texts(report([block])[0])[1])
