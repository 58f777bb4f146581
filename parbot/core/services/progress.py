"""How far a unit is with its self-assessment: derived from the stored answers and evidence, never cached."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ..criteria import BlockCriteria
from ..decimals import ZERO
from ..model import Answer, Evidence, Period, UnitStage
from ..ports import UnitOfWork
from ..text import visible


@dataclass(frozen=True)
class AreaProgress:
    code: str
    name: str
    answered: int
    total: int
    points: Decimal
    maximum: Decimal  # applicable items only
    missing_items: tuple[str, ...]
    missing_evidence: tuple[str, ...]  # evidence required, none given and no explanation


@dataclass(frozen=True)
class UnitProgress:
    unit_code: str
    areas: tuple[AreaProgress, ...]
    submitted_at: datetime | None
    approved_at: datetime | None

    @property
    def answered(self) -> int:
        return sum(a.answered for a in self.areas)

    @property
    def total(self) -> int:
        return sum(a.total for a in self.areas)

    @property
    def points(self) -> Decimal:
        return sum((a.points for a in self.areas), ZERO)

    @property
    def maximum(self) -> Decimal:
        return sum((a.maximum for a in self.areas), ZERO)

    @property
    def missing_items(self) -> list[str]:
        return [c for a in self.areas for c in a.missing_items]

    @property
    def missing_evidence(self) -> list[str]:
        return [c for a in self.areas for c in a.missing_evidence]

    @property
    def complete(self) -> bool:
        return not self.missing_items and not self.missing_evidence

    def status(self, deadline: datetime | None, now: datetime) -> str:
        """not_started | in_progress | submitted | late (for the progress chart and reminders)."""
        if self.submitted_at is not None:
            return "submitted"
        if deadline is not None and now > deadline:
            return "late"
        return "in_progress" if self.answered else "not_started"


def shows_something(evidence: Evidence) -> bool:
    """An empty file or a reference of invisible characters proves nothing (records from before the services
    refused them included)."""
    if evidence.kind == "file":
        return evidence.size is None or evidence.size > 0
    return visible(evidence.reference)


def compute_progress(criteria: BlockCriteria, unit_code: str, answers: dict[str, Answer],
                     evidence: list[Evidence], stage: UnitStage) -> UnitProgress:
    evidenced = {e.item_code for e in evidence if e.purpose == "self" and shows_something(e)}
    areas = []
    for area in criteria.areas:
        answered = total = 0
        points = maximum = ZERO
        missing, no_evidence = [], []
        for code in area.item_codes:
            item = criteria.items[code]
            if item.is_survey:
                continue
            total += 1
            answer = answers.get(code)
            if answer is None:
                missing.append(code)
                maximum += item.maximum
                continue
            answered += 1
            if answer.not_applicable:
                continue
            maximum += item.maximum
            points += answer.points or ZERO
            if item.evidence == "required" and code not in evidenced and not visible(answer.explanation):
                no_evidence.append(code)
        areas.append(AreaProgress(code=area.code, name=area.name, answered=answered, total=total, points=points,
                                  maximum=maximum, missing_items=tuple(missing), missing_evidence=tuple(no_evidence)))
    return UnitProgress(unit_code=unit_code, areas=tuple(areas), submitted_at=stage.submitted_at,
                        approved_at=stage.approved_at)


def period_progress(uow: UnitOfWork, period: Period) -> dict[str, UnitProgress]:
    """Every unit of the period at once (three queries, not three per unit): for sweeps and charts."""
    answers: dict[str, dict[str, Answer]] = {}
    for answer in uow.answers.for_period(period.id):
        answers.setdefault(answer.unit_code, {})[answer.item_code] = answer
    evidence: dict[str, list[Evidence]] = {}
    for record in uow.evidence.for_period(period.id):
        evidence.setdefault(record.unit_code, []).append(record)
    stages = uow.stages.for_period(period.id)
    out = {}
    for block in period.blocks:
        criteria = period.criteria_for(block)
        for unit in uow.units.list(block=block, year=period.year):
            out[unit.code] = compute_progress(criteria, unit.code, answers.get(unit.code, {}),
                                              evidence.get(unit.code, []),
                                              stages.get(unit.code, UnitStage(unit_code=unit.code)))
    return out
