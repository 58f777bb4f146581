"""Plain domain records passed between the services and the repositories."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import NamedTuple
from datetime import datetime
from decimal import Decimal

from .criteria import BlockCriteria, CriteriaSet
from .errors import DomainError
from .period import PeriodConfig
from .permissions import Grant, Role

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
    telegram_id: int | None  # None for a person who joined on another channel (channel_account)
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


@dataclass(frozen=True)
class Invite:
    """A one-time invitation code: only its SHA-256 is stored; using it grants the role and scope it names."""

    id: int | None
    code_hash: str
    code_hint: str
    role: str
    unit_code: str | None
    block: str | None
    expires_at: datetime
    created_by: str
    created_at: datetime | None = None
    note: str | None = None
    used_by: int | None = None
    used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def grant(self) -> Grant:
        return Grant(Role(self.role), self.unit_code, self.block)

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.used_at is not None:
            return "used"
        if now >= self.expires_at:
            return "expired"
        return "active"


@dataclass(frozen=True)
class Snapshot:
    """A block's published results, frozen: only ever added (a change is a new revision)."""

    period_id: int
    block: str
    revision: int
    results: dict
    content_hash: str
    published_by: str
    reason: str | None = None
    published_at: datetime | None = None


@dataclass(frozen=True)
class Account:
    """A person's account on one channel (Telegram, Zalo): where messages to them go on that channel."""

    id: int
    person_id: int
    channel: str
    external_id: str
    chat_id: str | None
    name: str = ""
    username: str | None = None
    unreachable_at: datetime | None = None
    unreachable_reason: str | None = None

    @property
    def reachable(self) -> bool:
        return self.chat_id is not None and self.unreachable_at is None


@dataclass(frozen=True)
class RoundClosed:
    round: int
    at: datetime
    by: str


@dataclass(frozen=True)
class Contest:
    """A unit's explanation against an appraised item, and whether round 2 has answered it."""

    item_code: str
    text: str
    by: str
    at: datetime
    evidence_ids: tuple[int, ...] = ()
    settled_by: str | None = None
    settled_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.settled_at is None


@dataclass(frozen=True)
class AppraisalState:
    """Where a unit's appraisal stands: which rounds are closed, and the items it contested."""

    closed: tuple[RoundClosed, ...] = ()
    contests: tuple[Contest, ...] = ()

    def closed_at(self, round_no: int) -> datetime | None:
        return next((c.at for c in self.closed if c.round == round_no), None)

    @property
    def round(self) -> int | None:
        """1, 2, or None once round 2 is closed."""
        if self.closed_at(2):
            return None
        return 2 if self.closed_at(1) else 1

    @property
    def in_explanation_round(self) -> bool:
        """Round 1 closed, round 2 not yet: the unit may explain until the explanation deadline."""
        return self.closed_at(1) is not None and self.closed_at(2) is None

    def contest(self, item_code: str) -> Contest | None:
        return next((c for c in self.contests if c.item_code == item_code), None)

    @property
    def open_contests(self) -> tuple[Contest, ...]:
        return tuple(c for c in self.contests if c.open)

    def closing(self, round_no: int, at: datetime, by: str) -> AppraisalState:
        return replace(self, closed=self.closed + (RoundClosed(round_no, at, by),))

    def with_contest(self, contest: Contest) -> AppraisalState:
        """The state with ``contest`` in place of the item's earlier one (kept in first-contested order)."""
        if self.contest(contest.item_code) is None:
            return replace(self, contests=self.contests + (contest,))
        return replace(self, contests=tuple(contest if c.item_code == contest.item_code else c
                                            for c in self.contests))
