"""Plain domain records passed between the services and the repositories."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple
from datetime import datetime
from decimal import Decimal

from .criteria import BlockCriteria, CriteriaSet
from .period import PeriodConfig

SOURCES = ("self", "appraised", "survey")


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    block: str
    parent_code: str | None = None
    valid_from: int | None = None
    valid_to: int | None = None
    predecessors: tuple[str, ...] = ()

    def exists_in(self, year: int) -> bool:
        return (self.valid_from is None or self.valid_from <= year) and (self.valid_to is None or year <= self.valid_to)


@dataclass(frozen=True)
class Block:
    code: str
    name: str
    name_en: str | None = None


@dataclass
class Period:
    id: int
    year: int
    config: PeriodConfig
    criteria_sets: dict[str, CriteriaSet] = field(default_factory=dict)  # block -> set

    def criteria_for(self, block: str) -> BlockCriteria:
        from .errors import DomainError

        if block not in self.criteria_sets:
            raise DomainError("period.block_without_criteria", block=block, year=self.year)
        return self.criteria_sets[block].for_block(block)

    @property
    def blocks(self) -> list[str]:
        return list(self.criteria_sets)


@dataclass(frozen=True)
class Score:
    unit_code: str
    item_code: str
    source: str
    points: Decimal | None  # None when not applicable
    not_applicable: bool = False
    reason: str | None = None
    appraisal_round: int | None = None
    by: str = ""
    at: datetime | None = None


class ScoreValue(NamedTuple):
    """The part of a score the engine needs: a light tuple, since a province's results read millions."""

    unit_code: str
    item_code: str
    source: str
    points: Decimal | None
    not_applicable: bool
    reason: str | None


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    action: str
    period_id: int | None = None
    unit_code: str | None = None
    item_code: str | None = None
    source: str | None = None
    old: str | None = None
    new: str | None = None
    reason: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Person:
    id: int
    telegram_id: int
    chat_id: int | None
    name: str = ""
    username: str | None = None
    language: str = "vi"
    unreachable_at: datetime | None = None


@dataclass(frozen=True)
class Answer:
    unit_code: str
    item_code: str
    value: dict
    not_applicable: bool
    points: Decimal | None
    explanation: str | None = None
    answered_by: int | None = None
    answered_at: datetime | None = None


@dataclass(frozen=True)
class Evidence:
    id: int | None
    unit_code: str
    item_code: str
    kind: str  # file | reference
    sha256: str | None = None
    stored_path: str | None = None
    size: int | None = None
    mime_type: str | None = None
    file_name: str | None = None
    reference: str | None = None
    purpose: str = "self"  # self | explanation
    sender_id: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class UnitStage:
    unit_code: str
    submitted_at: datetime | None = None
    submitted_by: int | None = None
    approved_at: datetime | None = None
    approved_by: int | None = None
    state: dict = field(default_factory=dict)
