"""Webhook updates already handled (table handled_update): what makes a re-sent update a no-op.

A platform sends an update again when it got no 200 in time, and behind one URL the second copy may reach
another process. The webhook server checks here under the chat's lock, handles, then records, so the copy
finds the record. Only a process dying between handling and recording lets a copy through."""
from __future__ import annotations

import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .tables import HandledUpdateRow

_t = HandledUpdateRow.__table__


class HandledUpdates:
    def __init__(self, engine: Engine, *, keep: timedelta = timedelta(days=1),
                 prune_every: float = 3600.0) -> None:
        self.engine, self.keep, self.prune_every = engine, keep, prune_every
        self._pruned_at: float | None = None

    def seen(self, channel: str, update_id: str) -> bool:
        with self.engine.connect() as connection:
            return connection.execute(sa.select(sa.literal(1)).where(
                _t.c.channel == channel, _t.c.update_id == update_id)).first() is not None

    def record(self, channel: str, update_id: str, now: datetime) -> None:
        try:
            with self.engine.begin() as connection:
                connection.execute(_t.insert().values(channel=channel, update_id=update_id, handled_at=now))
        except IntegrityError:
            pass  # recorded by another process meanwhile
        if self._pruned_at is None or time.monotonic() - self._pruned_at >= self.prune_every:
            self._pruned_at = time.monotonic()
            with self.engine.begin() as connection:
                connection.execute(_t.delete().where(_t.c.handled_at < now - self.keep))
