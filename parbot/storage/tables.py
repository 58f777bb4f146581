"""SQLModel tables: the database is the source of truth for every answer, score and message.

Points are stored as decimal text (``DecimalText``), never as binary floats, so sums stay exact on both
SQLite and PostgreSQL. Times are stored in UTC.
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

# Stable constraint names so Alembic's batch mode (SQLite) can alter tables.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class DecimalText(TypeDecorator):
    """Exact decimals as text: SQLite has no decimal type and would round-trip through float."""

    impl = sa.String(40)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else str(Decimal(value))

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out (SQLite drops the offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(timezone.utc).replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _dec(nullable: bool = False) -> Any:
    return Field(default=None if nullable else Decimal(0), sa_type=DecimalText, nullable=nullable)


def _when(nullable: bool = False, index: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=index)


def _json() -> Any:
    return Field(default_factory=dict, sa_type=sa.JSON, nullable=False)


# -- criteria, units, periods -------------------------------------------------------------------------


class CriteriaSetRow(SQLModel, table=True):
    __tablename__ = "criteria_set"
    __table_args__ = (sa.UniqueConstraint("code", "version"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(max_length=24)
    version: int
    year: int
    title: str
    content_hash: str = Field(max_length=64)
    source_text: str = Field(sa_type=sa.Text)
    loaded_at: datetime = _when()


class BlockRow(SQLModel, table=True):
    __tablename__ = "block"
    code: str = Field(primary_key=True, max_length=16)
    name: str
    name_en: Optional[str] = None


class UnitRow(SQLModel, table=True):
    """One version of a unit: a code keeps its history across years (a department may change block,
    name or parent when the province reorganises), so each version states the years it is valid."""

    __tablename__ = "unit"
    __table_args__ = (sa.UniqueConstraint("code", "valid_from"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(max_length=24, index=True)
    name: str
    block: str = Field(foreign_key="block.code", max_length=16, index=True)
    parent_code: Optional[str] = Field(default=None, max_length=24, index=True)
    valid_from: int = 0  # first year of this version; 0 when it has always existed (NULL would defeat the unique key)
    valid_to: Optional[int] = None  # last year (None: still exists)
    predecessors: list = Field(default_factory=list, sa_type=sa.JSON, nullable=False)


class PeriodRow(SQLModel, table=True):
    __tablename__ = "period"
    id: Optional[int] = Field(default=None, primary_key=True)
    year: int = Field(unique=True)
    config: dict = _json()  # core.period.PeriodConfig as JSON
    created_at: datetime = _when()
    updated_at: datetime = _when()


class PeriodCriteriaRow(SQLModel, table=True):
    __tablename__ = "period_criteria"
    period_id: int = Field(foreign_key="period.id", primary_key=True)
    block: str = Field(foreign_key="block.code", primary_key=True, max_length=16)
    criteria_set_id: int = Field(foreign_key="criteria_set.id")


# -- people, roles, invitations -----------------------------------------------------------------------


class PersonRow(SQLModel, table=True):
    __tablename__ = "person"
    id: Optional[int] = Field(default=None, primary_key=True)
    telegram_id: Optional[int] = Field(default=None, sa_type=sa.BigInteger, unique=True)  # None: Zalo only (0012)
    chat_id: Optional[int] = Field(default=None, sa_type=sa.BigInteger)
    name: str = ""
    username: Optional[str] = None
    language: str = Field(default="vi", max_length=8)
    unreachable_at: Optional[datetime] = _when(nullable=True)
    unreachable_reason: Optional[str] = None
    created_at: datetime = _when()


class RoleRow(SQLModel, table=True):
    __tablename__ = "role_assignment"
    __table_args__ = (sa.UniqueConstraint("person_id", "role", "unit_code", "block"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(max_length=24)
    unit_code: Optional[str] = Field(default=None, max_length=24, index=True)
    block: Optional[str] = Field(default=None, max_length=16)
    invite_id: Optional[int] = Field(default=None, foreign_key="invite.id")
    created_at: datetime = _when()


class InviteRow(SQLModel, table=True):
    __tablename__ = "invite"
    id: Optional[int] = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)  # sha256 of the code: a leaked table reveals no codes
    code_hint: str = Field(max_length=8)  # first characters, to name an invite when revoking
    role: str = Field(max_length=24)
    unit_code: Optional[str] = Field(default=None, max_length=24)
    block: Optional[str] = Field(default=None, max_length=16)
    note: Optional[str] = None
    expires_at: datetime = _when()
    created_by: str = ""
    created_at: datetime = _when()
    used_by: Optional[int] = Field(default=None, foreign_key="person.id")
    used_at: Optional[datetime] = _when(nullable=True)
    revoked_at: Optional[datetime] = _when(nullable=True)


# -- answers, evidence, scores, audit -----------------------------------------------------------------


class AnswerRow(SQLModel, table=True):
    __tablename__ = "answer"
    __table_args__ = (sa.UniqueConstraint("period_id", "unit_code", "item_code"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id", index=True)
    unit_code: str = Field(max_length=24, index=True)
    item_code: str = Field(max_length=24)
    value: dict = _json()  # the rule's canonical answer; {} when not applicable
    not_applicable: bool = False
    points: Optional[Decimal] = _dec(nullable=True)
    explanation: Optional[str] = Field(default=None, sa_type=sa.Text)
    answered_by: Optional[int] = Field(default=None, foreign_key="person.id")
    answered_at: datetime = _when()


class EvidenceRow(SQLModel, table=True):
    __tablename__ = "evidence"
    id: Optional[int] = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id", index=True)
    unit_code: str = Field(max_length=24, index=True)
    item_code: str = Field(max_length=24)
    kind: str = Field(max_length=16)  # file | reference
    sha256: Optional[str] = Field(default=None, max_length=64)
    stored_path: Optional[str] = None
    size: Optional[int] = None
    mime_type: Optional[str] = None
    file_name: Optional[str] = None
    reference: Optional[str] = None  # số/ký hiệu, ngày of a document
    purpose: str = Field(default="self", max_length=16)  # self | explanation
    sender_id: Optional[int] = Field(default=None, foreign_key="person.id")
    created_at: datetime = _when()


class ScoreRow(SQLModel, table=True):
    """Points per unit, item and source. ``appraised`` holds the latest appraisal; rounds live in audit."""

    __tablename__ = "score"
    __table_args__ = (sa.UniqueConstraint("period_id", "unit_code", "item_code", "source"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id", index=True)
    unit_code: str = Field(max_length=24, index=True)
    item_code: str = Field(max_length=24)
    source: str = Field(max_length=16)  # self | appraised | survey
    points: Optional[Decimal] = _dec(nullable=True)  # None with not_applicable
    not_applicable: bool = False
    reason: Optional[str] = Field(default=None, sa_type=sa.Text)
    appraisal_round: Optional[int] = None
    by: str = ""
    at: datetime = _when()


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit"
    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = _when(index=True)
    actor: str  # "person:<id>" or "cli:<os user>"
    action: str = Field(max_length=32)  # score, answer, invite, member, publish, ...
    period_id: Optional[int] = Field(default=None, index=True)
    unit_code: Optional[str] = Field(default=None, max_length=24)
    item_code: Optional[str] = Field(default=None, max_length=24)
    source: Optional[str] = Field(default=None, max_length=32)
    old: Optional[str] = None
    new: Optional[str] = None
    reason: Optional[str] = Field(default=None, sa_type=sa.Text)


class UnitStageRow(SQLModel, table=True):
    """Where a unit stands in a period: submission, leader approval, appraisal and explanation state."""

    __tablename__ = "unit_stage"
    period_id: int = Field(foreign_key="period.id", primary_key=True)
    unit_code: str = Field(primary_key=True, max_length=24)
    submitted_at: Optional[datetime] = _when(nullable=True)
    submitted_by: Optional[int] = Field(default=None, foreign_key="person.id")
    approved_at: Optional[datetime] = _when(nullable=True)
    approved_by: Optional[int] = Field(default=None, foreign_key="person.id")
    state: dict = _json()  # stage-specific flags added by later stages (appraisal, explanation)


class ChatStateRow(SQLModel, table=True):
    """What a person's chat is waiting for (a typed number, a reason), so a restart resumes exactly."""

    __tablename__ = "chat_state"
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    data: dict = _json()
    updated_at: datetime = _when()


class ChannelChoiceRow(SQLModel, table=True):
    """The options a text-only chat (Zalo) has on view: typed key ("2", "tiếp") -> option id. In the
    database so that whichever process gets the typed answer reads it alike (migration 0012)."""

    __tablename__ = "channel_choice"
    channel: str = Field(max_length=16, primary_key=True)
    chat_id: str = Field(max_length=64, primary_key=True)
    choices: dict = _json()
    updated_at: datetime = _when()


# -- outgoing messages and publication ----------------------------------------------------------------


class OutboxRow(SQLModel, table=True):
    __tablename__ = "outbox"
    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)  # e.g. 2020/self/SNV/p12/remind/2020-12-24
    person_id: Optional[int] = Field(default=None, foreign_key="person.id", index=True)
    chat_id: int = Field(sa_type=sa.BigInteger, index=True)
    kind: str = Field(max_length=32)
    payload: dict = _json()
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    not_before: datetime = _when(index=True)
    claimed_by: Optional[str] = None
    claimed_at: Optional[datetime] = _when(nullable=True)
    sent_at: Optional[datetime] = _when(nullable=True)
    error: Optional[str] = None
    created_at: datetime = _when()
    channel: str = Field(default="telegram", max_length=16, sa_column_kwargs={"server_default": "telegram"})
    chat_ref: Optional[str] = Field(default=None, max_length=64)  # a Zalo chat id (strings, not Telegram's ints)


class ChannelAccountRow(SQLModel, table=True):
    """A person's account on one channel (Telegram, Zalo): a person may hold several and choose where
    notices go. Migration 0003; the repository is storage/repos_channels.py."""

    __tablename__ = "channel_account"
    __table_args__ = (sa.UniqueConstraint("channel", "account_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    channel: str = Field(max_length=16)  # telegram | zalo
    account_id: str = Field(max_length=64)
    chat_id: str = Field(max_length=64)
    display_name: str = ""
    notify: bool = True  # notices and reminders go to every account of the person with notify set
    unreachable_at: Optional[datetime] = _when(nullable=True)
    unreachable_reason: Optional[str] = None
    created_at: datetime = _when()


class SnapshotRow(SQLModel, table=True):
    __tablename__ = "snapshot"
    __table_args__ = (sa.UniqueConstraint("period_id", "block", "revision"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id", index=True)
    block: str = Field(max_length=16)
    revision: int = 1
    results: dict = _json()
    content_hash: str = Field(max_length=64)
    published_at: datetime = _when()
    published_by: str = ""
    reason: Optional[str] = None


class InboxRow(SQLModel, table=True):
    """An update of a channel and whether it was handled: a polled update is stored as fetched, before the
    polling offset confirms it, so a process killed in between handles it after its restart; a webhook update
    is recorded once handled, so a copy the platform sends again (to this process or another) is not applied
    twice. Migrations 0013 and 0014; the repository is storage/inbox.py."""

    __tablename__ = "inbox"
    __table_args__ = (sa.UniqueConstraint("channel", "update_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    channel: str = Field(default="telegram", max_length=16)
    update_id: str = Field(max_length=64)  # Telegram's update_id in decimal, Zalo's message_id
    payload: dict = _json()
    received_at: datetime = _when()
    handled_at: Optional[datetime] = _when(nullable=True, index=True)
