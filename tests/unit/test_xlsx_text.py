"""User text in every workbook parbot writes stays text: no formula, no control character that breaks the file."""
from __future__ import annotations

import io
from decimal import Decimal as D

import openpyxl
from hypothesis import given, settings, strategies as st

from parbot.core.results import ItemMarks, UnitRef, compute_block
from parbot.reports.xlsx import results_xlsx
from test_charts import BANDS, make_block, make_criteria, marks_for

HOSTILE = ["=HYPERLINK(\"http://x.example\",\"bấm\")", "+1+1", "-2+3", "@SUM(A1)", "Xã\x00 An\x1b Phú\x07"]


def reopen(blocks) -> openpyxl.Workbook:
    buffer = io.BytesIO()
    results_xlsx(blocks, buffer)
    buffer.seek(0)
    return openpyxl.load_workbook(buffer)


def test_unit_names_and_reasons_are_text_cells():
    units = [UnitRef(f"X{i:03d}", name, "xa") for i, name in enumerate(HOSTILE)]
    marks = {u.code: {**marks_for(i), "2.1": ItemMarks(self=D(5), reason=HOSTILE[i])} for i, u in enumerate(units)}
    block = compute_block(make_criteria(), "Xã", units, marks, BANDS, with_items=True)
    names = {u.code: u.name for u in units}
    wb = reopen([block])
    ranking = wb[block.block_name]
    written = {row[1].value: row[2] for row in ranking.iter_rows(min_row=3, max_row=7)}
    for code, cell in written.items():
        assert cell.data_type == "s" and cell.value == names[code].replace("\x00", "").replace("\x1b", "") \
            .replace("\x07", "")
    assert written["X000"].value.startswith("=HYPERLINK") and written["X000"].quotePrefix
    assert written["X004"].value == "Xã An Phú"
    reasons = [c for ws in wb.worksheets[1:] for row in ws.iter_rows() for c in row
               if isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@"))]
    assert reasons and all(c.data_type == "s" and c.quotePrefix for c in reasons)


@settings(max_examples=30, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_any_unit_name_writes_a_readable_workbook(name):
    block = make_block(1, name=name.replace("{", "(").replace("}", ")"), with_items=False)
    cell = reopen([block])[block.block_name].cell(3, 3)
    assert cell.data_type == "s" or cell.value is None


def test_the_council_workbook_keeps_explanations_as_text(tmp_path):
    from types import SimpleNamespace

    from parbot.cli.appraisal_cmds import write_workbook
    from parbot.core.services.appraisal import EXPORT_COLUMNS

    row = dict.fromkeys(EXPORT_COLUMNS, "")
    row.update(unit="SNV", item="1.1", max=2, explanation=HOSTILE[0], reason="Thiếu\x1b[31m báo cáo\x00",
               evidence="@tệp.pdf")
    write_workbook(2020, [(SimpleNamespace(code="SNV"), [row])], tmp_path / "council.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "council.xlsx")["SNV"]
    cells = dict(zip([c.value for c in sheet[1]], sheet[2]))
    assert cells["explanation"].value == HOSTILE[0] and cells["explanation"].data_type == "s"
    assert cells["explanation"].quotePrefix and cells["evidence"].quotePrefix
    assert cells["reason"].value == "Thiếu[31m báo cáo"
    assert cells["max"].value == 2 and not cells["max"].quotePrefix
