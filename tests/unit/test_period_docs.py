"""Every key of the period file is documented with an example (issue 12): docs/period-format.md names each
field of PeriodConfig and of the models nested in it, and its example loads as a real period file."""
from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from parbot.core.period import PeriodConfig, parse_period

DOC = Path(__file__).resolve().parents[2] / "docs" / "period-format.md"


def keys(model: type[BaseModel], seen: set | None = None) -> set[str]:
    """Field names of the model and of every model its fields hold (in lists, mappings, optionals)."""
    seen = set() if seen is None else seen
    found = set()
    for name, field in model.model_fields.items():
        found.add(name)
        pending = [field.annotation]
        while pending:
            kind = pending.pop()
            if isinstance(kind, type) and issubclass(kind, BaseModel) and kind not in seen:
                seen.add(kind)
                found |= keys(kind, seen)
            pending.extend(typing.get_args(kind))
    return found


def test_the_walk_reaches_nested_models():
    assert {"leader_approval_required", "reminders", "report", "ranking", "tie_breakers", "digest_at",
            "escalate_after", "min_area_index", "appraiser_units", "decision"} <= keys(PeriodConfig)


def test_every_period_key_is_described_and_shown_in_the_example():
    text = DOC.read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(.*?)```", text, re.S).group(1)
    described = set(re.findall(r"`([a-z_0-9]+)`", text.split("## Các khóa", 1)[1]))
    shown = set(re.findall(r"([a-z_0-9]+):", example))
    assert keys(PeriodConfig) - described == set()
    assert keys(PeriodConfig) - shown == set()
    config, problems = parse_period(example, "period-format.md")
    assert problems == [] and config.leader_approval_required and config.reminders.stages


def test_the_readme_and_the_criteria_guide_point_to_it():
    root = DOC.parents[1]
    for guide in (root / "README.md", root / "docs" / "criteria-format.md"):
        assert "period-format.md" in guide.read_text(encoding="utf-8"), guide
