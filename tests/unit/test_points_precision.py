"""Points at the precision the criteria set declares (Thừa Thiên Huế publishes 97.685), rounded half-up
everywhere, with rows whose shown total is the sum of their shown parts."""
from __future__ import annotations

import csv
import io
import json
from decimal import Decimal as D

from matplotlib.figure import Figure

from parbot.core.criteria import parse_criteria_set
from parbot.core.decimals import num
from parbot.core.results import ItemMarks, UnitRef, compute_block, ranking_table
from parbot.core.services.scores import check_points

SET = """
format: parbot/criteria-set@1
code: TTH
year: 2024
title: Thừa Thiên Huế (thử)
points_decimals: 3
blocks: [{code: so, name: Sở}]
areas:
  - code: "1"
    name: Chỉ đạo
    criteria:
      - {code: "1.1", name: a, max: 60, rule: {kind: points, step: 0.005}}
  - code: "2"
    name: Thủ tục
    criteria:
      - {code: "2.1", name: b, max: 40, rule: {kind: points, step: 0.005}}
"""


def criteria(text: str = SET):
    parsed, problems = parse_criteria_set(text)
    assert not problems, problems
    return parsed.for_block("so")


def block_of(crit, marks: dict):
    units = [UnitRef(code, f"Sở {code}", "so") for code in marks]
    return compute_block(crit, "Sở", units, marks)


def test_three_decimal_points_are_shown_at_three_and_the_index_half_up():
    crit = criteria()
    assert crit.points_decimals == 3
    block = block_of(crit, {"A": {"1.1": ItemMarks(appraised=D("58.345")), "2.1": ItemMarks(appraised=D("39.34"))}})
    header, (row,) = ranking_table(block, crit)
    got = dict(zip(header, row))
    # 97.685 % rounds up to 97.69; the total keeps its 3 decimals (it was shown 97.68, half-even).
    assert (str(got["area_1"]), str(got["area_2"]), str(got["total"])) == ("58.345", "39.340", "97.685")
    assert str(got["index_pct"]) == "97.69" and str(got["maximum"]) == "100.000"
    assert got["area_1"] + got["area_2"] + got["survey"] == got["total"]


def test_the_default_is_two_decimals_and_the_cli_renders_half_up(cli, tmp_path):
    assert criteria(SET.replace("points_decimals: 3\n", "").replace("0.005", "0.01")).points_decimals == 2
    (tmp_path / "tth.yaml").write_text(SET, encoding="utf-8")
    (tmp_path / "period.yaml").write_text(
        "year: 2024\ncriteria: {so: tth.yaml}\n"
        "deadlines: {self_assessment_opens: 2024-01-05T08:00:00+07:00,"
        " self_assessment_closes: 2024-02-01T17:00:00+07:00}\n", encoding="utf-8")
    assert cli("period", "create", tmp_path / "period.yaml")[0] == 0
    (tmp_path / "u.csv").write_text("code,name,block\nA,Sở A,so\n", encoding="utf-8")
    (tmp_path / "s.csv").write_text("unit,item,source,points\nA,1.1,appraised,\"58,345\"\nA,2.1,appraised,39.34\n",
                                    encoding="utf-8")
    assert cli("units", "import", tmp_path / "u.csv")[0] == 0
    code, _, err = cli("scores", "import", tmp_path / "s.csv", "--period", 2024)
    assert code == 0, err
    (unit,) = json.loads(cli("results", "--period", 2024, "--format", "json")[1])["blocks"][0]["units"]
    assert (unit["total"], unit["index_pct"], unit["area_1"]) == ("97.685", "97.69", "58.345")
    rows = list(csv.DictReader(io.StringIO(cli("results", "--period", 2024, "--format", "csv")[1])))
    assert (rows[0]["total"], rows[0]["index_pct"]) == ("97.685", "97.69")


def test_a_set_declares_two_or_three_decimals():
    parsed, problems = parse_criteria_set(SET.replace("points_decimals: 3", "points_decimals: 4"))
    assert parsed is None and [p.path for p in problems] == ["points_decimals"], problems


def test_a_proportional_rule_finer_than_the_set_is_refused():
    rule = "{kind: proportional, numerator: n, denominator: d, zero_denominator: zero, decimals: 4}"
    parsed, problems = parse_criteria_set(SET.replace("{kind: points, step: 0.005}}\n  - code: \"2\"",
                                                      rule + "}\n  - code: \"2\"", 1))
    assert parsed is None
    assert [(p.path, p.message) for p in problems] == [(
        "areas[0].criteria[0].rule.decimals",
        "more decimals than the set's points_decimals (3); shown totals would not add up")]


def test_a_choice_finer_than_the_set_is_refused():
    text = SET.replace("points_decimals: 3\n", "").replace(
        "{kind: points, step: 0.005}}\n  - code: \"2\"",
        "{kind: choice, options: [{code: a, label: A, points: 0.125}, {code: b, label: B, points: 0}]}}\n"
        "  - code: \"2\"").replace("step: 0.005", "step: 0.01")
    parsed, problems = parse_criteria_set(text)
    assert parsed is None
    assert any("0.125 points, more decimals than the set's points_decimals (2)" in p.message for p in problems)


def test_imported_points_finer_than_the_set_are_refused():
    two = criteria(SET.replace("points_decimals: 3\n", "").replace("step: 0.005", "step: 0.001"))
    item = two.items["1.1"]
    assert check_points(item, "appraised", "58.345", "so", two.points_decimals)[2] == \
        "points 58.345 have more than 2 decimals, the criteria set's points_decimals"
    assert check_points(item, "appraised", "58.34", "so", two.points_decimals)[0] == D("58.34")
    three = criteria()
    assert check_points(three.items["1.1"], "appraised", "58,345", "so", three.points_decimals)[0] == D("58.345")


def test_charts_show_points_at_the_sets_precision():
    assert num(D("97.685"), "vi", False, 3) == "97,685" and num(D("97.685"), "vi") == "97,69"
    from parbot.reports.charts import draw_unit_summary

    crit = criteria()
    block = block_of(crit, {"A": {"1.1": ItemMarks(appraised=D("58.345")), "2.1": ItemMarks(appraised=D("39.34"))}})
    fig = Figure(figsize=(8, 4))
    draw_unit_summary(fig, block.units[0], block, None, "vi")
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    assert any("97,685/100" in text for text in texts), texts
    assert any("58,345/60" in text for text in texts), texts


def test_the_documented_option_validates():
    import re
    from pathlib import Path

    import yaml

    doc = (Path(__file__).resolve().parents[2] / "docs" / "criteria-format.md").read_text(encoding="utf-8")
    (snippet,) = [b for b in re.findall(r"```yaml\n(.*?)```", doc, flags=re.S) if "points_decimals:" in b]
    option = yaml.safe_load(snippet)
    assert criteria(SET.replace("points_decimals: 3", f"points_decimals: {option['points_decimals']}")) \
        .points_decimals == 3


def test_the_chat_result_shows_points_at_the_sets_precision():
    from parbot.bot.report_replies import lost_text, result_caption
    from parbot.core.services.reporting import UnitView

    crit = criteria()
    block = compute_block(crit, "Sở", [UnitRef("A", "Sở A", "so")],
                          {"A": {"1.1": ItemMarks(appraised=D("58.345")), "2.1": ItemMarks(appraised=D("39.34"))}},
                          with_items=True)
    view = UnitView(block=block, unit=block.units[0], key="k")
    assert "97,685/100" in result_caption(view, "vi")
    assert any("58,345" in line and "1,655" in line for line in lost_text(view, "vi", 4096))


def test_the_workbook_formats_points_at_the_sets_precision_and_the_index_at_two():
    import openpyxl

    from parbot.reports.xlsx import results_xlsx

    block = block_of(criteria(), {"A": {"1.1": ItemMarks(appraised=D("58.345")),
                                        "2.1": ItemMarks(appraised=D("39.34"))}})
    buffer = io.BytesIO()
    results_xlsx([block], buffer)
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).worksheets[0]
    header = [c.value for c in sheet[2]]
    row = sheet[3]
    total, index = row[header.index("Tổng điểm")], row[header.index("Chỉ số (%)")]
    assert (total.value, total.number_format) == (97.685, "0.000")
    assert index.number_format == "0.00"
