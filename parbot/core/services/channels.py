"""A person's channels: which accounts they hold (Telegram, Zalo), where notices go, and linking an account
on another channel to the same person.

Linking uses an account code (core.links) that only the person can see, in a chat already theirs (``/kenh``):
sent on the other channel like an invitation code, it links that account to the same person, never to a new
one. A code is good for one account: once the person holds one on that channel it is refused. An account
that already belongs to someone else is refused too (people are not merged here). Both hold under concurrency:
the person's row is locked while linking, and the account's unique key decides between two people's codes."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..errors import DomainError
from ..links import account_code, verify_account_code
from ..model import AuditEntry, Person
from ..permissions import Caller
from ..ports import UnitOfWork

CHANNELS = ("telegram", "zalo")
NAMES = {"telegram": "Telegram", "zalo": "Zalo"}  # as people write them
CODE_TTL = timedelta(minutes=30)


@dataclass(frozen=True)
class Channels:
    held: tuple[str, ...]    # channels the person has an account on
    chosen: tuple[str, ...]  # where reminders and notices go


def _telegram_row(uow: UnitOfWork, person: Person) -> None:
    """A person known by Telegram id gets the channel_account row that carries the Telegram choice."""
    if person.telegram_id is not None and uow.channel_accounts.person_of("telegram", str(person.telegram_id)) is None:
        chat = person.chat_id if person.chat_id is not None else person.telegram_id
        uow.channel_accounts.link(person.id, "telegram", str(person.telegram_id), str(chat), person.name)


def of_person(uow: UnitOfWork, person: Person) -> Channels:
    """Read as the outbox reads it (storage/outbox.py): the accounts with ``notify`` set, and a Telegram
    account without a row yet (or when none is chosen)."""
    rows = {a.channel: a for a in uow.channel_accounts.of_person(person.id)}
    held = [c for c in CHANNELS if c in rows or (c == "telegram" and person.telegram_id is not None)]
    chosen = [c for c in held if c in rows and rows[c].notify]
    if "telegram" in held and ("telegram" not in rows or not chosen):  # neither can have chosen Telegram
        chosen.insert(0, "telegram")
    return Channels(tuple(held), tuple(chosen))


def channels_of(uow: UnitOfWork, *, caller: Caller) -> Channels:
    with uow:
        return of_person(uow, _person(uow, caller))


def reachable(uow: UnitOfWork) -> Callable[[Person], bool]:
    """Whom a notice can reach (inside an open unit of work): a reachable Telegram chat, or a chosen,
    reachable account on another channel (a person who joined on Zalo has no Telegram chat)."""
    elsewhere = uow.channel_accounts.reachable_elsewhere()
    return lambda person: (person.chat_id is not None and person.unreachable_at is None) or person.id in elsewhere


def of_people(uow: UnitOfWork, persons: list[Person]) -> dict[int, Channels]:
    """person id -> their channels (for `parbot members list`)."""
    with uow:
        return {p.id: of_person(uow, p) for p in persons}


def choose(uow: UnitOfWork, *, caller: Caller, channels: set[str], now: datetime) -> Channels:
    """Reminders and notices to these of the person's channels only (at least one they hold)."""
    with uow:
        person = _person(uow, caller)
        held = of_person(uow, person).held
        if not channels or not channels <= set(held):
            raise DomainError("channel.not_held", channels=", ".join(NAMES.get(c, c) for c in sorted(channels)),
                              held=", ".join(NAMES[c] for c in held))
        _telegram_row(uow, person)
        uow.channel_accounts.choose(person.id, channels)
        uow.audit.add(AuditEntry(actor=caller.actor, action="channel_choose", unit_code=None, old=None,
                                 new=",".join(sorted(channels)), reason=None, at=now))
        uow.commit()
        return of_person(uow, person)


def link_code(uow: UnitOfWork, *, caller: Caller, channel: str, key: str | None, now: datetime) -> str:
    """The code the person sends on ``channel`` to link an account there (refused if they hold one)."""
    with uow:
        person = _person(uow, caller)
        if channel not in CHANNELS or channel in of_person(uow, person).held:
            raise DomainError("channel.already_held", channel=NAMES.get(channel, channel))
    return account_code(person.id, channel, now + CODE_TTL, key)


def link_account(uow: UnitOfWork, code: str, *, channel: str, account_id: str, chat_id: str, name: str,
                 key: str | None, now: datetime) -> tuple[Person, bool]:
    """Link the account that sent ``code`` on ``channel`` to the person the code names. Returns (person,
    newly linked); the same account sending the code again changes nothing."""
    person_id = verify_account_code(code, channel, key, now)
    with uow:
        # Locked: accounts sending one code at once are taken one after another, and the second sees the first.
        person = uow.people.get(person_id, for_update=True)
        if person is None or not uow.roles.grants(person_id):  # removed since the code was shown
            raise DomainError("channel.code_invalid")
        owner = _owner(uow, channel, account_id)
        if owner == person_id:
            return person, False
        if owner is not None:
            raise DomainError("channel.account_taken", channel=NAMES[channel])
        if channel in of_person(uow, person).held:  # the code was used already, by another account
            raise DomainError("channel.already_held", channel=NAMES.get(channel, channel))
        _telegram_row(uow, person)
        try:
            if channel == "telegram":
                uow.people.attach_telegram(person_id, int(account_id), int(chat_id))
            uow.channel_accounts.link(person_id, channel, account_id, chat_id, name)
        except ValueError:  # the account sent another person's code at the same moment, and that one won
            raise DomainError("channel.account_taken", channel=NAMES[channel]) from None
        uow.audit.add(AuditEntry(actor=f"person:{person_id}", action="channel_link", unit_code=None, old=None,
                                 new=channel, reason=None, at=now))
        uow.commit()
        return uow.people.get(person_id), True  # type: ignore[return-value]


def _owner(uow: UnitOfWork, channel: str, account_id: str) -> int | None:
    if channel == "telegram":
        known = uow.people.by_telegram_id(int(account_id))
        return known.id if known else None
    return uow.channel_accounts.person_of(channel, account_id)


def _person(uow: UnitOfWork, caller: Caller) -> Person:
    person = uow.people.get(caller.person_id) if caller.person_id is not None else None
    if person is None:
        raise DomainError("link.person_only")
    return person
