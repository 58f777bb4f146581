"""One strict number parser: every typed-input kind refuses hostile numbers at once and keeps good ones exact."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parbot.core.criteria import load_criteria_set
from parbot.core.decimals import LIMIT, MAX_INTEGER_DIGITS, NumberError, as_count, parse_decimal, to_decimal
from parbot.core.rules import AnswerError, parse_number
from parbot.i18n import error_text

CRITERIA = Path(__file__).resolve().parents[2] / "parbot" / "criteria_sets" / "2025.yaml"

ATTACKS = ["1e999999", "1e999999999", "1E5", "NaN", "nan", "-inf", "Infinity", "∞", "²⁰²⁰", "١٢", "１２",
           "0x10", "1_000", "12,5,3", "1..2", "--1", "+-1", "9" * 16, "9" * 5000, "1" * 1_000_000, "",
           "   ", "\x00", "1\x002", "12 5", ".", ",", "1e", "½"]


@pytest.mark.parametrize("text", ATTACKS, ids=lambda t: repr(t[:20]))
def test_hostile_numbers_are_refused(text):
    with pytest.raises(NumberError):
        parse_decimal(text)


@pytest.mark.parametrize("text", ["1e999999", "9" * 5000, "1" * 1_000_000])
def test_huge_answers_get_a_clear_message_in_both_languages(text):
    with pytest.raises(AnswerError) as info:
        parse_number(text, integer=True, minimum=Decimal(0), maximum=None)
    for lang in ("vi", "en"):
        message = error_text(info.value, lang)
        assert len(message) < 200 and "error." not in message, message


@given(st.integers(min_value=-(10 ** MAX_INTEGER_DIGITS) + 1, max_value=10 ** MAX_INTEGER_DIGITS - 1),
       st.integers(min_value=0, max_value=999_999), st.sampled_from([".", ","]))
def test_numbers_as_people_type_them_are_exact(whole, fraction, separator):
    sign = "-" if whole < 0 else ""
    text = f"{sign}{abs(whole)}{separator}{fraction:06d}"
    assert parse_decimal(text) == Decimal(f"{sign}{abs(whole)}.{fraction:06d}")


@settings(max_examples=400)
@given(st.text(max_size=60))
def test_any_text_is_a_bounded_plain_number_or_refused(text):
    try:
        value = parse_decimal(text)
    except NumberError:
        return
    assert value.is_finite() and abs(value) < LIMIT
    assert "E" not in str(value)  # stored as str(): read back by the same parser
    assert parse_decimal(str(value)) == value


@given(st.text(max_size=30))
def test_counts_are_ascii_digits_or_none(text):
    value = as_count(text)
    assert value is None or (0 <= value < LIMIT and str(value) == text.strip().lstrip("0") or value == 0)


def test_counts_refuse_superscripts_and_other_scripts():
    assert [as_count(t) for t in ("2020", " 7 ", "²⁰²⁰", "١٢", "9" * 5000, "-1", "")] == [2020, 7, None, None,
                                                                                          None, None, None]


def test_yaml_numbers_are_bounded():
    for value in (float("inf"), float("nan"), 1e300, 10 ** 400, Decimal("1e999999")):
        with pytest.raises(ValueError):
            to_decimal(value)


def _typed_items():
    """One item per distinct typed rule (kind, measure, integer) across every block of the 2025 set."""
    criteria, problems = load_criteria_set(CRITERIA)
    assert not problems
    seen, out = set(), []
    for block in criteria.block_codes:
        for item in criteria.for_block(block).items.values():
            inputs = item.rule.inputs()
            kind = (item.rule.kind, getattr(item.rule, "measure", None), getattr(item.rule, "integer", None))
            if inputs and inputs[0].kind in ("number", "integer") and kind not in seen:
                seen.add(kind)
                out.append((block, item))
    return out


TYPED = _typed_items()


def test_every_typed_kind_is_covered():
    kinds = {i.rule.kind for _, i in TYPED}
    assert {"tiers", "proportional", "per_occurrence", "points"} <= kinds, kinds


@pytest.mark.parametrize("block, item", TYPED, ids=lambda x: x if isinstance(x, str) else x.rule.kind)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_every_typed_input_kind_parses_or_refuses(block, item, data):
    word = st.one_of(st.text(max_size=40), st.sampled_from(ATTACKS),
                     st.integers(min_value=0, max_value=10 ** 18).map(str),
                     st.decimals(allow_nan=True, allow_infinity=True).map(str))
    raw = {spec.key: data.draw(word) for spec in item.rule.inputs()}
    try:
        answer = item.rule.parse(raw)
        points = item.rule.score(answer, item.maximum, block)  # direct points know their maximum only here
    except AnswerError as error:
        assert "error." not in error_text(error, "vi") + error_text(error, "en")
        return
    for value in answer.values():
        to_decimal(str(value))  # every view reads the stored answer back
    assert points is None or Decimal(0) <= points <= item.maximum
