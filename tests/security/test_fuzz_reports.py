"""User text that reaches the results workbook, the PDF report and the charts: unit names and appraisal reasons
with control characters, mathtext (`$\\foo$`), spreadsheet formulas and 5,000 characters. Every output is
made, and the workbook keeps the text as text cells (never a live formula)."""
from __future__ import annotations

import io
import string
from decimal import Decimal as D

import openpyxl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from parbot.core.criteria import parse_criteria_set
from parbot.core.results import Band, ItemMarks, UnitRef, compute_block
from parbot.reports.charts import ranking_pngs, unit_summary_png
from parbot.reports.pdf import results_report_pdf
from parbot.reports.xlsx import results_xlsx

CRITERIA = """
format: parbot/criteria-set@1
code: fuzz
year: 2024
title: Bộ tiêu chí thử nghiệm
blocks: [{code: xa, name: "Ủy ban nhân dân cấp xã"}]
areas:
  - code: "1"
    name: Công tác chỉ đạo, điều hành cải cách hành chính
    criteria:
      - {code: "1.1", name: Kế hoạch cải cách hành chính năm, max: 4, rule: {kind: points}}
      - {code: "1.2", name: Báo cáo định kỳ, max: 6, rule: {kind: points}}
"""
BANDS = (Band("Tốt", D(90)), Band("Khá", D(80)), Band("Yếu", D(0)))
ATTACKS = ["=HYPERLINK(\"http://evil.example\",\"Bấm vào đây\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
           r"$\foo$", r"$\frac{1}{0}$ \x", "$$", "Sở\x00Nội\x1bvụ\x07", "\x1b[31mđỏ\x1b[0m", "\ud7ff\ufffe\uffff",
           "Ủy ban " * 715, "\u202eĐảo chiều", "\t\r\n"]
# Any text: control and format characters, mathtext and formula prefixes, up to 5,000 characters.
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from("=+-@$\\{}^_\x00\x1b"),
               max_size=5000)


def block_with(name: str, reason: str):
    criteria, problems = parse_criteria_set(CRITERIA)
    assert problems == []
    units = [UnitRef("X001", name, "xa"), UnitRef("X002", "Xã Phước Vĩnh", "xa")]
    marks = {"X001": {"1.1": ItemMarks(self=D(4), appraised=D(1), reason=reason), "1.2": ItemMarks(self=D(6))},
             "X002": {"1.1": ItemMarks(self=D(3)), "1.2": ItemMarks(self=D(5))}}
    return compute_block(criteria.for_block("xa"), "Ủy ban nhân dân cấp xã", units, marks, BANDS, with_items=True)


def user_text_cells(workbook: openpyxl.Workbook, *texts: str) -> list:
    """The cells where the workbook put the user's text (the first 30 characters found in the cell)."""
    probes = [t[:30] for t in texts if t.strip(string.whitespace)]
    return [cell for ws in workbook.worksheets for row in ws.iter_rows() for cell in row
            if isinstance(cell.value, str) and any(p and p in cell.value for p in probes)]


def workbook_of(name: str, reason: str) -> openpyxl.Workbook:
    buffer = io.BytesIO()
    results_xlsx([block_with(name, reason)], buffer)
    return openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))


def formulas(workbook: openpyxl.Workbook) -> list[str]:
    return [f"{ws.title}!{c.coordinate}={c.value!r}" for ws in workbook.worksheets for row in ws.iter_rows()
            for c in row if c.data_type == "f"]


def draw_everything(name: str, reason: str) -> None:
    block = block_with(name, reason)
    buffer = io.BytesIO()
    assert results_report_pdf([block], buffer, "Báo cáo kết quả") > 0
    assert buffer.getvalue().startswith(b"%PDF")
    assert unit_summary_png(block.units[0], block).startswith(b"\x89PNG")
    assert all(page.startswith(b"\x89PNG") for page in ranking_pngs(block))


# Text as people type it: any letters, digits, punctuation and spaces (no control characters, no mathtext
# dollars, no formula prefix), up to 5,000 characters.
PLAIN = st.text(st.characters(codec="utf-8", categories=["L", "M", "N", "P", "Zs"], exclude_characters="$"),
                max_size=5000).filter(lambda t: not t.startswith(("=", "+", "-", "@")))
SLOW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Drawing a report takes a second or more: fewer random cases, shorter (the 5,000 characters are an example).
DRAWN = settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SHORT = st.text(st.characters(codec="utf-8", categories=["L", "M", "N", "P", "Zs"], exclude_characters="$"),
                max_size=300)


@SLOW
@given(name=PLAIN, reason=PLAIN)
@example(name=ATTACKS[10], reason=ATTACKS[10])
@example(name=ATTACKS[11], reason=ATTACKS[11])
def test_workbook_keeps_long_and_any_script_text(name, reason):
    workbook = workbook_of(name, reason)
    assert formulas(workbook) == []
    assert user_text_cells(workbook, name, reason) or not (name.strip() or reason.strip())


@DRAWN
@given(name=SHORT, reason=SHORT)
@example(name=ATTACKS[11], reason=ATTACKS[11])
def test_pdf_report_and_charts_take_any_script_text(name, reason):
    draw_everything(name, reason)


def test_pdf_report_and_charts_take_long_text():
    draw_everything(ATTACKS[10], ATTACKS[10])


@settings(max_examples=5, deadline=None)
@given(name=st.sampled_from(ATTACKS[:4] + ["=1+1"]), reason=st.sampled_from(ATTACKS[:4]))
def test_workbook_never_holds_user_text_as_a_formula(name, reason):
    assert formulas(workbook_of(name, reason)) == []


@settings(max_examples=5, deadline=None)
@given(name=st.text(st.characters(categories=["Cc"]), min_size=1, max_size=50).map(lambda t: "Sở " + t),
       reason=TEXT)
@example(name=ATTACKS[7], reason=ATTACKS[8])
def test_workbook_takes_control_characters(name, reason):
    workbook_of(name, reason)


def test_workbook_with_noncharacters_opens():
    workbook_of(ATTACKS[9], "Lý do \uffff")


@DRAWN
@given(name=TEXT, reason=TEXT)
@example(name=r"$\foo$ Xã", reason=r"$\foo$")
@example(name=ATTACKS[7], reason=ATTACKS[5])
def test_pdf_report_and_charts_draw_user_text_plainly(name, reason):
    draw_everything(name, reason)
