"""The inbox: updates stored as fetched, before the polling offset confirms them, and marked once handled."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from .tables import InboxRow, utcnow

_i = InboxRow.__table__


class SqlInbox:
    def __init__(self, session: Session) -> None:
        self.session = session

    def receive(self, channel: str, updates: list[tuple[int, dict]]) -> None:
        """Store what was fetched; an update fetched again (its offset was never confirmed) is kept once."""
        if not updates:
            return
        insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        now = utcnow()
        self.session.execute(insert(_i).values([
            {"channel": channel, "update_id": update_id, "payload": payload, "received_at": now}
            for update_id, payload in updates]).on_conflict_do_nothing(index_elements=["channel", "update_id"]))

    def handled(self, channel: str, update_id: int) -> bool:
        return self.session.execute(sa.select(_i.c.handled_at.is_not(None)).where(
            _i.c.channel == channel, _i.c.update_id == update_id)).scalar() is True

    def mark_handled(self, channel: str, update_id: int) -> None:
        self.session.execute(sa.update(_i).where(_i.c.channel == channel, _i.c.update_id == update_id,
                                                 _i.c.handled_at.is_(None)).values(handled_at=utcnow()))

    def unhandled(self, channel: str) -> list[dict]:
        """What a stopped process fetched but did not finish, oldest first."""
        return list(self.session.execute(sa.select(_i.c.payload).where(
            _i.c.channel == channel, _i.c.handled_at.is_(None)).order_by(_i.c.update_id)).scalars())

    def prune(self, before) -> int:  # noqa: ANN001 - a datetime
        """Handled updates are only kept for a while (they no longer matter once handled)."""
        return self.session.execute(sa.delete(_i).where(_i.c.handled_at < before)).rowcount
