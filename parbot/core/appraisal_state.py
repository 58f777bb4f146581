"""The one reader and writer of a unit's appraisal record (closed rounds, contests) in ``UnitStage.state``.

Nothing else knows the layout: services and reminders get an ``AppraisalState``. The record is written as
layout ``VERSION``; the first layout (no ``version``: ``round1_closed_at``, ``contests`` keyed by item) is still
read, so stages written before it need no migration and are rewritten at their next appraisal write.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from .model import AppraisalState, Contest, RoundClosed, UnitStage

KEY = "appraisal"
VERSION = 2


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _contest(item_code: str, raw: dict[str, Any]) -> Contest:
    return Contest(item_code=item_code, text=raw.get("text", ""), by=raw.get("by", ""),
                   at=datetime.fromisoformat(raw["at"]), evidence_ids=tuple(raw.get("evidence", ())),
                   settled_by=raw.get("settled_by"), settled_at=_when(raw.get("settled_at")))


def parse(raw: dict[str, Any] | None) -> AppraisalState:
    """A stored record of either layout; an empty or missing one is a unit whose rounds are all open."""
    if not raw:
        return AppraisalState()
    if raw.get("version") is None:  # the first layout
        closed = tuple(RoundClosed(n, datetime.fromisoformat(raw[f"round{n}_closed_at"]),
                                   raw.get(f"round{n}_closed_by", ""))
                       for n in (1, 2) if raw.get(f"round{n}_closed_at"))
        return AppraisalState(closed=closed, contests=tuple(_contest(code, c) for code, c in
                                                            (raw.get("contests") or {}).items() if c.get("at")))
    if raw["version"] != VERSION:
        raise ValueError(f"unknown appraisal record version {raw['version']!r}")
    return AppraisalState(
        closed=tuple(RoundClosed(c["round"], datetime.fromisoformat(c["at"]), c["by"]) for c in raw["closed"]),
        contests=tuple(_contest(c["item"], c) for c in raw["contests"]))


def dump(state: AppraisalState) -> dict[str, Any]:
    return {"version": VERSION,
            "closed": [{"round": c.round, "at": c.at.isoformat(), "by": c.by} for c in state.closed],
            "contests": [{"item": c.item_code, "text": c.text, "by": c.by, "at": c.at.isoformat(),
                          "evidence": list(c.evidence_ids), "settled_by": c.settled_by,
                          "settled_at": c.settled_at.isoformat() if c.settled_at else None}
                         for c in state.contests]}


def of(stage: UnitStage) -> AppraisalState:
    return parse(stage.state.get(KEY))


def with_state(stage: UnitStage, state: AppraisalState) -> UnitStage:
    """A copy of the stage carrying ``state`` (the other stages' flags kept)."""
    return replace(stage, state={**stage.state, KEY: dump(state)})
