"""Criteria-set and period files built to exhaust memory or the stack are refused with a located problem."""
from __future__ import annotations

import pytest

from parbot.core.criteria import MAX_NESTING, parse_criteria_set, shipped_sets_dir
from parbot.core.period import parse_period


def _alias_bomb(levels: int = 9) -> str:
    """The "billion laughs" shape: each level lists the previous one nine times."""
    lines = ['l0: &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _deep(levels: int) -> str:
    return "format: parbot/criteria-set@1\nx: " + "[" * levels + "]" * levels + "\n"


@pytest.mark.parametrize("parse", [parse_criteria_set, parse_period], ids=["criteria", "period"])
@pytest.mark.parametrize("text, says", [
    (_alias_bomb(), "expands to more than"),
    (_deep(5000), "nesting deeper than"),
    ("a: " + "x" * 2_100_000 + "\n", "too large"),
])
def test_hostile_documents_are_refused_with_a_problem(parse, text, says):
    parsed, problems = parse(text)
    assert parsed is None
    assert any(says in problem.message for problem in problems), problems


def test_the_bounds_leave_room_for_real_documents():
    # nesting just under the bound is parsed (and then refused only for its content)
    _, problems = parse_criteria_set(_deep(MAX_NESTING - 1))
    assert not any("nesting" in p.message or "expands" in p.message for p in problems)
    for path in shipped_sets_dir().glob("*.yaml"):
        criteria_set, problems = parse_criteria_set(path.read_text(encoding="utf-8"), str(path))
        assert criteria_set is not None, problems
