"""Repositories for invitations and chat state (what a person's chat is waiting for)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from ..core.model import Invite
from .tables import ChatStateRow, InviteRow, utcnow


def _invite(row: InviteRow) -> Invite:
    return Invite(id=row.id, code_hash=row.code_hash, code_hint=row.code_hint, role=row.role,
                  unit_code=row.unit_code, block=row.block, expires_at=row.expires_at, created_by=row.created_by,
                  created_at=row.created_at, note=row.note, used_by=row.used_by, used_at=row.used_at,
                  revoked_at=row.revoked_at)


class SqlInvites:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, invite: Invite) -> int:
        row = InviteRow(code_hash=invite.code_hash, code_hint=invite.code_hint, role=invite.role,
                        unit_code=invite.unit_code, block=invite.block, note=invite.note,
                        expires_at=invite.expires_at, created_by=invite.created_by,
                        created_at=invite.created_at or utcnow())
        self.session.add(row)
        self.session.flush()
        return row.id  # type: ignore[return-value]

    def get(self, invite_id: int) -> Invite | None:
        # Fresh from the database: ``consume`` changes the row behind the session's back.
        row = self.session.get(InviteRow, invite_id, populate_existing=True)
        return None if row is None else _invite(row)

    def by_hash(self, code_hash: str) -> Invite | None:
        row = self.session.exec(select(InviteRow).where(InviteRow.code_hash == code_hash)).first()
        return None if row is None else _invite(row)

    def by_hint(self, hint: str) -> list[Invite]:
        return [_invite(r) for r in self.session.exec(select(InviteRow).where(InviteRow.code_hint == hint))]

    def list(self) -> list[Invite]:
        return [_invite(r) for r in self.session.exec(select(InviteRow).order_by(InviteRow.id))]

    def consume(self, invite_id: int, person_id: int, at: datetime) -> bool:
        """Mark the invite used if it still is active, in one statement: of N accounts racing on one code
        exactly one gets True (a read-then-write would let all of them through on PostgreSQL)."""
        statement = (sa.update(InviteRow)
                     .where(InviteRow.id == invite_id, InviteRow.used_at.is_(None), InviteRow.revoked_at.is_(None),
                            InviteRow.expires_at > at)
                     .values(used_by=person_id, used_at=at)
                     .returning(InviteRow.id))
        return self.session.execute(statement).first() is not None

    def revoke(self, invite_id: int, at: datetime) -> None:
        row = self.session.get(InviteRow, invite_id)
        row.revoked_at = at
        self.session.add(row)
        self.session.flush()


_STATE = ChatStateRow.__table__
_STATE_SELECT = sa.select(_STATE.c.data, _STATE.c.updated_at).where(_STATE.c.person_id == sa.bindparam("person_id"))
_STATE_INSERT = sa.insert(_STATE)
_STATE_UPDATE = sa.update(_STATE).where(_STATE.c.person_id == sa.bindparam("row_person_id"))


class SqlChatStates:
    """A reader's unit of work (SqlUnitOfWork.reading) defers what ``put`` writes to its commit, which writes
    each state only if it is still the one the turn read (``write_deferred``). Read and written with Core (read
    on every turn): no ORM object to build, track and flush."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.deferring = False
        self._read: dict[int, datetime | None] = {}  # person -> updated_at of the row read (None: no row)
        self._rows: dict[int, tuple[dict, datetime] | None] = {}  # person -> (data, updated_at) as now stored
        self.pending: dict[int, dict] = {}

    def _row(self, person_id: int) -> tuple[dict, datetime] | None:
        if person_id not in self._rows:
            row = self.session.connection().execute(_STATE_SELECT, {"person_id": person_id}).first()
            self._rows[person_id] = None if row is None else (row.data, row.updated_at)
        return self._rows[person_id]

    def get(self, person_id: int) -> dict:
        row = self._row(person_id)
        self._read.setdefault(person_id, row[1] if row is not None else None)
        return dict(row[0]) if row is not None else {}

    def put(self, person_id: int, data: dict) -> None:
        if self.deferring:
            if person_id not in self._read:
                self.get(person_id)
            self.pending[person_id] = dict(data)
            return
        existed, now = self._row(person_id) is not None, utcnow()
        self.session.flush()  # the person may still be pending in the session
        if existed:
            self.session.connection().execute(_STATE_UPDATE, {"row_person_id": person_id, "data": dict(data),
                                                              "updated_at": now})
        else:
            self.session.connection().execute(_STATE_INSERT, {"person_id": person_id, "data": dict(data),
                                                              "updated_at": now})
        self._rows[person_id] = (dict(data), now)

    def write_deferred(self, connection: Connection) -> bool:
        """Write the deferred states, each only over the row read; False if one was changed meanwhile."""
        table, now = ChatStateRow.__table__, utcnow()
        for person_id, data in self.pending.items():
            read = self._read[person_id]
            if read is None:
                statement = (pg_insert if connection.dialect.name == "postgresql" else sqlite_insert)(table).values(
                    person_id=person_id, data=data, updated_at=now).on_conflict_do_nothing(index_elements=["person_id"])
            else:
                statement = sa.update(table).where(table.c.person_id == person_id, table.c.updated_at == read).values(
                    data=data, updated_at=now)
            if connection.execute(statement).rowcount != 1:
                return False
        return True
