"""The SQL unit of work and the repositories behind core's ports."""
from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from typing import Callable, Hashable, Iterable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, select

from ..core.criteria import CriteriaSet, parse_criteria_set
from ..core.errors import DomainError, Message, WriteConflict
from ..core.model import Answer, AuditEntry, ScoreValue, Block, Evidence, Period, Person, Score, Unit, UnitStage
from ..core.period import PeriodConfig
from ..core.permissions import Grant, Role
from .batching import CHUNK
from .db import READER_OPTION
from .outbox import SqlOutbox
from .outbox_sender_repo import SqlOutboxRows
from .repos_appraisal import SqlSnapshots
from .repos_channels import SqlChannelAccounts
from .repos_choices import SqlChannelChoices
from .repos_people import SqlChatStates, SqlInvites
from .tables import (AnswerRow, AuditRow, BlockRow, ChannelAccountRow, ChatStateRow, CriteriaSetRow, EvidenceRow,
                     InviteRow, OutboxRow, PeriodCriteriaRow, PeriodRow, PersonRow, RoleRow, ScoreRow, UnitRow,
                     UnitStageRow, utcnow)



class _ContentCache:
    """Immutable objects built from stored content, kept per process under a key made of that content (its hash):
    a changed row gives a new key, an unchanged one the object already built. Shared across threads and
    transactions, so what it holds is never mutated."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._size, self._lock = size, threading.Lock()

    def get(self, key: Hashable, build: Callable[[], object]) -> object:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()  # outside the lock: two threads may build the same value once each, both are right
        with self._lock:
            self._items[key] = value
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


_criteria_sets = _ContentCache(64)  # content hash -> CriteriaSet
_periods = _ContentCache(64)  # (id, year, config JSON, links with their sets' hashes) -> Period


def _parse(content_hash: str, text: str) -> CriteriaSet:
    criteria_set, problems = parse_criteria_set(text, f"stored set {content_hash[:12]}")
    if criteria_set is None:
        raise DomainError("criteria.stored_invalid", problems=[
            Message("criteria.at", path=p.path, problem=p.message) if p.path else p.message for p in problems])
    return criteria_set


def _criteria_set(session: Session, set_id: int, content_hash: str) -> CriteriaSet:
    """The parsed set of that hash; its YAML is read and parsed only the first time the process meets it."""
    def build() -> CriteriaSet:
        text = session.execute(sa.select(CriteriaSetRow.source_text).where(CriteriaSetRow.id == set_id)).scalar_one()
        return _parse(content_hash, text)
    return _criteria_sets.get(content_hash, build)  # type: ignore[return-value]


_PLAIN: dict[tuple, sa.Select] = {}  # (table, order_by, columns compared): its statement, built once


def _plain(session: Session, table: type, *, order_by: str | None = None, **equal: object) -> list[sa.Row]:
    """A table's rows whose columns ``equal`` the values given, as Core rows (attribute access like the ORM
    object's, without building and tracking one); pending changes are flushed first, as the ORM's autoflush
    would. The statement of each shape is built once and bound each time: building it cost more than running it."""
    session.flush()
    shape = (table, order_by, *equal)
    query = _PLAIN.get(shape)
    if query is None:
        columns = table.__table__.c  # type: ignore[attr-defined]
        query = sa.select(table.__table__).where(  # type: ignore[attr-defined]
            *(columns[name] == sa.bindparam(name) for name in equal))
        query = _PLAIN[shape] = query if order_by is None else query.order_by(columns[order_by])
    return list(session.connection().execute(query, equal))


_WRITES = "parbot_writes"  # Connection.info: statements that may have changed data, counted by table
_READS = "parbot_reads"  # Session.info: reads of the current transaction -> (their tables' counts then, value)
_ANY = "*"  # a statement whose table is not known (a savepoint's rollback...): every read may have changed
_WRITE = re.compile(r'(?:INSERT(?: OR \w+)? INTO|UPDATE|DELETE FROM) "?(\w+)')


@sa.event.listens_for(Engine, "before_cursor_execute")
def _count_writes(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001 - DBAPI
    if not statement.startswith("SELECT"):  # what was read of that table may have changed
        written = _WRITE.match(statement)
        conn.info.setdefault(_WRITES, Counter())[written.group(1) if written else _ANY] += 1


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_reads(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # not a flush's inner one: the next transaction sees what others committed
        session.info.pop(_READS, None)


def _memo(session: Session, key: Hashable, read: Callable[[], object], table: str) -> object:
    """A read of ``table`` repeated within one transaction (a turn's services each read the unit, its stage,
    answers and evidence; a write reads its row again) is taken again only if the transaction wrote to that
    table since; values are immutable, copied by callers, or the ORM row the session would return anyway."""
    session.flush()  # pending changes count as writes, as the read's own autoflush would make them
    counts = session.connection().info.get(_WRITES, {})
    stamp = (counts.get(_ANY, 0), counts.get(table, 0))
    reads = session.info.setdefault(_READS, {})
    hit = reads.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    value = read()
    reads[key] = (stamp, value)
    return value


def _forget(session: Session) -> None:
    """What the transaction read is read again (on PostgreSQL, once a row lock was waited for)."""
    session.info.pop(_READS, None)


class _Repo:
    def __init__(self, session: Session) -> None:
        self.session = session


class SqlCriteriaSets(_Repo):
    def _key(self, code: str, version: int) -> tuple[int, str] | None:
        """Id and hash, without the YAML: enough to find the parsed set in the process's cache."""
        return self.session.execute(sa.select(CriteriaSetRow.id, CriteriaSetRow.content_hash).where(
            CriteriaSetRow.code == code, CriteriaSetRow.version == version)).first()  # type: ignore[return-value]

    def get(self, code: str, version: int) -> CriteriaSet | None:
        key = self._key(code, version)
        return None if key is None else _criteria_set(self.session, *key)

    def by_id(self, set_id: int) -> CriteriaSet:
        content_hash = self.session.execute(sa.select(CriteriaSetRow.content_hash).where(
            CriteriaSetRow.id == set_id)).scalar_one()
        return _criteria_set(self.session, set_id, content_hash)

    def id_of(self, code: str, version: int) -> int | None:
        key = self._key(code, version)
        return None if key is None else key[0]

    def add(self, criteria_set: CriteriaSet) -> int:
        spec = criteria_set.spec
        row = CriteriaSetRow(code=spec.code, version=spec.version, year=spec.year, title=spec.title,
                             content_hash=criteria_set.content_hash, source_text=criteria_set.source_text)
        self.session.add(row)
        self.session.flush()
        _criteria_sets.get(criteria_set.content_hash, lambda: criteria_set)  # parsed already: never again
        return row.id  # type: ignore[return-value]

    def list(self) -> list[tuple[str, int, int, str]]:
        rows = self.session.exec(select(CriteriaSetRow).order_by(CriteriaSetRow.year, CriteriaSetRow.code))
        return [(r.code, r.version, r.year, r.title) for r in rows]


class SqlBlocks(_Repo):
    def upsert(self, block: Block) -> None:
        row = self.session.get(BlockRow, block.code) or BlockRow(code=block.code, name=block.name)
        row.name, row.name_en = block.name, block.name_en
        self.session.add(row)
        self.session.flush()

    def get(self, code: str) -> Block | None:
        row = self.session.get(BlockRow, code)
        return None if row is None else Block(row.code, row.name, row.name_en)

    def list(self) -> list[Block]:
        return [Block(r.code, r.name, r.name_en) for r in self.session.exec(select(BlockRow).order_by(BlockRow.code))]


def _unit(row: UnitRow) -> Unit:
    return Unit(code=row.code, name=row.name, block=row.block, parent_code=row.parent_code,
                valid_from=row.valid_from or None, valid_to=row.valid_to,
                predecessors=tuple(row.predecessors or ()))


class SqlUnits(_Repo):
    """Units are versioned by year: ``get`` and ``list`` with a year give the version valid that year."""

    def versions(self, code: str) -> list[Unit]:
        return list(_memo(self.session, ("unit", code), lambda: tuple(  # type: ignore[arg-type]
            _unit(r) for r in _plain(self.session, UnitRow, code=code, order_by="valid_from")),
            UnitRow.__tablename__))

    def get(self, code: str, year: int | None = None) -> Unit | None:
        versions = self.versions(code)
        if year is not None:
            versions = [u for u in versions if u.exists_in(year)]
        return versions[-1] if versions else None

    def list(self, block: str | None = None, year: int | None = None) -> list[Unit]:
        query = select(UnitRow).order_by(UnitRow.code, UnitRow.valid_from)
        if block is not None:
            query = query.where(UnitRow.block == block)
        units = [_unit(r) for r in self.session.exec(query)]
        return [u for u in units if year is None or u.exists_in(year)]

    def close(self, code: str, last_year: int) -> None:
        """End the open version of a unit (merged into another) with ``last_year``."""
        for row in self.session.exec(select(UnitRow).where(UnitRow.code == code, UnitRow.valid_from <= last_year,
                                                            UnitRow.valid_to.is_(None))):
            row.valid_to = last_year
            self.session.add(row)
        self.session.flush()

    def upsert(self, unit: Unit) -> None:
        """Add or update the version starting in ``unit.valid_from``; an open earlier version is closed the
        year before, so importing next year's registry never rewrites history."""
        start = unit.valid_from or 0
        row = self.session.exec(select(UnitRow).where(UnitRow.code == unit.code, UnitRow.valid_from == start)).first()
        if row is None:
            row = UnitRow(code=unit.code, name=unit.name, block=unit.block, valid_from=start)
            for earlier in self.session.exec(select(UnitRow).where(UnitRow.code == unit.code,
                                                                   UnitRow.valid_from < start,
                                                                   UnitRow.valid_to.is_(None))):
                earlier.valid_to = start - 1
                self.session.add(earlier)
        row.name, row.block, row.parent_code = unit.name, unit.block, unit.parent_code
        row.valid_to, row.predecessors = unit.valid_to, list(unit.predecessors)
        self.session.add(row)
        self.session.flush()


# What identifies a period's content, built once: a statement made per call costs more than running it cached.
_PERIOD = (sa.select(PeriodRow.id, PeriodRow.year, sa.cast(PeriodRow.config, sa.Text), PeriodCriteriaRow.block,
                     CriteriaSetRow.id, CriteriaSetRow.content_hash)
           .outerjoin(PeriodCriteriaRow, PeriodCriteriaRow.period_id == PeriodRow.id)
           .outerjoin(CriteriaSetRow, CriteriaSetRow.id == PeriodCriteriaRow.criteria_set_id)
           .order_by(PeriodCriteriaRow.block))
_PERIOD_BY_YEAR = _PERIOD.where(PeriodRow.year == sa.bindparam("year"))
_PERIOD_BY_ID = _PERIOD.where(PeriodRow.id == sa.bindparam("id"))
_PERIOD_CURRENT = _PERIOD.where(PeriodRow.year == sa.select(sa.func.max(PeriodRow.year)).scalar_subquery())


class SqlPeriods(_Repo):
    """Periods come from the process's cache: one statement reads what identifies a period's content (its
    config, and each block's set id and content hash, never the YAML) and the Period built for that content is
    reused, so a turn neither re-parses the config nor re-reads and re-parses the criteria."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._current: Period | None | bool = False  # False: not read yet in this transaction

    def _read(self, query: sa.Select, **params: object) -> Period | None:
        rows = self.session.execute(query, params).all()
        if not rows:
            return None
        period_id, year, config = rows[0][:3]
        links = tuple((block, set_id, content_hash) for *_, block, set_id, content_hash in rows if block is not None)

        def build() -> Period:
            return Period(id=period_id, year=year, config=PeriodConfig.model_validate_json(config),
                          criteria_sets={block: _criteria_set(self.session, set_id, content_hash)
                                         for block, set_id, content_hash in links})
        return _periods.get((period_id, year, config, links), build)  # type: ignore[return-value]

    def get(self, year: int) -> Period | None:
        return self._read(_PERIOD_BY_YEAR, year=year)

    def current(self) -> Period | None:
        """The latest period: the one officers work on unless a year is named. Read once per transaction (a
        conversation turn asks for it in every service it calls); save() forgets it."""
        if self._current is False:
            self._current = self._read(_PERIOD_CURRENT)
        return self._current  # type: ignore[return-value]

    def by_id(self, period_id: int) -> Period | None:
        return self._read(_PERIOD_BY_ID, id=period_id)

    def save(self, config: PeriodConfig, criteria_ids: dict[str, int]) -> Period:
        self._current = False
        row = self.session.exec(select(PeriodRow).where(PeriodRow.year == config.year)).first()
        if row is None:
            row = PeriodRow(year=config.year)
        row.config = config.model_dump(mode="json")
        row.updated_at = utcnow()
        self.session.add(row)
        self.session.flush()
        for link in self.session.exec(select(PeriodCriteriaRow).where(PeriodCriteriaRow.period_id == row.id)):
            self.session.delete(link)
        self.session.flush()
        for block, set_id in criteria_ids.items():
            self.session.add(PeriodCriteriaRow(period_id=row.id, block=block, criteria_set_id=set_id))
        self.session.flush()
        return self.by_id(row.id)  # type: ignore[arg-type, return-value]

    def years(self) -> list[int]:
        return list(self.session.exec(select(PeriodRow.year).order_by(PeriodRow.year)))


def _score(row: ScoreRow) -> Score:
    return Score(unit_code=row.unit_code, item_code=row.item_code, source=row.source, points=row.points,
                 not_applicable=row.not_applicable, reason=row.reason, appraisal_round=row.appraisal_round,
                 by=row.by, at=row.at)


_SCORE = ScoreRow.__table__  # type: ignore[attr-defined]
_SCORE_INSERT = sa.insert(_SCORE)
_SCORE_UPDATE = sa.update(_SCORE).where(_SCORE.c.id == sa.bindparam("row_id"))
_SCORE_DELETE = sa.delete(_SCORE).where(_SCORE.c.id == sa.bindparam("row_id"))


class SqlScores(_Repo):
    """Read and written with Core rows, never as ORM objects (built, tracked and flushed on every answer)."""

    def _select(self, period_id: int, unit_codes: list[str] | None = None) -> sa.Result:
        self.session.flush()  # pending changes first, as the ORM's autoflush would
        query = sa.select(_SCORE).where(_SCORE.c.period_id == period_id)
        if unit_codes is not None:
            query = query.where(_SCORE.c.unit_code.in_(unit_codes))
        return self.session.connection().execute(query)

    def for_period(self, period_id: int, unit_codes: Iterable[str] | None = None) -> list[Score]:
        return [_score(r) for r in self._select(period_id, None if unit_codes is None else list(unit_codes))]

    def values_for_period(self, period_id: int, unit_codes: Iterable[str] | None = None) -> list[ScoreValue]:
        """The engine's read: Core rows into named tuples, no ORM objects. Building a model object per row
        cost ~30 µs — over a minute for 10,000 units × 100 items × 3 sources."""
        query = sa.select(ScoreRow.unit_code, ScoreRow.item_code, ScoreRow.source, ScoreRow.points,
                          ScoreRow.not_applicable, ScoreRow.reason).where(ScoreRow.period_id == period_id)
        rows = self.session.connection().execute(query)
        if unit_codes is None:
            return [ScoreValue(*row) for row in rows]
        keep = set(unit_codes)  # filtering here beats thousands of IN parameters for a large block
        return [ScoreValue(*row) for row in rows if row[0] in keep]

    def _row(self, period_id: int, unit_code: str, item_code: str, source: str) -> sa.Row | None:
        """Read once for the check and the write of one score."""
        def read() -> sa.Row | None:
            rows = _plain(self.session, ScoreRow, period_id=period_id, unit_code=unit_code, item_code=item_code,
                          source=source)
            return rows[0] if rows else None
        return _memo(self.session, ("score", period_id, unit_code, item_code, source), read,  # type: ignore[return-value]
                     ScoreRow.__tablename__)

    def get(self, period_id: int, unit_code: str, item_code: str, source: str) -> Score | None:
        row = self._row(period_id, unit_code, item_code, source)
        return None if row is None else _score(row)

    def _rows(self, period_id: int, keys: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], sa.Row]:
        if len(keys) == 1:
            row = self._row(period_id, *keys[0])
            return {keys[0]: row} if row is not None else {}
        units = sorted({k[0] for k in keys})
        wanted = set(keys)
        return {key: r for r in self._select(period_id, units if len(units) <= CHUNK else None)
                if (key := (r.unit_code, r.item_code, r.source)) in wanted}

    def existing(self, period_id: int, keys: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], Score]:
        return {key: _score(row) for key, row in self._rows(period_id, keys).items()} if keys else {}

    def put_many(self, period_id: int, scores: list[Score]) -> None:
        if not scores:
            return
        rows = self._rows(period_id, [(s.unit_code, s.item_code, s.source) for s in scores])
        now = utcnow()
        inserts, updates = [], []
        for score in scores:
            values = {"points": score.points, "not_applicable": score.not_applicable, "reason": score.reason,
                      "appraisal_round": score.appraisal_round, "by": score.by, "at": score.at or now}
            row = rows.get((score.unit_code, score.item_code, score.source))
            if row is None:
                inserts.append({"period_id": period_id, "unit_code": score.unit_code, "item_code": score.item_code,
                                "source": score.source, **values})
            else:
                updates.append({"row_id": row.id, **values})
        self.session.flush()  # the units and period they refer to written first, as the ORM's flush would
        connection = self.session.connection()
        if inserts:
            connection.execute(_SCORE_INSERT, inserts)
        if updates:
            connection.execute(_SCORE_UPDATE, updates)

    def delete(self, period_id: int, unit_code: str, item_code: str, source: str) -> None:
        row = self._row(period_id, unit_code, item_code, source)
        if row is not None:
            self.session.connection().execute(_SCORE_DELETE, {"row_id": row.id})


_AUDIT_INSERT = sa.insert(AuditRow.__table__)  # type: ignore[attr-defined]


class SqlAudit(_Repo):
    def add(self, entry: AuditEntry) -> None:
        """A Core insert, run at once: an audit row is never read back as an object, and building and flushing
        an ORM one cost more than the insert (written on every answer and score)."""
        self.session.flush()  # what it may refer to (a unit, a period) written first, as the ORM's flush would
        self.session.connection().execute(_AUDIT_INSERT, {
            "actor": entry.actor, "action": entry.action, "period_id": entry.period_id, "unit_code": entry.unit_code,
            "item_code": entry.item_code, "source": entry.source, "old": entry.old, "new": entry.new,
            "reason": entry.reason, "at": entry.at or utcnow()})

    def query(self, period_id: int | None = None, unit_code: str | None = None,
              item_code: str | None = None) -> list[AuditEntry]:
        query = select(AuditRow).order_by(AuditRow.at, AuditRow.id)
        if period_id is not None:
            query = query.where(AuditRow.period_id == period_id)
        if unit_code is not None:
            query = query.where(AuditRow.unit_code == unit_code)
        if item_code is not None:
            query = query.where(AuditRow.item_code == item_code)
        return [AuditEntry(actor=r.actor, action=r.action, period_id=r.period_id, unit_code=r.unit_code,
                           item_code=r.item_code, source=r.source, old=r.old, new=r.new, reason=r.reason, at=r.at)
                for r in self.session.exec(query)]


def _person(row: PersonRow) -> Person:
    return Person(id=row.id, telegram_id=row.telegram_id, chat_id=row.chat_id, name=row.name,  # type: ignore[arg-type]
                  username=row.username, language=row.language, unreachable_at=row.unreachable_at)


class SqlPeople(_Repo):
    def get(self, person_id: int, for_update: bool = False) -> Person | None:
        """With ``for_update`` the row is locked until the transaction ends and read again after the lock."""
        row = (self.session.get(PersonRow, person_id, with_for_update=True, populate_existing=True) if for_update
               else self.session.get(PersonRow, person_id))
        return None if row is None else _person(row)

    def by_telegram_id(self, telegram_id: int) -> Person | None:
        """Every update starts here: a Core row, not an ORM object."""
        rows = _plain(self.session, PersonRow, telegram_id=telegram_id)
        return _person(rows[0]) if rows else None

    def ensure(self, telegram_id: int, chat_id: int | None, name: str, username: str | None,
               language: str) -> Person:
        """Find or create the person; keep name and chat current (a new Telegram name is harmless)."""
        query = select(PersonRow).where(PersonRow.telegram_id == telegram_id)
        row = self.session.exec(query).first()
        if row is None:
            # The same account's messages handled at once (a repeated /start) both insert: the later one
            # finds the row the first committed (PostgreSQL makes it wait for that commit).
            try:
                with self.session.begin_nested():
                    self.session.add(PersonRow(telegram_id=telegram_id, language=language, name=name))
            except IntegrityError:
                pass
            row = self.session.exec(query.execution_options(populate_existing=True)).one()
        row.chat_id = chat_id if chat_id is not None else row.chat_id
        row.name, row.username = name, username
        self.session.add(row)
        self.session.flush()
        return _person(row)

    def create(self, name: str, language: str) -> Person:
        """A person without a Telegram account (they joined on Zalo; their account is a channel_account row)."""
        row = PersonRow(telegram_id=None, name=name, language=language)
        self.session.add(row)
        self.session.flush()
        return _person(row)

    def attach_telegram(self, person_id: int, telegram_id: int, chat_id: int) -> None:
        """A person who joined on another channel links their Telegram account (core/services/channels).
        ValueError when the account is another person's, though linked by a transaction not yet committed
        when this one looked (the unique Telegram id decides; PostgreSQL waits for that commit)."""
        row = self.session.get(PersonRow, person_id)
        try:
            with self.session.begin_nested():
                row.telegram_id, row.chat_id = telegram_id, chat_id
                self.session.add(row)
        except IntegrityError:
            raise ValueError("account already linked to another person") from None

    def set_language(self, person_id: int, language: str) -> None:
        row = self.session.get(PersonRow, person_id)
        row.language = language
        self.session.add(row)

    def mark_unreachable(self, person_id: int, reason: str) -> None:
        row = self.session.get(PersonRow, person_id)
        if row.unreachable_at is None:
            row.unreachable_at, row.unreachable_reason = utcnow(), reason
            self.session.add(row)

    def mark_reachable(self, person_id: int) -> None:
        row = self.session.get(PersonRow, person_id)
        if row.unreachable_at is not None:
            row.unreachable_at, row.unreachable_reason = None, None
            self.session.add(row)

    def list(self) -> list[Person]:
        return [_person(r) for r in self.session.exec(select(PersonRow).order_by(PersonRow.id))]

    def merge_into(self, other_id: int, keep_id: int) -> dict[str, int]:
        """Move everything of person ``other_id`` to ``keep_id``, then delete ``other_id`` (the service checked
        that nothing conflicts): the Telegram account, the channel accounts, the grants (one the kept person
        holds already is dropped), the invitations used, the outbox rows (their channel and chat are the moved
        accounts'). The chat state is dropped: the service puts the merged one. Returns how many grants,
        accounts and pending outbox rows moved."""
        s = self.session
        other, keep = s.get(PersonRow, other_id), s.get(PersonRow, keep_id)
        counts = dict.fromkeys(("grants", "accounts", "pending"), 0)
        if other.telegram_id is not None:
            moved = (other.telegram_id, other.chat_id, other.username, other.unreachable_at, other.unreachable_reason)
            other.telegram_id = other.chat_id = None
            s.add(other)
            s.flush()  # telegram_id is unique
            keep.telegram_id, keep.chat_id, keep.username, keep.unreachable_at, keep.unreachable_reason = moved
            s.add(keep)
        held = {(r.role, r.unit_code, r.block) for r in s.exec(select(RoleRow).where(RoleRow.person_id == keep_id))}
        for role in s.exec(select(RoleRow).where(RoleRow.person_id == other_id)).all():
            if (role.role, role.unit_code, role.block) in held:
                s.delete(role)
                continue
            role.person_id = keep_id
            counts["grants"] += 1
        for account in s.exec(select(ChannelAccountRow).where(ChannelAccountRow.person_id == other_id)).all():
            account.person_id = keep_id
            counts["accounts"] += 1
        for invite in s.exec(select(InviteRow).where(InviteRow.used_by == other_id)).all():
            invite.used_by = keep_id
        if (state := s.get(ChatStateRow, other_id)) is not None:
            s.delete(state)
        for row in s.exec(select(OutboxRow).where(OutboxRow.person_id == other_id)).all():
            row.person_id = keep_id
            counts["pending"] += row.status == "pending"
        s.flush()
        s.delete(other)
        s.flush()
        return counts


class SqlRoles(_Repo):
    def grants(self, person_id: int) -> list[Grant]:
        rows = _plain(self.session, RoleRow, person_id=person_id, order_by="id")
        return [Grant(Role(r.role), r.unit_code, r.block) for r in rows]

    def add(self, person_id: int, grant: Grant, invite_id: int | None = None) -> bool:
        exists = self.session.exec(select(RoleRow).where(
            RoleRow.person_id == person_id, RoleRow.role == grant.role.value,
            RoleRow.unit_code == grant.unit_code, RoleRow.block == grant.block)).first()
        if exists is not None:
            return False
        self.session.add(RoleRow(person_id=person_id, role=grant.role.value, unit_code=grant.unit_code,
                                 block=grant.block, invite_id=invite_id))
        self.session.flush()
        return True

    def remove(self, person_id: int, grant: Grant | None = None) -> int:
        query = select(RoleRow).where(RoleRow.person_id == person_id)
        if grant is not None:
            query = query.where(RoleRow.role == grant.role.value, RoleRow.unit_code == grant.unit_code,
                                RoleRow.block == grant.block)
        rows = list(self.session.exec(query))
        for row in rows:
            self.session.delete(row)
        self.session.flush()
        return len(rows)

    def holders(self, role: str, unit_code: str | None = None) -> list[Person]:
        query = select(PersonRow).join(RoleRow, RoleRow.person_id == PersonRow.id).where(RoleRow.role == role)
        if unit_code is not None:
            query = query.where(RoleRow.unit_code == unit_code)
        return [_person(r) for r in self.session.exec(query.distinct().order_by(PersonRow.id))]

    def all(self) -> list[tuple[Person, Grant]]:
        query = select(PersonRow, RoleRow).join(RoleRow, RoleRow.person_id == PersonRow.id).order_by(
            PersonRow.id, RoleRow.id)
        return [(_person(p), Grant(Role(r.role), r.unit_code, r.block)) for p, r in self.session.exec(query)]


def _answer(row: AnswerRow) -> Answer:
    return Answer(unit_code=row.unit_code, item_code=row.item_code, value=dict(row.value or {}),
                  not_applicable=row.not_applicable, points=row.points, explanation=row.explanation,
                  answered_by=row.answered_by, answered_at=row.answered_at)


_ANSWER = AnswerRow.__table__  # type: ignore[attr-defined]
_ANSWER_INSERT = sa.insert(_ANSWER)
_ANSWER_UPDATE = sa.update(_ANSWER).where(_ANSWER.c.id == sa.bindparam("row_id"))
_ANSWER_DELETE = sa.delete(_ANSWER).where(_ANSWER.c.id == sa.bindparam("row_id"))


class SqlAnswers(_Repo):
    """Read and written with Core, never as ORM objects (built, tracked and flushed on every typed answer)."""

    def _row(self, period_id: int, unit_code: str, item_code: str) -> sa.Row | None:
        """Read once for ``get`` then ``put`` of one answer."""
        def read() -> sa.Row | None:
            rows = _plain(self.session, AnswerRow, period_id=period_id, unit_code=unit_code, item_code=item_code)
            return rows[0] if rows else None
        return _memo(self.session, ("answer", period_id, unit_code, item_code), read,  # type: ignore[return-value]
                     AnswerRow.__tablename__)

    def get(self, period_id: int, unit_code: str, item_code: str) -> Answer | None:
        row = self._row(period_id, unit_code, item_code)
        return None if row is None else _answer(row)

    def for_unit(self, period_id: int, unit_code: str) -> dict[str, Answer]:
        """Read on every turn (the unit's overview)."""
        def read() -> dict[str, Answer]:
            rows = _plain(self.session, AnswerRow, period_id=period_id, unit_code=unit_code)
            return {r.item_code: _answer(r) for r in rows}
        return dict(_memo(self.session, ("answers", period_id, unit_code), read,  # type: ignore[call-overload]
                          AnswerRow.__tablename__))

    def for_period(self, period_id: int) -> list[Answer]:
        return [_answer(r) for r in _plain(self.session, AnswerRow, period_id=period_id)]

    def put(self, period_id: int, answer: Answer) -> None:
        row = self._row(period_id, answer.unit_code, answer.item_code)
        values = {"value": answer.value, "not_applicable": answer.not_applicable, "points": answer.points,
                  "explanation": answer.explanation, "answered_by": answer.answered_by,
                  "answered_at": answer.answered_at or utcnow()}
        self.session.flush()  # the unit and period it refers to written first, as the ORM's flush would
        if row is None:
            self.session.connection().execute(_ANSWER_INSERT, {
                "period_id": period_id, "unit_code": answer.unit_code, "item_code": answer.item_code, **values})
        else:
            self.session.connection().execute(_ANSWER_UPDATE, {"row_id": row.id, **values})

    def delete(self, period_id: int, unit_code: str, item_code: str) -> None:
        row = self._row(period_id, unit_code, item_code)
        if row is not None:
            self.session.connection().execute(_ANSWER_DELETE, {"row_id": row.id})


def _evidence(row: EvidenceRow) -> Evidence:
    return Evidence(id=row.id, unit_code=row.unit_code, item_code=row.item_code, kind=row.kind, sha256=row.sha256,
                    stored_path=row.stored_path, size=row.size, mime_type=row.mime_type, file_name=row.file_name,
                    reference=row.reference, purpose=row.purpose, sender_id=row.sender_id, created_at=row.created_at)


class SqlEvidence(_Repo):
    def add(self, period_id: int, evidence: Evidence) -> int:
        row = EvidenceRow(period_id=period_id, unit_code=evidence.unit_code, item_code=evidence.item_code,
                          kind=evidence.kind, sha256=evidence.sha256, stored_path=evidence.stored_path,
                          size=evidence.size, mime_type=evidence.mime_type, file_name=evidence.file_name,
                          reference=evidence.reference, purpose=evidence.purpose, sender_id=evidence.sender_id)
        self.session.add(row)
        self.session.flush()
        return row.id  # type: ignore[return-value]

    def for_unit(self, period_id: int, unit_code: str) -> list[Evidence]:
        """Read on every turn (the unit's overview), as answers are."""
        return list(_memo(self.session, ("evidence", period_id, unit_code), lambda: tuple(  # type: ignore[arg-type]
            _evidence(r) for r in _plain(self.session, EvidenceRow, period_id=period_id, unit_code=unit_code,
                                         order_by="id")),
            EvidenceRow.__tablename__))

    def for_period(self, period_id: int) -> list[Evidence]:
        rows = self.session.exec(select(EvidenceRow).where(EvidenceRow.period_id == period_id).order_by(EvidenceRow.id))
        return [_evidence(r) for r in rows]

    def get(self, evidence_id: int) -> Evidence | None:
        row = self.session.get(EvidenceRow, evidence_id)
        return None if row is None else _evidence(row)


def _stage(row: UnitStageRow) -> UnitStage:
    return UnitStage(unit_code=row.unit_code, submitted_at=row.submitted_at, submitted_by=row.submitted_by,
                     approved_at=row.approved_at, approved_by=row.approved_by, state=dict(row.state or {}))


class SqlStages(_Repo):
    def get(self, period_id: int, unit_code: str, for_update: bool = False) -> UnitStage:
        """With ``for_update``, the row is locked until the transaction ends (created first if missing, so
        there is a row to lock): read-modify-write paths of one unit run one after another on PostgreSQL.
        SQLite needs nothing more: its write transactions already run one at a time."""
        if for_update and self.session.get_bind().dialect.name == "postgresql":
            # Never memoized; once the lock is held, what was read before it is read again.
            statement = pg_insert(UnitStageRow).values(period_id=period_id, unit_code=unit_code, state={})
            self.session.execute(statement.on_conflict_do_nothing(index_elements=["period_id", "unit_code"]))
            row = self.session.get(UnitStageRow, (period_id, unit_code), with_for_update=True,
                                   populate_existing=True)
            _forget(self.session)
            return UnitStage(unit_code=unit_code) if row is None else _stage(row)

        def read() -> UnitStage:  # read on every turn: a Core row, not an ORM object to build and track
            rows = _plain(self.session, UnitStageRow, period_id=period_id, unit_code=unit_code)
            return UnitStage(unit_code=unit_code) if not rows else _stage(rows[0])
        return _memo(self.session, ("stage", period_id, unit_code), read,  # type: ignore[return-value]
                     UnitStageRow.__tablename__)

    def put(self, period_id: int, stage: UnitStage) -> None:
        row = self.session.get(UnitStageRow, (period_id, stage.unit_code)) or UnitStageRow(
            period_id=period_id, unit_code=stage.unit_code)
        row.submitted_at, row.submitted_by = stage.submitted_at, stage.submitted_by
        row.approved_at, row.approved_by, row.state = stage.approved_at, stage.approved_by, dict(stage.state)
        self.session.add(row)
        self.session.flush()

    def for_period(self, period_id: int, for_update: bool = False) -> dict[str, UnitStage]:
        """With ``for_update``, every row of the period is locked, in unit order: two transactions locking
        many units (closing a round, importing a workbook) take them in the same order and never deadlock."""
        query = select(UnitStageRow).where(UnitStageRow.period_id == period_id)
        if for_update and self.session.get_bind().dialect.name == "postgresql":
            query = query.order_by(UnitStageRow.unit_code).with_for_update().execution_options(populate_existing=True)
        return {r.unit_code: _stage(r) for r in self.session.exec(query)}


class SqlUnitOfWork:
    """One transaction: ``with uow: ...; uow.commit()``. Leaving the block without commit rolls back."""

    # Later stages register their repositories here (attribute name -> class taking a Session).
    repositories: dict[str, Callable[[Session], object]] = {
        "criteria_sets": SqlCriteriaSets,
        "blocks": SqlBlocks,
        "units": SqlUnits,
        "periods": SqlPeriods,
        "scores": SqlScores,
        "audit": SqlAudit,
        "people": SqlPeople,
        "roles": SqlRoles,
        "answers": SqlAnswers,
        "evidence": SqlEvidence,
        "stages": SqlStages,
        "outbox": SqlOutbox,
        "invites": SqlInvites,
        "chat_states": SqlChatStates,
        "snapshots": SqlSnapshots,
        "outbox_rows": SqlOutboxRows,
        "channel_accounts": SqlChannelAccounts,
        "channel_choices": SqlChannelChoices,
    }

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.session: Session | None = None
        self._depth = 0
        self._reader = False

    def reading(self) -> "SqlUnitOfWork":
        """Begin the next transaction as a reader: on SQLite it takes the write lock only if it writes, and
        if another writer got there first it ends in WriteConflict (to re-run as a writer)."""
        self._reader = True
        return self

    def __enter__(self) -> "SqlUnitOfWork":
        # Re-entrant: a service may call another service inside the same transaction.
        if self._depth == 0:
            bind = self.engine.execution_options(**{READER_OPTION: True}) if self._reader else self.engine
            self.session = Session(bind, expire_on_commit=False)
            for name, factory in self.repositories.items():
                setattr(self, name, factory(self.session))
            self.chat_states.deferring = self._reader
        self._depth += 1
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            assert self.session is not None
            self.session.rollback()
            self.session.close()
            self.session = None
            reader, self._reader = self._reader, False
            if reader and isinstance(exc, sa.exc.OperationalError) and "locked" in str(exc.orig):
                raise WriteConflict() from exc

    def commit(self) -> None:
        assert self.session is not None
        if self._depth != 1:
            self.session.flush()
        elif self._reader and self.chat_states.pending:
            self._commit_reader()
        else:
            self.session.commit()

    def _commit_reader(self) -> None:
        """A reader that moved its chat state: written in its own transaction if SQLite lets it take the write
        lock; else another writer committed since the turn read, the transaction is left (it wrote nothing:
        a write would have taken the lock) and the state is written in a short one of its own, over the row
        the turn read. Only if that row changed meanwhile does the turn re-run (WriteConflict)."""
        self.session.flush()  # what else it wrote: a conflict there re-runs the turn as a writer
        try:
            written = self.chat_states.write_deferred(self.session.connection())
        except sa.exc.OperationalError as exc:
            if "locked" not in str(exc.orig):
                raise
            self.session.rollback()
            with self.engine.begin() as connection:
                if not self.chat_states.write_deferred(connection):
                    raise WriteConflict() from None
            return
        if not written:
            raise WriteConflict()
        self.session.commit()

    def rollback(self) -> None:
        assert self.session is not None
        self.session.rollback()
