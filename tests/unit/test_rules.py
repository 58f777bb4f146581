"""Scoring rules: parsing officers' answers, scoring them, and the bounds every valid rule keeps."""
from __future__ import annotations

from decimal import Decimal

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from parbot.core.criteria import parse_criteria_set
from parbot.core.rules import AnswerError, Rule, parse_number

RULE = TypeAdapter(Rule)
D = Decimal


def rule(**spec):
    return RULE.validate_python(spec)


def score(r, raw, maximum="2", block="so"):
    return r.score(r.parse(raw), D(maximum), block)


def error_code(r, raw) -> str:
    with pytest.raises(AnswerError) as info:
        r.parse(raw)
    return info.value.code


# ---------------------------------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("raw, expected", [("12", "12"), ("12,5", "12.5"), ("12.5", "12.5"), (" 7 ", "7"),
                                           (3, "3"), (0.1, "0.1")])
def test_numbers_are_read_as_officers_type_them(raw, expected):
    assert parse_number(raw, integer=False, minimum=None, maximum=None) == D(expected)


@pytest.mark.parametrize("raw, kwargs, code", [
    ("abc", {}, "answer.not_a_number"),
    ("", {}, "answer.not_a_number"),
    (None, {}, "answer.not_a_number"),
    ("NaN", {}, "answer.not_a_number"),
    ("12,5", {"integer": True}, "answer.not_an_integer"),
    ("-1", {"minimum": D(0)}, "answer.below_minimum"),
    ("100,01", {"maximum": D(100)}, "answer.above_maximum"),
])
def test_bad_numbers_are_refused_with_a_code(raw, kwargs, code):
    args = {"integer": False, "minimum": None, "maximum": None, **kwargs}
    with pytest.raises(AnswerError) as info:
        parse_number(raw, **args)
    assert info.value.code == code


# ---------------------------------------------------------------------------------------------------- each kind


def test_yes_no_accepts_buttons_and_typed_words():
    r = rule(kind="yes_no")
    assert score(r, {"yes": True}) == D(2)  # yes defaults to the maximum
    assert score(r, {"yes": "có"}) == D(2)
    assert score(r, {"yes": "Không"}) == D(0)
    assert error_code(r, {"yes": "maybe"}) == "answer.pick_option"
    assert error_code(r, {}) == "answer.pick_option"


def test_yes_no_with_per_block_points():
    r = rule(kind="yes_no", yes={"huyen": 2, "xa": "1.5"}, no=0)
    assert score(r, {"yes": True}, block="xa") == D("1.5")
    assert score(r, {"yes": True}, block="huyen") == D(2)


def test_choice_scores_the_picked_option():
    r = rule(kind="choice", options=[{"code": "on_time", "label": "Kịp thời", "points": 1},
                                     {"code": "late", "label": "Không kịp thời", "points": "0,5"},
                                     {"code": "none", "label": "Không ban hành", "points": 0}])
    assert [score(r, {"option": c}) for c in ("on_time", "late", "none")] == [D(1), D("0.5"), D(0)]
    assert error_code(r, {"option": "soon"}) == "answer.pick_option"
    assert error_code(r, {}) == "answer.pick_option"


CAMAU_TIERS = [{"above": 90, "points": 2}, {"at_least": 70, "at_most": 90, "points": 1}, {"below": 70, "points": 0}]


@pytest.mark.parametrize("value, points", [("90", 1), ("90,01", 2), ("100", 2), ("70", 1), ("69,99", 0), ("0", 0)])
def test_tiers_on_a_number_respect_the_edges(value, points):
    r = rule(kind="tiers", unit="%", maximum=100, tiers=CAMAU_TIERS)
    assert score(r, {"value": value}) == D(points)


def test_tiers_on_a_number_refuse_values_outside_the_domain_and_non_integers():
    r = rule(kind="tiers", integer=True, minimum=1, maximum=10,
             tiers=[{"below": 5, "points": 0}, {"at_least": 5, "points": 1}])
    assert error_code(r, {"value": "0"}) == "answer.below_minimum"
    assert error_code(r, {"value": "11"}) == "answer.above_maximum"
    assert error_code(r, {"value": "5,5"}) == "answer.not_an_integer"
    assert score(r, {"value": "5"}) == D(1)


@pytest.mark.parametrize("numerator, denominator, points", [(9000, 10000, 1), (9001, 10000, 2), (7000, 10000, 1),
                                                            (6999, 10000, 0), (9, 10, 1), (10, 10, 2)])
def test_tiers_on_a_ratio_compute_the_percentage_from_counts(numerator, denominator, points):
    r = rule(kind="tiers", measure="ratio", zero_denominator="zero", tiers=CAMAU_TIERS)
    assert score(r, {"numerator": str(numerator), "denominator": str(denominator)}) == D(points)


@pytest.mark.parametrize("zero, expected", [("not_applicable", None), ("full", D(2)), ("zero", D(0))])
def test_a_zero_denominator_follows_the_rule(zero, expected):
    tiers = rule(kind="tiers", measure="ratio", zero_denominator=zero, tiers=CAMAU_TIERS)
    proportional = rule(kind="proportional", zero_denominator=zero)
    for r in (tiers, proportional):
        assert score(r, {"numerator": "0", "denominator": "0"}) == expected


@pytest.mark.parametrize("raw, code", [
    ({"numerator": "11", "denominator": "10"}, "answer.numerator_exceeds_denominator"),
    ({"numerator": "1,5", "denominator": "10"}, "answer.not_an_integer"),
    ({"numerator": "-1", "denominator": "10"}, "answer.below_minimum"),
    ({"numerator": "1"}, "answer.not_a_number"),
    ({"numerator": "một", "denominator": "10"}, "answer.not_a_number"),
])
def test_ratio_answers_are_checked(raw, code):
    for r in (rule(kind="proportional", zero_denominator="zero"),
              rule(kind="tiers", measure="ratio", zero_denominator="zero", tiers=CAMAU_TIERS)):
        assert error_code(r, raw) == code


@pytest.mark.parametrize("numerator, denominator, maximum, decimals, expected", [
    (1180, 1250, "4", 2, "3.78"),  # 3.776
    (1, 3, "1", 2, "0.33"),
    (2, 3, "1", 2, "0.67"),
    (1, 8, "1", 2, "0.13"),  # 0.125 rounds half-up
    (1, 8, "1", 0, "0"),
    (7, 8, "1", 0, "1"),
    (5, 5, "2.5", 2, "2.5"),
])
def test_proportional_is_ratio_times_maximum_rounded_half_up(numerator, denominator, maximum, decimals, expected):
    r = rule(kind="proportional", zero_denominator="zero", decimals=decimals)
    assert score(r, {"numerator": str(numerator), "denominator": str(denominator)}, maximum) == D(expected)


def test_per_occurrence_subtracts_or_adds_up_to_the_cap():
    subtract = rule(kind="per_occurrence", per=1, mode="subtract")
    assert [score(subtract, {"count": str(n)}, "3") for n in (0, 1, 2, 3, 7)] == [D(3), D(2), D(1), D(0), D(0)]
    capped = rule(kind="per_occurrence", per="0.5", mode="subtract", cap=1)
    assert [score(capped, {"count": str(n)}, "3") for n in (0, 1, 2, 5)] == [D(3), D("2.5"), D(2), D(2)]
    add = rule(kind="per_occurrence", per="0.5", mode="add")
    assert [score(add, {"count": str(n)}, "1.5") for n in (0, 1, 3, 9)] == [D(0), D("0.5"), D("1.5"), D("1.5")]
    assert error_code(subtract, {"count": "1,5"}) == "answer.not_an_integer"
    assert error_code(subtract, {"count": "-2"}) == "answer.below_minimum"


def test_per_occurrence_refuses_a_non_positive_amount():
    for per in (0, -1):
        with pytest.raises(ValidationError):
            rule(kind="per_occurrence", per=per)


def test_all_of_gives_points_only_when_every_condition_holds():
    r = rule(kind="all_of", conditions=[{"code": "count", "label": "Đủ số lượng"},
                                        {"code": "on_time", "label": "Đúng thời gian"}])
    assert score(r, {"conditions": {"count": True, "on_time": True}}, "1") == D(1)
    assert score(r, {"conditions": {"count": True, "on_time": False}}, "1") == D(0)
    assert error_code(r, {"conditions": {"count": True}}) == "answer.conditions_incomplete"
    assert error_code(r, {"conditions": {"count": True, "on_time": True, "x": True}}) == "answer.conditions_incomplete"
    assert error_code(r, {"conditions": {"count": True, "on_time": "yes"}}) == "answer.pick_option"


def test_points_are_entered_in_steps_and_never_above_the_maximum():
    r = rule(kind="points", step="0.25")
    assert score(r, {"points": "1,75"}) == D("1.75")
    assert error_code(r, {"points": "1.3"}) == "answer.not_a_step"
    assert error_code(r, {"points": "-1"}) == "answer.below_minimum"
    with pytest.raises(AnswerError) as info:
        score(r, {"points": "2.25"})
    assert info.value.code == "answer.above_maximum"
    with pytest.raises(ValidationError):
        rule(kind="points", step=0)


def test_survey_items_are_never_self_scored():
    r = rule(kind="survey")
    assert r.self_scored is False and r.inputs() == []
    assert error_code(r, {"points": "1"}) == "answer.survey_not_self_scored"


# ---------------------------------------------------------------------------------------------------- properties
# A rule is wrapped in a one-item set and checked by the real validator: what it accepts must keep every
# answer's points in [0, max]; what it refuses must have been able to leave that range.

MAXIMA = st.decimals(min_value=D("0.25"), max_value=D(20), places=2)
POINTS = st.decimals(min_value=D(-1), max_value=D(25), places=2)


def one_item_set(maximum: Decimal, rule_spec: dict, not_applicable: bool = False) -> str:
    data = {"format": "parbot/criteria-set@1", "code": "p", "year": 2020, "title": "P",
            "blocks": [{"code": "so", "name": "Sở"}],
            "areas": [{"code": "1", "name": "A", "criteria": [
                {"code": "1.1", "name": "C", "max": str(maximum), "not_applicable": not_applicable,
                 "rule": rule_spec}]}]}
    return yaml.safe_dump(data, allow_unicode=True)


@st.composite
def rules_and_answers(draw):
    maximum = draw(MAXIMA)
    kind = draw(st.sampled_from(["yes_no", "choice", "tiers", "proportional", "per_occurrence", "all_of", "points"]))
    count = st.integers(min_value=0, max_value=10**6)
    if kind == "yes_no":
        spec = {"kind": kind, "yes": str(draw(POINTS)), "no": str(draw(POINTS))}
        answers = [{"yes": True}, {"yes": False}]
    elif kind == "choice":
        points = draw(st.lists(POINTS, min_size=2, max_size=4))
        spec = {"kind": kind, "options": [{"code": f"o{i}", "label": "x", "points": str(p)}
                                          for i, p in enumerate(points)]}
        answers = [{"option": f"o{i}"} for i in range(len(points))]
    elif kind == "tiers":
        cut = draw(st.decimals(min_value=D(0), max_value=D(100), places=2))
        spec = {"kind": kind, "measure": "ratio", "zero_denominator": draw(st.sampled_from(["full", "zero"])),
                "tiers": [{"below": str(cut), "points": str(draw(POINTS))},
                          {"at_least": str(cut), "points": str(draw(POINTS))}]}
        answers = [{"numerator": str(n), "denominator": str(n + extra)}
                   for n, extra in draw(st.lists(st.tuples(count, count), min_size=1, max_size=5))]
    elif kind == "proportional":
        spec = {"kind": kind, "zero_denominator": draw(st.sampled_from(["full", "zero"])),
                "decimals": draw(st.integers(0, 4))}
        answers = [{"numerator": str(n), "denominator": str(n + extra)}
                   for n, extra in draw(st.lists(st.tuples(count, count), min_size=1, max_size=5))]
    elif kind == "per_occurrence":
        spec = {"kind": kind, "per": str(draw(st.decimals(min_value=D("0.25"), max_value=D(5), places=2))),
                "mode": draw(st.sampled_from(["add", "subtract"]))}
        if draw(st.booleans()):
            spec["cap"] = str(draw(POINTS))
        answers = [{"count": str(n)} for n in draw(st.lists(st.integers(0, 1000), min_size=1, max_size=5))]
    elif kind == "all_of":
        spec = {"kind": kind, "points": str(draw(POINTS)),
                "conditions": [{"code": "a", "label": "A"}, {"code": "b", "label": "B"}]}
        answers = [{"conditions": {"a": a, "b": b}} for a in (True, False) for b in (True, False)]
    else:
        spec = {"kind": kind, "step": "0.25"}
        steps = int(maximum / D("0.25"))
        answers = [{"points": str(D("0.25") * k)} for k in draw(st.lists(st.integers(0, steps), min_size=1))]
    return maximum, spec, answers


@settings(max_examples=300, deadline=None)
@given(rules_and_answers())
def test_an_accepted_rule_never_scores_outside_zero_and_max(case):
    maximum, spec, answers = case
    criteria_set, problems = parse_criteria_set(one_item_set(maximum, spec))
    if problems:
        # Refused: the rule really could leave [0, max], or give points finer than the set's 2 decimals (the
        # validator is not over-strict).
        assert all(".rule" in p.path for p in problems), problems
        r = rule(**spec)
        reachable = r.reachable(maximum, "so")
        assert any(v < 0 or v > maximum or v != v.quantize(D("0.01")) for v in reachable) \
            or getattr(r, "decimals", 0) > 2
        return
    item = criteria_set.for_block("so").items["1.1"]
    for raw in answers:
        points = item.rule.score(item.rule.parse(raw), item.maximum, "so")
        assert points is not None and D(0) <= points <= item.maximum


@st.composite
def increasing_tiers(draw):
    """Tiers covering [0, 100] without gap or overlap, their points increasing with the value."""
    cuts = sorted(draw(st.sets(st.decimals(min_value=D("0.01"), max_value=D("99.99"), places=2),
                               min_size=1, max_size=5)))
    inclusive_low = [draw(st.booleans()) for _ in cuts]  # is each cut in the upper tier?
    points = sorted(draw(st.lists(st.decimals(min_value=D(0), max_value=D(10), places=2),
                                  min_size=len(cuts) + 1, max_size=len(cuts) + 1)))
    tiers = []
    for index in range(len(cuts) + 1):
        tier = {"points": str(points[index])}
        if index > 0:
            tier["at_least" if inclusive_low[index - 1] else "above"] = str(cuts[index - 1])
        if index < len(cuts):
            tier["below" if inclusive_low[index] else "at_most"] = str(cuts[index])
        tiers.append(tier)
    order = draw(st.permutations(range(len(tiers))))  # the file may list tiers in any order
    return [tiers[i] for i in order], points[-1]


VALUES = st.decimals(min_value=D(0), max_value=D(100), places=3)


@settings(max_examples=200, deadline=None)
@given(increasing_tiers(), VALUES, VALUES)
def test_tiers_are_monotone_when_their_points_increase(case, a, b):
    tiers, top = case
    spec = {"kind": "tiers", "unit": "%", "maximum": 100, "tiers": tiers}
    criteria_set, problems = parse_criteria_set(one_item_set(max(top, D(1)), spec))
    assert problems == []  # the generated tiers are exactly a partition of [0, 100]
    item = criteria_set.for_block("so").items["1.1"]
    low, high = sorted((a, b))
    points_low = item.rule.score(item.rule.parse({"value": str(low)}), item.maximum, "so")
    points_high = item.rule.score(item.rule.parse({"value": str(high)}), item.maximum, "so")
    assert points_low <= points_high


@settings(max_examples=300, deadline=None)
@given(MAXIMA, st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 4))
def test_proportional_never_exceeds_the_maximum(maximum, numerator, extra, decimals):
    r = rule(kind="proportional", zero_denominator="full", decimals=decimals)
    points = score(r, {"numerator": str(numerator), "denominator": str(numerator + extra)}, str(maximum))
    assert D(0) <= points <= maximum


RULES = [  # a rule of each kind, how the item screen tells its scoring in Vietnamese, then in English
    ({"kind": "yes_no"}, "Có / Đạt: 2 ; Không / Không đạt: 0", "Yes: 2 ; No: 0"),
    ({"kind": "choice", "options": [{"code": "a", "label": "Đúng hạn", "label_en": "On time", "points": 2},
                                    {"code": "b", "label": "Muộn", "points": 0.5}]},
     "Đúng hạn: 2 ; Muộn: 0,5", "On time: 2 ; Muộn: 0.5"),
    ({"kind": "tiers", "measure": "ratio", "tiers": [{"at_least": 90, "points": 2},
                                                     {"at_least": 70, "below": 90, "points": 1},
                                                     {"below": 70, "points": 0}]},
     "≥ 90%: 2 ; ≥ 70% và < 90%: 1 ; < 70%: 0", "≥ 90%: 2 ; ≥ 70% and < 90%: 1 ; < 70%: 0"),
    ({"kind": "tiers", "tiers": [{"points": 2}]}, "mọi giá trị: 2", "any value: 2"),
    ({"kind": "proportional"}, "Điểm = tỷ lệ × 2", "points = ratio × 2"),
    ({"kind": "per_occurrence", "per": 0.5}, "Mỗi lần trừ 0,5 điểm, tối đa 2 điểm",
     "minus 0.5 per occurrence, at most 2"),
    ({"kind": "per_occurrence", "per": 0.25, "mode": "add", "cap": 1}, "Mỗi lần cộng 0,25 điểm, tối đa 1 điểm",
     "plus 0.25 per occurrence, at most 1"),
    ({"kind": "all_of", "conditions": [{"code": "a", "label": "Đủ"}, {"code": "b", "label": "Đúng hạn"}]},
     "Đạt đủ tất cả điều kiện: 2 ; không đủ: 0", "all conditions met: 2 ; otherwise 0"),
    ({"kind": "points"}, "Chấm từ 0 đến 2 điểm, bước 0,25", "points from 0 to 2 in steps of 0.25"),
    ({"kind": "survey"}, "Điểm theo kết quả điều tra xã hội học", "by the survey"),
]


@pytest.mark.parametrize("spec,vi,en", RULES, ids=[f"{s['kind']}-{n}" for n, (s, *_) in enumerate(RULES)])
def test_a_rule_tells_its_scoring_in_the_readers_language(spec, vi, en):
    """Through the catalogs (keys rule.describe.*), not an inline `if lang == "en"` (issue 12: one message
    mechanism); the English text has no Vietnamese joiner or default label left in it."""
    rule = TypeAdapter(Rule).validate_python(spec)
    assert (rule.describe(Decimal(2), "so", "vi"), rule.describe(Decimal(2), "so", "en")) == (vi, en)

