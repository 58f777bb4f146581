"""The sender's side of the outbox: claiming due rows and recording what became of each.

Statuses: pending → sending (claimed) → sent | pending again (retry, later ``not_before``) | unreachable |
failed | uncertain; ``skipped`` rows were never worth sending (stale after downtime, or the work was done
meanwhile).

Exactly once: a claim is committed before the message goes out, the claimant renews its lease while the row
is in flight (``renew``), and only the claimant records the outcome. Just before a request leaves, the row
is stamped ``sent_at`` (``mark_started``): a row found ``sending`` with an expired lease returns to
``pending`` only when no request had left for it; otherwise nobody knows whether it was delivered (Telegram
offers no way to ask), so it becomes ``uncertain`` and is never sent again automatically — as is a send
whose reply was lost. An administrator may queue an uncertain row again (``parbot outbox retry --id``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from .tables import ChannelAccountRow, OutboxRow, PersonRow, utcnow
from .batching import chunks
from .repos_channels import CHANNELS

OPEN = ("pending", "sending")
STATUSES = ("pending", "sending", "sent", "skipped", "unreachable", "failed", "uncertain")  # new ones last: scripts read columns
DELIVERED = ("sent", "uncertain")  # may have reached the chat: they count for its pace
UNKNOWN_AFTER_CRASH = "the sender stopped after the request left: delivery unknown"
_o = OutboxRow.__table__


@dataclass(frozen=True)
class OutboxItem:
    id: int
    key: str
    person_id: int | None
    chat_id: int
    kind: str
    payload: dict
    status: str
    attempts: int
    not_before: datetime
    sent_at: datetime | None = None
    error: str | None = None
    channel: str = "telegram"
    chat_ref: str | None = None  # the chat on channels whose ids are strings (Zalo)


def _item(row) -> OutboxItem:  # noqa: ANN001 - a Row of the outbox table
    return OutboxItem(id=row.id, key=row.key, person_id=row.person_id, chat_id=row.chat_id, kind=row.kind,
                      payload=dict(row.payload or {}), status=row.status, attempts=row.attempts,
                      not_before=row.not_before, sent_at=row.sent_at, error=row.error, channel=row.channel,
                      chat_ref=row.chat_ref)


def _same_chat(other: sa.Alias) -> sa.ColumnElement[bool]:
    return sa.and_(other.c.channel == _o.c.channel, other.c.chat_id == _o.c.chat_id,
                   other.c.chat_ref.is_not_distinct_from(_o.c.chat_ref))


class SqlOutboxRows:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def _update(self, ids: list[int], **values: object) -> int:
        count = 0
        for part in chunks(ids):
            count += self.session.execute(sa.update(_o).where(_o.c.id.in_(part)).values(**values)).rowcount
        return count

    # ---- the sweep ------------------------------------------------------------------------------------

    def existing_keys(self, prefix: str) -> set[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return set(self.session.execute(sa.select(_o.c.key).where(_o.c.key.like(escaped + "%", escape="\\"))).scalars())

    def mark_skipped(self, key: str, reason: str) -> None:
        """Record a notification as not worth sending, on every channel it was queued for (the rows stay, so
        the key is never queued again)."""
        keys = [key] + [f"{key}@{channel}" for channel in CHANNELS if channel != "telegram"]
        self.session.execute(sa.update(_o).where(_o.c.key.in_(keys), _o.c.status == "pending")
                             .values(status="skipped", error=reason))

    # ---- the sender -----------------------------------------------------------------------------------

    def release_stale(self, now: datetime, lease: timedelta, *, keep: str | None = None) -> int:
        """Claims older than the lease belong to a sender that died (``keep``: the caller's own claims, alive):
        rows no request had left for are due again, the others become ``uncertain``. Returns the rows
        made due again."""
        stale = sa.and_(_o.c.status == "sending", _o.c.claimed_at <= now - lease)
        if keep is not None:
            stale = sa.and_(stale, _o.c.claimed_by != keep)
        self.session.execute(sa.update(_o).where(stale, _o.c.sent_at.is_not(None))
                             .values(status="uncertain", error=UNKNOWN_AFTER_CRASH))
        return self.session.execute(sa.update(_o).where(stale).values(status="pending", claimed_by=None,
                                                                      claimed_at=None)).rowcount

    def renew(self, worker: str, at: datetime) -> int:
        """Extend the lease of the worker's rows in flight, so a slow batch is never taken for a dead one."""
        return self.session.execute(sa.update(_o).where(_o.c.status == "sending", _o.c.claimed_by == worker)
                                    .values(claimed_at=at)).rowcount

    def mark_started(self, ids: list[int], worker: str, at: datetime) -> None:
        """The requests for these rows are about to leave: from now on a crash leaves them uncertain."""
        for part in chunks(ids):
            self.session.execute(sa.update(_o).where(_o.c.id.in_(part), _o.c.claimed_by == worker,
                                                     _o.c.status == "sending").values(sent_at=at))

    def claim(self, worker: str, now: datetime, limit: int, chat_interval: timedelta, *,
              claimed_at: datetime | None = None, channel: str = "telegram") -> list[OutboxItem]:
        """Take up to ``limit`` rows of ``channel`` due at ``now``, at most one per chat: the chat's oldest open
        row, and only when the chat's last message went out at least ``chat_interval`` ago (so per-chat pace
        and order hold across processes). The claim is stamped ``claimed_at`` (default ``now``), the time its
        lease runs from. PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the transaction's write lock."""
        due = sa.and_(_o.c.status == "pending", _o.c.not_before <= now, _o.c.channel == channel)
        if channel == "telegram":  # a person's Telegram state lives on the person row
            people = PersonRow.__table__
            blocked = _o.c.person_id.in_(sa.select(people.c.id).where(people.c.unreachable_at.is_not(None)))
        else:
            accounts = ChannelAccountRow.__table__
            blocked = _o.c.chat_ref.in_(sa.select(accounts.c.chat_id).where(
                accounts.c.channel == channel, accounts.c.unreachable_at.is_not(None)))
        self.session.execute(sa.update(_o).where(due, blocked)
                             .values(status="unreachable", error="recipient unreachable"))
        earlier = _o.alias("earlier")
        recent = _o.alias("recent")
        query = (sa.select(_o.c.id).where(
            due,
            ~sa.exists().where(_same_chat(earlier), earlier.c.id < _o.c.id, earlier.c.status.in_(OPEN)),
            ~sa.exists().where(_same_chat(recent), recent.c.status.in_(DELIVERED),
                               recent.c.sent_at > now - chat_interval))
            .order_by(_o.c.id).limit(limit))
        if self._postgres:
            query = query.with_for_update(skip_locked=True, of=_o)
        ids = list(self.session.execute(query).scalars())
        if not ids:
            return []
        self._update(ids, status="sending", claimed_by=worker, claimed_at=claimed_at or now)
        rows = self.session.execute(sa.select(_o).where(_o.c.id.in_(ids)).order_by(_o.c.id))
        return [_item(r) for r in rows]

    def _finish(self, item_id: int, worker: str, **values: object) -> bool:
        """Only the claimant records an outcome (a row re-claimed after a lease expiry is not touched)."""
        return self.session.execute(sa.update(_o).where(_o.c.id == item_id, _o.c.claimed_by == worker,
                                                        _o.c.status == "sending").values(**values)).rowcount == 1

    def mark_sent(self, item_id: int, worker: str, at: datetime) -> bool:
        return self._finish(item_id, worker, status="sent", sent_at=at, error=None)

    def mark_retry(self, item_id: int, worker: str, not_before: datetime, error: str | None,
                   attempts: int) -> bool:
        return self._finish(item_id, worker, status="pending", not_before=not_before, error=error,
                            attempts=attempts, claimed_by=None, claimed_at=None, sent_at=None)

    def mark_final(self, item_id: int, worker: str, status: str, error: str, attempts: int) -> bool:
        """failed | unreachable | skipped, with the reason."""
        return self._finish(item_id, worker, status=status, error=error[:500], attempts=attempts, sent_at=None)

    def mark_uncertain(self, item_id: int, worker: str, at: datetime, error: str, attempts: int) -> bool:
        """The request left but its answer did not come back: perhaps delivered, so never sent again."""
        return self._finish(item_id, worker, status="uncertain", sent_at=at, error=error[:500], attempts=attempts)

    def cancel_for_person(self, person_id: int, reason: str, channel: str = "telegram") -> int:
        return self.session.execute(sa.update(_o).where(_o.c.person_id == person_id, _o.c.channel == channel,
                                                        _o.c.status == "pending")
                                    .values(status="unreachable", error=reason)).rowcount

    def close_account(self, channel: str, chat_id: str, reason: str) -> None:
        """The account behind this chat refused the bot: notices stop on this channel only."""
        accounts = ChannelAccountRow.__table__
        self.session.execute(sa.update(accounts).where(accounts.c.channel == channel, accounts.c.chat_id == chat_id)
                             .values(unreachable_at=utcnow(), unreachable_reason=reason[:200]))

    def cancel_for_chat(self, channel: str, chat_ref: str, reason: str) -> int:
        return self.session.execute(sa.update(_o).where(_o.c.channel == channel, _o.c.chat_ref == chat_ref,
                                                        _o.c.status == "pending")
                                    .values(status="unreachable", error=reason)).rowcount

    def next_due(self) -> datetime | None:
        return self.session.execute(sa.select(sa.func.min(_o.c.not_before)).where(_o.c.status == "pending")).scalar()

    # ---- administration -------------------------------------------------------------------------------

    def counts(self) -> dict[tuple[str, str], int]:
        rows = self.session.execute(sa.select(_o.c.status, _o.c.kind, sa.func.count()).group_by(_o.c.status, _o.c.kind))
        return {(status, kind): n for status, kind, n in rows}

    def by_status(self, status: str, limit: int = 50) -> list[OutboxItem]:
        rows = self.session.execute(sa.select(_o).where(_o.c.status == status).order_by(_o.c.id.desc()).limit(limit))
        return [_item(r) for r in rows]

    def get(self, item_id: int) -> OutboxItem | None:
        row = self.session.execute(sa.select(_o).where(_o.c.id == item_id)).first()
        return None if row is None else _item(row)

    def retry(self, ids: list[int], now: datetime) -> int:
        """Failed, unreachable or uncertain rows back to pending, attempts from zero."""
        count = 0
        for part in chunks(ids):
            count += self.session.execute(sa.update(_o).where(
                _o.c.id.in_(part), _o.c.status.in_(("failed", "unreachable", "uncertain"))).values(
                status="pending", attempts=0, not_before=now, error=None, claimed_by=None,
                claimed_at=None, sent_at=None)).rowcount
        return count

    def failed_ids(self) -> list[int]:
        return list(self.session.execute(sa.select(_o.c.id).where(_o.c.status == "failed").order_by(_o.c.id)).scalars())
