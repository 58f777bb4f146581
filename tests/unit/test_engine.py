"""The index engine: totals, maxima, indices, ranks, classes, averages; and properties that must always hold."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from parbot.core.criteria import parse_criteria_set
from parbot.core.decimals import percent, round_half_up
from parbot.core.results import NA, Band, ItemMarks, Ranking, UnitRef, compute_block

SET = """
format: parbot/criteria-set@1
code: ENGINE
year: 2020
title: Engine test
blocks: [{code: so, name: Sở}]
areas:
  - code: "1"
    name: Chỉ đạo
    criteria:
      - {code: "1.1", name: a, max: 4, not_applicable: true, rule: {kind: points}}
      - {code: "1.2", name: b, max: 6, rule: {kind: points}}
  - code: "8"
    name: Tác động
    criteria:
      - {code: "8.1", name: s, max: 10, rule: {kind: survey}}
bonus:
  code: T
  name: Điểm thưởng
  cap: 1.5
  items:
    - {code: T.1, name: sáng kiến, max: 1, rule: {kind: yes_no}}
    - {code: T.2, name: giải thưởng, max: 1, rule: {kind: yes_no}}
deduction:
  code: D
  name: Điểm trừ
  cap: 2
  items:
    - {code: D.1, name: vi phạm, max: 3, rule: {kind: per_occurrence, per: 1, mode: add}}
"""
CRITERIA = parse_criteria_set(SET)[0].for_block("so")
BANDS = (Band("Xuất sắc", Decimal(90)), Band("Tốt", Decimal(80)), Band("Khá", Decimal(70)), Band("Trung bình", Decimal(0)))
D = Decimal


def block(marks: dict, tie_rule="competition", with_items=False):
    units = [UnitRef(code, f"Đơn vị {code}", "so") for code in marks]
    return compute_block(CRITERIA, "Sở", units, marks, BANDS, tie_rule, with_items)


def test_appraised_points_replace_self_points_and_survey_adds():
    result = block({"A": {"1.1": ItemMarks(self=D(4), appraised=D(3)), "1.2": ItemMarks(self=D(6)),
                          "8.1": ItemMarks(survey=D("8.75"))}}).units[0]
    assert (result.assessed, result.survey, result.total, result.maximum) == (D(9), D("8.75"), D("17.75"), D(20))
    assert result.index == D("88.75") and result.classification == "Tốt"
    assert result.self_total == D("18.75")
    assert [a.points for a in result.areas] == [D(9), D("8.75")]


def test_not_applicable_leaves_the_maximum_and_appraisal_can_restore_it():
    na = block({"A": {"1.1": ItemMarks(self=NA), "1.2": ItemMarks(self=D(6)), "8.1": ItemMarks(survey=D(10))}}).units[0]
    assert (na.maximum, na.index) == (D(16), D(100))
    overruled = block({"A": {"1.1": ItemMarks(self=NA, appraised=D(0)), "1.2": ItemMarks(self=D(6)),
                             "8.1": ItemMarks(survey=D(10))}}).units[0]
    assert (overruled.maximum, overruled.index) == (D(20), D(80))


def test_bonus_and_deduction_are_capped_and_do_not_count_in_the_maximum():
    result = block({"A": {"1.2": ItemMarks(self=D(6)), "T.1": ItemMarks(self=D(1)), "T.2": ItemMarks(self=D(1)),
                          "D.1": ItemMarks(self=D(3))}}).units[0]
    assert (result.bonus, result.deduction, result.maximum) == (D("1.5"), D(2), D(20))
    assert result.total == D("5.5")


def test_missing_scores_count_as_zero_and_are_reported():
    result = block({"A": {"1.2": ItemMarks(self=D(6))}}).units[0]
    assert (result.total, result.maximum, result.missing_self, result.missing_appraisal, result.missing_survey) == \
        (D(6), D(20), 1, 2, 1)


def test_ties_competition_and_dense():
    marks = {code: {"1.2": ItemMarks(appraised=D(points))} for code, points in
             [("A", 6), ("B", 5), ("C", 5), ("D", 4)]}
    assert [u.rank for u in block(marks, "competition").units] == [1, 2, 2, 4]
    assert [u.rank for u in block(marks, "dense").units] == [1, 2, 2, 3]


def test_ties_compare_the_unrounded_index_unless_the_period_names_a_precision():
    # 6.001/20 and 6.002/20 both show 30.01%: distinct ranks on the unrounded index, one rank at 2 decimals.
    marks = {"A": {"1.2": ItemMarks(appraised=D("6.001"))}, "B": {"1.2": ItemMarks(appraised=D("6.002"))}}
    result = block(marks)
    assert [(u.unit.code, u.index, u.rank) for u in result.units] == [("B", D("30.01"), 1), ("A", D("30.01"), 2)]
    units = [UnitRef(code, f"Đơn vị {code}", "so") for code in marks]
    rounded = compute_block(CRITERIA, "Sở", units, marks, BANDS, ranking=Ranking(precision=2))
    assert [u.rank for u in rounded.units] == [1, 1]


def test_item_detail_shows_lost_points_with_reasons():
    result = block({"A": {"1.2": ItemMarks(self=D(6), appraised=D(4), reason="Thiếu báo cáo quý")}},
                   with_items=True).units[0]
    item = next(i for i in result.items if i.code == "1.2")
    assert (item.lost, item.reason, item.self_points) == (D(2), "Thiếu báo cáo quý", D(6))


def test_index_rounds_half_up():
    assert percent(D("2.00125"), D(2)) == D("100.06")  # 100.0625 → 100.06
    assert percent(D(1), D(8)) == D("12.50")
    assert round_half_up(D("78.385")) == D("78.39")  # half-up, not banker's rounding


def test_empty_block_and_zero_maximum():
    assert block({}).units == () and block({}).average_index == D(0)
    only_na = compute_block(CRITERIA, "Sở", [UnitRef("A", "A", "so")],
                            {"A": {"1.1": ItemMarks(self=NA)}}, BANDS).units[0]
    assert only_na.index == D("0.00")


points = st.decimals(min_value=0, max_value=6, places=2)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(points, st.decimals(min_value=0, max_value=10, places=2), st.booleans()),
                min_size=1, max_size=25),
       st.sampled_from(["competition", "dense"]))
def test_ranks_are_consistent_with_indices(rows, tie_rule):
    marks = {f"U{i:02d}": {"1.1": ItemMarks(self=NA if na else D(1)), "1.2": ItemMarks(appraised=p),
                           "8.1": ItemMarks(survey=s)} for i, (p, s, na) in enumerate(rows)}
    result = block(marks, tie_rule)
    units = result.units
    assert sorted(u.rank for u in units)[0] == 1
    for a, b in zip(units, units[1:]):
        assert a.index >= b.index
        assert (a.rank == b.rank) == (a.index == b.index)
        assert a.rank <= b.rank
    for u in units:
        assert D(0) <= u.index <= D(100)
        assert u.total <= u.maximum
        higher = sum(1 for v in units if v.index > u.index)
        distinct_higher = len({v.index for v in units if v.index > u.index})
        assert u.rank == (higher + 1 if tie_rule == "competition" else distinct_higher + 1)
    mean = sum(u.index for u in units) / len(units)
    assert result.average_index == round_half_up(mean)
