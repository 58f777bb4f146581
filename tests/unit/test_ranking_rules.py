"""Ranking and classification as provinces do it: unrounded index, tie-breakers, exclusive edges, area
conditions, excluded units; and the period options that configure them."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from parbot.core.criteria import parse_criteria_set
from parbot.core.period import parse_period
from parbot.core.results import (EXCLUDED_NO_MAXIMUM, EXCLUDED_UNSCORED, NA, Band, ItemMarks, Ranking, UnitRef,
                                 compute_block)

SET = """
format: parbot/criteria-set@1
code: RANK
year: 2025
title: Ranking test
blocks: [{code: so, name: Sở}]
areas:
  - code: "1"
    name: Chỉ đạo
    criteria:
      - {code: "1.1", name: a, max: 40, not_applicable: true, rule: {kind: points}}
  - code: "2"
    name: Thủ tục
    criteria:
      - {code: "2.1", name: b, max: 60, not_applicable: true, rule: {kind: points}}
"""
CRITERIA = parse_criteria_set(SET)[0].for_block("so")


def run(marks: dict, bands=(), ranking=Ranking(), year=None):
    units = [UnitRef(code, f"Đơn vị {code}", "so") for code in marks]
    return compute_block(CRITERIA, "Sở", units, marks, tuple(bands), "competition", ranking=ranking, year=year)


def m(a, b):
    return {"1.1": ItemMarks(appraised=D(a)), "2.1": ItemMarks(appraised=D(b))}


def test_equal_two_decimal_indices_rank_apart_on_the_unrounded_index():
    # Thanh Hóa 2024: two units shown at 90.02 % with distinct ranks.
    result = run({"A": m("36", "54.0200"), "B": m("36", "54.0240")})  # 90.0200 % and 90.0240 %
    a, b = (next(u for u in result.units if u.unit.code == c) for c in "AB")
    assert a.index == b.index == D("90.02")
    assert (b.rank, a.rank) == (1, 2)
    # A province that ranks on the rounded index gets the tie back.
    tied = run({"A": m("36", "54.0200"), "B": m("36", "54.0240")}, ranking=Ranking(precision=2))
    assert [u.rank for u in tied.units] == [1, 1]


def test_tie_breakers_apply_in_order():
    # Equal indices (both 80 of 100); area 2 decides, then the total would.
    marks = {"A": m("40", "40"), "B": m("20", "60")}
    by_area = run(marks, ranking=Ranking(precision=2, tie_breakers=("area:2",)))
    assert [(u.unit.code, u.rank) for u in by_area.units] == [("B", 1), ("A", 2)]
    by_area_1 = run(marks, ranking=Ranking(tie_breakers=("total", "area:1")))
    assert [(u.unit.code, u.rank) for u in by_area_1.units] == [("A", 1), ("B", 2)]


def test_a_raw_79_995_is_not_classed_80():
    bands = (Band("Tốt", D(80)), Band("Khá", D(0)))
    result = run({"A": m("31.998", "48")}, bands)  # 79.998 / 100 → shown 80.00
    (unit,) = result.units
    assert unit.index == D("80.00") and unit.classification == "Khá"
    assert run({"A": m("32", "48")}, bands).units[0].classification == "Tốt"


def test_an_exclusive_edge_and_a_condition_on_every_area():
    bands = (Band("Xuất sắc", D(90), min_area_index=D(80)), Band("Tốt", D(80), exclusive=True),
             Band("Khá", D(0)))
    result = run({"A": m("31", "60"), "B": m("40", "50"), "C": m("32", "48")}, bands)
    got = {u.unit.code: u.classification for u in result.units}
    # A: 91 % but area 1 at 77.5 % → not the top class; C: exactly 80 % is not "trên 80 %".
    assert got == {"A": "Tốt", "B": "Xuất sắc", "C": "Khá"}


def test_units_with_no_maximum_or_no_score_are_left_out_with_a_note():
    marks = {"A": m("36", "54"), "B": {"1.1": ItemMarks(self=D(0)), "2.1": ItemMarks(self=D(30))},
             "NA": {"1.1": ItemMarks(self=NA),
                    "2.1": ItemMarks(self=NA)},
             "EMPTY": {}}
    result = run(marks, (Band("Tốt", D(80)), Band("Yếu", D(0))))
    ranked = [(u.unit.code, u.rank, u.classification) for u in result.ranked]
    assert ranked == [("A", 1, "Tốt"), ("B", 2, "Yếu")] and all(u.rank_of == 2 for u in result.ranked)
    assert {u.unit.code: (u.excluded, u.rank, u.classification) for u in result.excluded} == {
        "NA": (EXCLUDED_NO_MAXIMUM, 0, None), "EMPTY": (EXCLUDED_UNSCORED, 0, None)}
    assert result.average_index == D("60.00")  # (90 + 30) / 2: the excluded units are not in the mean
    assert result.area_averages() == {"1": D("45.00"), "2": D("70.00")}


def test_captions_carry_the_period_year_not_the_criteria_sets():
    assert run({"A": m("1", "1")}).year == 2025
    assert run({"A": m("1", "1")}, year=2026).year == 2026


PERIOD = """
year: 2026
criteria: {so: 2025.yaml}
deadlines: {self_assessment_opens: 2026-01-05T08:00:00+07:00, self_assessment_closes: 2026-02-01T17:00:00+07:00}
bands:
  so:
    - {label: Xuất sắc, min_index: 90, min_area_index: 80}
    - {label: Tốt, above: 80}
    - {label: Khá, min_index: 0}
ranking: {precision: 3, tie_breakers: [total, "area:3"]}
"""


def test_the_period_file_carries_the_options():
    config, problems = parse_period(PERIOD)
    assert not problems, problems
    bands = config.bands_for("so")
    assert bands[0] == Band("Xuất sắc", D(90), False, D(80)) and bands[1] == Band("Tốt", D(80), True)
    assert config.ranking_rule() == Ranking(precision=3, tie_breakers=("total", "area:3"))
    assert parse_period(PERIOD.replace("ranking: {precision: 3, tie_breakers: [total, \"area:3\"]}", ""))[0] \
        .ranking_rule() == Ranking()


@pytest.mark.parametrize("change, where", [
    ("{label: Tốt, above: 80}", "{label: Tốt, above: 80, min_index: 80}"),
    ("{label: Tốt, above: 80}", "{label: Tốt}"),
    ("tie_breakers: [total", "tie_breakers: [points"),
    ("precision: 3", "precision: 5"),
])
def test_bad_options_are_refused_with_their_place(change, where):
    config, problems = parse_period(PERIOD.replace(change, where))
    assert config is None and problems
    assert any("bands" in p.path or "ranking" in p.path for p in problems)


CHOICE_SET = """
format: parbot/criteria-set@1
code: CHOICE
year: 2025
title: Choice test
blocks: [{code: so, name: Sở}]
areas:
  - code: "1"
    name: Chỉ đạo
    criteria:
      - code: "1.1"
        name: Ban hành kế hoạch
        max: 1
        rule: {kind: choice, options: [{code: d, label: Kịp thời, points: 1}, {code: m, label: Muộn, points: 0.5},
                                       {code: k, label: Không ban hành, points: 0}]}
      - {code: "1.2", name: Chấm, max: 3, rule: {kind: points, step: 0.25}}
"""


@pytest.mark.parametrize("item, text, problem", [
    ("1.1", "0.75", "points 0.75 cannot come from item 1.1's rule; allowed: 0, 0.5, 1"),
    ("1.2", "2.6", "points 2.6 are not a multiple of item 1.2's step 0.25"),
    ("1.1", "0,5", None),
    ("1.2", "2.75", None),
])
def test_imported_points_must_be_ones_the_rule_can_give(item, text, problem):
    from parbot.core.services.scores import check_points

    criteria = parse_criteria_set(CHOICE_SET)[0].for_block("so")
    points, _, found = check_points(criteria.items[item], "appraised", text, "so")
    assert found is None if problem is None else found.startswith(problem), found
    assert (points is None) == (problem is not None)


def test_the_workbook_lists_excluded_units_apart_with_the_reason():
    import io

    import openpyxl

    from parbot.reports.xlsx import results_xlsx

    block = run({"A": m("36", "54"), "NA": {"1.1": ItemMarks(self=NA), "2.1": ItemMarks(self=NA)}, "EMPTY": {}},
                (Band("Tốt", D(80)), Band("Yếu", D(0))))
    buffer = io.BytesIO()
    results_xlsx([block], buffer)
    rows = [[c.value for c in row] for row in openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
            .iter_rows(min_row=3, max_row=5)]
    assert [(r[0], r[1], r[-1]) for r in rows] == [
        (1, "A", "Tốt"), (None, "EMPTY", "Không xếp hạng: chưa có điểm"),
        (None, "NA", "Không xếp hạng: mọi tiêu chí không áp dụng")]
    # Total, maximum and index: no index for either, and no total for the unscored one (it read 0 and 0.00).
    assert [r[-4:-1] for r in rows] == [[90, 100, 90], [None, 100, None], [0, 0, None]]


def test_the_documented_period_options_validate():
    import re
    from pathlib import Path

    import yaml

    doc = (Path(__file__).resolve().parents[2] / "docs" / "criteria-format.md").read_text(encoding="utf-8")
    (snippet,) = [b for b in re.findall(r"```yaml\n(.*?)```", doc, flags=re.S) if b.startswith("bands:")]
    base = yaml.safe_load(PERIOD)
    base.update(yaml.safe_load(snippet))
    config, problems = parse_period(yaml.safe_dump(base, allow_unicode=True))
    assert not problems, problems
    assert config.bands_for("so")[1] == Band("Tốt", D(80), exclusive=True)
    assert config.ranking_rule() == Ranking(precision=3, tie_breakers=("total", "area:3"))


def test_the_results_table_names_why_a_unit_is_left_out():
    from parbot.core.results import ranking_table

    block = run({"A": m("36", "54"), "EMPTY": {}})
    header, rows = ranking_table(block, CRITERIA)
    assert header[-1] == "excluded"
    assert [(r[0], r[1], r[-1]) for r in rows] == [(1, "A", ""), ("", "EMPTY", EXCLUDED_UNSCORED)]
    assert "excluded" not in ranking_table(run({"A": m("36", "54")}), CRITERIA)[0]


def test_period_show_prints_exclusive_edges_area_conditions_and_the_ranking(cli, tmp_path):
    (tmp_path / "2025.yaml").write_text(SET.replace("year: 2025", "year: 2025\ntotal_max: 100"), encoding="utf-8")
    (tmp_path / "period.yaml").write_text(PERIOD.replace('"area:3"', '"area:2"'), encoding="utf-8")  # SET's area
    code, _, err = cli("period", "create", tmp_path / "period.yaml")
    assert code == 0, err
    out = cli("period", "show", "--period", 2026)[1]
    assert "xếp loại khối so: Xuất sắc ≥ 90% (mọi lĩnh vực ≥ 80%), Tốt > 80%, Khá ≥ 0%" in out
    assert "xếp hạng: theo chỉ số làm tròn 3 chữ số thập phân, rồi tổng điểm cao hơn, rồi chỉ số lĩnh vực 2 cao hơn" \
        in out
    out = cli("--lang", "en", "period", "show", "--period", 2026)[1]
    assert "grades of block so: Xuất sắc ≥ 90% (every area ≥ 80%), Tốt > 80%, Khá ≥ 0%" in out
    assert "ranking: by the index rounded to 3 decimals, then the higher total, then the higher index of area 2" in out



def test_a_tie_breaker_naming_an_area_the_set_lacks_is_refused(cli, tmp_path):
    (tmp_path / "2025.yaml").write_text(SET.replace("year: 2025", "year: 2025\ntotal_max: 100"), encoding="utf-8")
    (tmp_path / "period.yaml").write_text(PERIOD, encoding="utf-8")  # area:3, and the set has areas 1 and 2
    code, out, err = cli("period", "create", tmp_path / "period.yaml")
    assert code != 0
    assert "“area:3”: khối so (bộ tiêu chí RANK) không có lĩnh vực 3 (các lĩnh vực: 1, 2)" in out + err
    (tmp_path / "period.yaml").write_text(PERIOD.replace('"area:3"', '"area:2"'), encoding="utf-8")
    code, _, err = cli("period", "create", tmp_path / "period.yaml")
    assert code == 0, err


def test_the_areas_that_keep_a_unit_out_of_the_top_class_are_those_the_class_compares():
    bands = (Band("Xuất sắc", D(90), min_area_index=D(80)), Band("Khá", D(0)))
    marks = {"A": m("31.998", "60")}  # 91.998 %, area 1 at 79.995 %
    unrounded = run(marks, bands)
    assert unrounded.units[0].classification == "Khá" and unrounded.areas_below(unrounded.units[0]) == {"1"}
    at_two = run(marks, bands, ranking=Ranking(precision=2))  # 79.995 is 80.00 at 2 decimals: admitted
    assert at_two.units[0].classification == "Xuất sắc" and at_two.areas_below(at_two.units[0]) == set()
    assert run(marks, (Band("Khá", D(0)),)).areas_below(unrounded.units[0]) == set()  # no class sets a condition
