"""The outbox table's repository: messages are queued in the transaction that causes them.

A message for a person goes to each channel account they chose for notices (``channel_account.notify``):
one row per channel, each sent by that channel's sender. The Telegram row keeps the caller's key, so keys
queued before a person had several channels still guard against queuing twice; another channel's row is
keyed ``<key>@<channel>``. A person without account rows (or a message to no person) gets a Telegram row."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from .repos_channels import SqlChannelAccounts
from .tables import OutboxRow, utcnow


class SqlOutbox:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _targets(self, person_id: int | None, chat_id: int | None) -> list[tuple[str, int, str | None]]:
        """(channel, Telegram chat id or 0, string chat id) for each channel the message goes to."""
        telegram = [("telegram", chat_id, None)] if chat_id is not None else []
        if person_id is None:
            return telegram
        accounts = SqlChannelAccounts(self.session).of_person(person_id)
        chosen = [a for a in accounts if a.notify]
        if not chosen:  # no account rows yet (people made before channels), or none chosen
            return telegram
        targets = []
        for account in chosen:
            if account.channel == "telegram":
                targets.append(("telegram", chat_id if chat_id is not None else int(account.chat_id), None))
            else:
                targets.append((account.channel, 0, account.chat_id))
        # A Telegram chat the caller names with no account row is the person's Telegram (the row comes later).
        if chat_id is not None and not any(a.channel == "telegram" for a in accounts):
            targets.insert(0, telegram[0])
        return targets

    def enqueue(self, key: str, person_id: int | None, chat_id: int | None, kind: str, payload: dict,
                not_before: datetime | None = None) -> bool:
        """INSERT … ON CONFLICT (key) DO NOTHING per channel: a duplicate key is ignored without aborting the
        transaction. True when at least one row was queued."""
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        now = utcnow()
        queued = False
        for channel, chat, chat_ref in self._targets(person_id, chat_id):
            statement = insert(OutboxRow).values(
                key=key if channel == "telegram" else f"{key}@{channel}", person_id=person_id, chat_id=chat,
                kind=kind, payload=payload, status="pending", attempts=0, not_before=not_before or now,
                created_at=now, channel=channel, chat_ref=chat_ref).on_conflict_do_nothing(
                index_elements=["key"]).returning(OutboxRow.id)
            # RETURNING, not rowcount: an ORM-entity insert through the session reports rowcount -1.
            queued |= self.session.execute(statement).first() is not None
        return queued
