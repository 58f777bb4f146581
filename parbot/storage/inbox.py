"""The inbox: every channel's updates and whether each was handled, the one record that makes an update
handled once. Polled updates are stored as fetched (before the polling offset confirms them) and marked
once handled; webhook updates are recorded when handled. Core rows on a plain connection: no ORM objects."""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Callable, Iterable, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from .batching import CHUNK
from .db import READER_OPTION
from .tables import InboxRow, utcnow

_i = InboxRow.__table__
T = TypeVar("T")


class SqlInbox:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _insert(self):  # noqa: ANN202 - the dialect's INSERT with ON CONFLICT
        return (pg_insert if self.connection.dialect.name == "postgresql" else sqlite_insert)(_i)

    def receive(self, channel: str, updates: list[tuple[str, dict]]) -> set[str]:
        """Store what was fetched (an update fetched again, its offset never confirmed, is kept once) and
        return those of them handled already."""
        if not updates:
            return set()
        now = utcnow()
        self.connection.execute(self._insert().values([
            {"channel": channel, "update_id": update_id, "payload": payload, "received_at": now}
            for update_id, payload in updates]).on_conflict_do_nothing(index_elements=["channel", "update_id"]))
        return set(self.connection.execute(sa.select(_i.c.update_id).where(
            _i.c.channel == channel, _i.c.update_id.in_([u for u, _ in updates]),
            _i.c.handled_at.is_not(None))).scalars())

    def handled(self, channel: str, update_id: str) -> bool:
        return self.connection.execute(sa.select(_i.c.handled_at.is_not(None)).where(
            _i.c.channel == channel, _i.c.update_id == update_id)).scalar() is True

    def mark_handled(self, channel: str, update_ids: Iterable[str]) -> None:
        """Mark stored updates handled (those fetched by polling)."""
        ids, now = list(update_ids), utcnow()
        for start in range(0, len(ids), CHUNK):
            self.connection.execute(sa.update(_i).where(
                _i.c.channel == channel, _i.c.update_id.in_(ids[start:start + CHUNK]),
                _i.c.handled_at.is_(None)).values(handled_at=now))

    def record_handled(self, channel: str, update_id: str, payload: dict) -> None:
        """Record an update handled, stored or not (one taken through the webhook)."""
        insert, now = self._insert(), utcnow()
        insert = insert.values(channel=channel, update_id=update_id, payload=payload, received_at=now, handled_at=now)
        self.connection.execute(insert.on_conflict_do_update(
            index_elements=["channel", "update_id"], set_={"handled_at": now}, where=_i.c.handled_at.is_(None)))

    def unhandled(self, channel: str) -> list[dict]:
        """What a stopped process fetched but did not finish, in the order it was fetched."""
        return list(self.connection.execute(sa.select(_i.c.payload).where(
            _i.c.channel == channel, _i.c.handled_at.is_(None)).order_by(_i.c.id)).scalars())

    def prune(self, before: datetime) -> int:
        """Handled updates are only kept for a while (they no longer matter once handled)."""
        return self.connection.execute(sa.delete(_i).where(_i.c.handled_at < before)).rowcount


def in_inbox(engine: Engine, work: Callable[[SqlInbox], T], *, reading: bool = False) -> T:
    """``work`` in a transaction of its own; ``reading`` begins it deferred on SQLite (no write lock)."""
    bind = engine.execution_options(**{READER_OPTION: True}) if reading else engine
    with bind.begin() as connection:
        return work(SqlInbox(connection))


class PruneClock:
    """When handled updates are next pruned: once per ``every`` seconds of a running process."""

    def __init__(self, keep: timedelta, every: float = 3600.0) -> None:
        self.keep, self.every = keep, every
        self._pruned_at: float | None = None

    def due(self) -> datetime | None:
        """The cutoff to prune before, if it is time; None otherwise."""
        if self._pruned_at is not None and time.monotonic() - self._pruned_at < self.every:
            return None
        self._pruned_at = time.monotonic()
        return utcnow() - self.keep
