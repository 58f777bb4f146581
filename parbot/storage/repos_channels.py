"""A person's accounts on the chat channels (table ``channel_account``, migration 0003).

An invitation accepted on Telegram or Zalo links that account to the person; notices go to each account
whose ``notify`` is set, and an account found blocked is marked unreachable on its own channel only."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from .tables import ChannelAccountRow, utcnow

CHANNELS = ("telegram", "zalo")


@dataclass(frozen=True)
class ChannelAccount:
    person_id: int
    channel: str
    account_id: str
    chat_id: str
    notify: bool
    unreachable_at: datetime | None

    @property
    def reachable(self) -> bool:
        return self.unreachable_at is None


def _account(row: ChannelAccountRow) -> ChannelAccount:
    return ChannelAccount(row.person_id, row.channel, row.account_id, row.chat_id, row.notify, row.unreachable_at)


class SqlChannelAccounts:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _row(self, channel: str, account_id: str) -> ChannelAccountRow | None:
        return self.session.exec(select(ChannelAccountRow).where(ChannelAccountRow.channel == channel,
                                                                 ChannelAccountRow.account_id == account_id)).first()

    def person_of(self, channel: str, account_id: str) -> int | None:
        row = self._row(channel, account_id)
        return row.person_id if row else None

    def link(self, person_id: int, channel: str, account_id: str, chat_id: str, display_name: str = "") -> bool:
        """Link the account to the person; False when it already was. An account held by someone else
        is refused (ValueError): one chat account never speaks for two people."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        row = self._row(channel, account_id)
        if row is None:
            try:
                with self.session.begin_nested():
                    self.session.add(ChannelAccountRow(person_id=person_id, channel=channel, account_id=account_id,
                                                       chat_id=chat_id, display_name=display_name))
                return True
            except IntegrityError:  # linked by another transaction at this moment (PostgreSQL waited for it)
                row = self._row(channel, account_id)
        if row.person_id != person_id:
            raise ValueError("account already linked to another person")
        row.chat_id, row.unreachable_at, row.unreachable_reason = chat_id, None, None
        self.session.add(row)
        return False

    def of_person(self, person_id: int) -> list[ChannelAccount]:
        rows = self.session.exec(select(ChannelAccountRow).where(ChannelAccountRow.person_id == person_id)
                                 .order_by(ChannelAccountRow.channel)).all()
        return [_account(r) for r in rows]

    def reachable_elsewhere(self) -> set[int]:
        """People with a chosen, reachable account on a channel other than Telegram (notices reach them
        there even without a Telegram chat)."""
        rows = self.session.exec(select(ChannelAccountRow.person_id).where(
            ChannelAccountRow.channel != "telegram", ChannelAccountRow.notify.is_(True),
            ChannelAccountRow.unreachable_at.is_(None))).all()
        return set(rows)

    def recipients(self, person_id: int) -> list[ChannelAccount]:
        """Where a notice for the person goes: chosen, reachable accounts."""
        return [a for a in self.of_person(person_id) if a.notify and a.reachable]

    def choose(self, person_id: int, channels: set[str]) -> None:
        """Notices to these channels only (at least one the person holds)."""
        rows = self.session.exec(select(ChannelAccountRow).where(ChannelAccountRow.person_id == person_id)).all()
        if not {r.channel for r in rows} & channels:
            raise ValueError("the person holds no account on the chosen channels")
        for row in rows:
            row.notify = row.channel in channels
            self.session.add(row)

    def mark_unreachable(self, channel: str, account_id: str, reason: str) -> None:
        row = self._row(channel, account_id)
        if row is not None:
            row.unreachable_at, row.unreachable_reason = utcnow(), reason[:200]
            self.session.add(row)

    def mark_reachable(self, channel: str, account_id: str) -> bool:
        """The account wrote again, so it unblocked the bot; True when it had been marked unreachable."""
        row = self._row(channel, account_id)
        if row is None or row.unreachable_at is None:
            return False
        row.unreachable_at, row.unreachable_reason = None, None
        self.session.add(row)
        return True
