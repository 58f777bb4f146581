"""Who may do what, where: one table, checked by every service whatever the chat or command sent.

A grant is a role with a scope. Scopes: none (province-wide roles), a unit, a block, or a unit *and* a
block — "the units of this block whose parent is this unit" (a district's council appraising its communes).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Iterable

from .errors import PermissionDenied

if TYPE_CHECKING:
    from .model import Unit


class Role(str, Enum):
    OFFICER = "officer"  # cán bộ đầu mối of one unit
    UNIT_LEADER = "unit_leader"
    APPRAISER = "appraiser"
    PROVINCE_LEADER = "province_leader"
    ADMIN = "admin"


class Action(str, Enum):
    ASSESS = "assess"  # answer items, attach evidence, explain
    SUBMIT = "submit"
    APPROVE = "approve"  # the unit leader's approval before submission
    VIEW_UNIT = "view_unit"  # a unit's answers, evidence, results
    CONTEST = "contest"  # the explanation round
    APPRAISE = "appraise"
    CLOSE_ROUND = "close_round"
    VIEW_RANKING = "view_ranking"
    VIEW_PROGRESS = "view_progress"
    ADMINISTER = "administer"


# Which roles may take each action; the scope check below decides on which unit.
MATRIX: dict[Action, frozenset[Role]] = {
    Action.ASSESS: frozenset({Role.OFFICER}),
    Action.SUBMIT: frozenset({Role.OFFICER}),
    Action.APPROVE: frozenset({Role.UNIT_LEADER}),
    Action.VIEW_UNIT: frozenset({Role.OFFICER, Role.UNIT_LEADER, Role.APPRAISER, Role.PROVINCE_LEADER, Role.ADMIN}),
    Action.CONTEST: frozenset({Role.OFFICER, Role.UNIT_LEADER}),
    Action.APPRAISE: frozenset({Role.APPRAISER}),
    Action.CLOSE_ROUND: frozenset({Role.ADMIN}),
    Action.VIEW_RANKING: frozenset({Role.PROVINCE_LEADER, Role.ADMIN}),  # unit leaders: see own_blocks()
    Action.VIEW_PROGRESS: frozenset({Role.ADMIN, Role.PROVINCE_LEADER}),
    Action.ADMINISTER: frozenset({Role.ADMIN}),
}

UNSCOPED_ROLES = frozenset({Role.PROVINCE_LEADER, Role.ADMIN})
UNIT_ROLES = frozenset({Role.OFFICER, Role.UNIT_LEADER})


@dataclass(frozen=True)
class Grant:
    role: Role
    unit_code: str | None = None
    block: str | None = None

    def covers(self, unit: Unit) -> bool:
        if self.role in UNSCOPED_ROLES:
            return True
        if self.unit_code and self.block:  # children of a unit within a block (district → its communes)
            return unit.parent_code == self.unit_code and unit.block == self.block
        if self.unit_code:
            return unit.code == self.unit_code
        if self.block:
            return unit.block == self.block
        return False

    def describe(self) -> str:
        scope = " ".join(p for p in (self.unit_code and f"unit {self.unit_code}", self.block and f"block {self.block}") if p)
        return f"{self.role.value}" + (f" ({scope})" if scope else "")


@dataclass(frozen=True)
class Caller:
    """Who calls a service: the audit's actor and the grants every permission check reads. Every service
    that writes takes one; the chat builds it from the person, the command line and the scheduler act as
    administrators (whoever runs them holds the database)."""

    actor: str
    grants: tuple[Grant, ...]
    person_id: int | None = None

    @classmethod
    def person(cls, person_id: int, grants: Iterable[Grant]) -> "Caller":
        return cls(actor=f"person:{person_id}", grants=tuple(grants), person_id=person_id)

    @classmethod
    def admin(cls, actor: str) -> "Caller":
        return cls(actor=actor, grants=(Grant(Role.ADMIN),))


def validate_scope(role: Role, unit_code: str | None, block: str | None) -> None:
    """The scopes each role takes: officers and unit leaders one unit, appraisers a unit, block or both."""
    if role in UNSCOPED_ROLES and (unit_code or block):
        raise PermissionDenied("invite.scope_not_allowed", role=role.value)
    if role in UNIT_ROLES and (not unit_code or block):
        raise PermissionDenied("invite.unit_required", role=role.value)
    if role is Role.APPRAISER and not (unit_code or block):
        raise PermissionDenied("invite.scope_required", role=role.value)


def allowed(grants: Iterable[Grant], action: Action, unit: Unit | None = None) -> bool:
    """True when some grant's role may take the action and its scope covers the unit (province-wide roles
    cover every unit; an action on no unit needs a province-wide role)."""
    for grant in grants:
        if grant.role not in MATRIX[action]:
            continue
        if grant.role in UNSCOPED_ROLES or (unit is not None and grant.covers(unit)):
            return True
    return False


def own_blocks(grants: Iterable[Grant], units_by_code: dict[str, Unit]) -> set[str]:
    """Blocks of the units a person leads: where the period allows, a unit leader sees that block's ranking."""
    return {units_by_code[g.unit_code].block for g in grants
            if g.role is Role.UNIT_LEADER and g.unit_code in units_by_code}


def require(grants: Iterable[Grant], action: Action, unit: Unit | None = None) -> None:
    if not allowed(list(grants), action, unit):
        raise PermissionDenied("permission.denied", action=action.value, unit=unit.code if unit else "-")


def units_in_scope(grants: Iterable[Grant], action: Action, units: Iterable[Unit]) -> list[Unit]:
    grants = [g for g in grants if g.role in MATRIX[action]]
    return [u for u in units if any(g.covers(u) for g in grants)]
