"""The outbox table's repository: messages are queued in the transaction that causes them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from .tables import OutboxRow, utcnow


class SqlOutbox:
    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(self, key: str, person_id: int | None, chat_id: int, kind: str, payload: dict,
                not_before: datetime | None = None) -> bool:
        """INSERT … ON CONFLICT (key) DO NOTHING: a duplicate key is ignored without aborting the transaction."""
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        now = utcnow()
        statement = insert(OutboxRow).values(
            key=key, person_id=person_id, chat_id=chat_id, kind=kind, payload=payload, status="pending",
            attempts=0, not_before=not_before or now, created_at=now).on_conflict_do_nothing(
            index_elements=["key"]).returning(OutboxRow.id)
        # RETURNING, not rowcount: an ORM-entity insert through the session reports rowcount -1.
        return self.session.execute(statement).first() is not None
