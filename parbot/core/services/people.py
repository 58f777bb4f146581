"""Invitations, role bindings and members.

An invitation is a one-time code: only its SHA-256 is stored, it expires, it can be revoked, and using it
binds the sender's Telegram account to the role and scope it names.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import string
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ..conversation.state import Awaiting, ChatState
from ..decimals import as_count
from ..errors import DomainError, NotFound
from ..model import AuditEntry, Invite, Person
from ..permissions import Action, Caller, Grant, Role, require, validate_scope
from ..ports import UnitOfWork
from .channels import NAMES, of_person

# Letters and digits only: a deep-link payload allows them, and a code never starts with "-", which a command
# line (`parbot invite revoke CODE`) would take for an option. 16 characters: about 95 bits.
CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 16
HINT_LENGTH = 6
LANGUAGES = ("vi", "en")
MAX_INVITE_LIFETIME = timedelta(days=366)
_DURATION = re.compile(r"^\s*([0-9]{1,6})\s*([dhm])\s*$")  # ASCII digits, bounded: no overflow


@dataclass(frozen=True)
class Identity:
    """Who wrote to the bot: the person (None when unknown) and their grants."""

    person: Person | None
    grants: tuple[Grant, ...]

    @property
    def language(self) -> str | None:
        return self.person.language if self.person else None


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def parse_duration(text: str) -> timedelta:
    """'14d', '12h', '30m'."""
    match = _DURATION.match(text or "")
    if not match or int(match.group(1)) == 0:
        raise DomainError("invite.bad_duration", value=text)
    amount, unit = int(match.group(1)), match.group(2)
    duration = {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[unit]
    if duration > MAX_INVITE_LIFETIME:  # a code valid for years is a standing key, not an invitation
        raise DomainError("invite.bad_duration", value=text)
    return duration


def _audit(uow: UnitOfWork, actor: str, action: str, now: datetime, *, unit: str | None = None,
           old: str | None = None, new: str | None = None, reason: str | None = None) -> None:
    uow.audit.add(AuditEntry(actor=actor, action=action, unit_code=unit, old=old, new=new, reason=reason, at=now))


def create_invite(uow: UnitOfWork, *, caller: Caller, role: str, expires_in: timedelta, now: datetime,
                  unit_code: str | None = None, block: str | None = None,
                  note: str | None = None) -> tuple[str, Invite]:
    """Returns the one-time code (shown once, never stored) and the stored invite."""
    require(caller.grants, Action.ADMINISTER)
    actor = caller.actor
    try:
        role_ = Role(role)
    except ValueError:
        raise DomainError("invite.unknown_role", role=role, roles=", ".join(r.value for r in Role)) from None
    validate_scope(role_, unit_code, block)
    with uow:
        if unit_code and uow.units.get(unit_code) is None:
            raise NotFound("unit.not_found", unit=unit_code)
        if block and uow.blocks.get(block) is None:
            raise NotFound("block.not_found", block=block)
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        invite = Invite(id=None, code_hash=hash_code(code), code_hint=code[:HINT_LENGTH], role=role_.value,
                        unit_code=unit_code, block=block, expires_at=now + expires_in, created_by=actor,
                        created_at=now, note=note)
        invite_id = uow.invites.add(invite)
        _audit(uow, actor, "invite", now, unit=unit_code, new=f"#{invite_id} {invite.grant.describe()}",
               reason=note)
        uow.commit()
    return code, replace(invite, id=invite_id)


def find_invite(uow: UnitOfWork, code_or_id: str) -> Invite:
    """By the full code, the numeric id, or the code's first characters (as `invite list` shows them)."""
    text = code_or_id.strip()
    found = uow.invites.by_hash(hash_code(text))
    if found is None and as_count(text.lstrip("#")) is not None:
        found = uow.invites.get(as_count(text.lstrip("#")))
    if found is None and len(text) >= HINT_LENGTH:
        matches = uow.invites.by_hint(text[:HINT_LENGTH])
        if len(matches) > 1:
            raise DomainError("invite.ambiguous", hint=text)
        found = matches[0] if matches else None
    if found is None:
        raise NotFound("invite.not_found", invite=text)
    return found


def revoke_invite(uow: UnitOfWork, *, caller: Caller, code_or_id: str, now: datetime) -> Invite:
    require(caller.grants, Action.ADMINISTER)
    actor = caller.actor
    with uow:
        invite = find_invite(uow, code_or_id)
        if invite.status(now) == "used":
            raise DomainError("invite.already_used", invite=invite.id)
        if invite.revoked_at is None:
            uow.invites.revoke(invite.id, now)
            _audit(uow, actor, "invite_revoke", now, unit=invite.unit_code, old=f"#{invite.id}")
        uow.commit()
        return uow.invites.get(invite.id)


def list_invites(uow: UnitOfWork) -> list[Invite]:
    with uow:
        return uow.invites.list()


def identify_account(uow: UnitOfWork, channel: str, account_id: str) -> Identity:
    """Who wrote on ``channel``: Telegram accounts are the person's own id, others rows of channel_account.
    An account marked unreachable there (it had blocked the bot) that writes is reachable again."""
    if channel == "telegram":
        return identify(uow, int(account_id))
    with uow:
        person_id = uow.channel_accounts.person_of(channel, account_id)
        person = uow.people.get(person_id) if person_id is not None else None
        if person is not None and uow.channel_accounts.mark_reachable(channel, account_id):
            uow.commit()
        return Identity(person, tuple(uow.roles.grants(person.id)) if person else ())


def identify(uow: UnitOfWork, telegram_id: int) -> Identity:
    """Who wrote. Someone marked unreachable (they had blocked the bot) who writes again has unblocked it:
    they are reachable again, so the outbox sends to them and `parbot outbox retry` can resend."""
    with uow:
        person = uow.people.by_telegram_id(telegram_id)
        grants = tuple(uow.roles.grants(person.id)) if person else ()
        if person is not None and person.unreachable_at is not None:
            uow.people.mark_reachable(person.id)
            uow.commit()
        return Identity(person, grants)


@dataclass
class CodeThrottle:
    """Refused invitation codes per Telegram account: after ``limit`` within ``window`` the account may try
    again only once the oldest of them is ``window`` old.

    In memory, on purpose: one bot process answers an account's /start, codes carry about 95 bits, so a
    restart (which an outsider cannot cause) granting a few more guesses costs nothing, and no table is needed.
    """

    limit: int = 5
    window: timedelta = timedelta(minutes=15)
    _refused: dict[int, list[datetime]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)  # services run in worker threads

    def check(self, telegram_id: int, now: datetime) -> None:
        with self._lock:
            recent = [t for t in self._refused.get(telegram_id, ()) if now - t < self.window]
        if len(recent) >= self.limit:
            raise DomainError("throttle.invite", retry_at=recent[-self.limit] + self.window)

    def refused(self, telegram_id: int, now: datetime) -> None:
        with self._lock:
            for key in [k for k, times in self._refused.items() if now - times[-1] >= self.window]:
                del self._refused[key]  # forget accounts that stopped trying
            self._refused.setdefault(telegram_id, []).append(now)


def accept_invite(uow: UnitOfWork, code: str, *, telegram_id: int, chat_id: int | None, name: str,
                  username: str | None = None, language: str | None = None, now: datetime,
                  throttle: CodeThrottle | None = None) -> tuple[Person, Grant, bool]:
    """Bind the Telegram account to the invite's role. Returns (person, grant, newly granted).

    The same person sending the same code again (a repeated /start, a redelivered update) changes nothing.
    The bot passes its ``throttle``: an account that sent too many refused codes is refused before any lookup.
    """
    if throttle is None:
        return _accept_invite(uow, code, telegram_id, chat_id, name, username, language, now)
    throttle.check(telegram_id, now)
    try:
        return _accept_invite(uow, code, telegram_id, chat_id, name, username, language, now)
    except DomainError as error:
        if error.code.startswith("invite."):
            throttle.refused(telegram_id, now)
        raise


def _accept_invite(uow: UnitOfWork, code: str, telegram_id: int, chat_id: int | None, name: str,
                   username: str | None, language: str | None, now: datetime) -> tuple[Person, Grant, bool]:
    with uow:
        person = uow.people.by_telegram_id(telegram_id)
        invite, again = _active_invite(uow, code, person, now)
        if again:
            return person, invite.grant, False  # type: ignore[return-value]
        if person is None:
            person = uow.people.ensure(telegram_id, chat_id, name, username,
                                       language if language in LANGUAGES else "vi")
        else:
            person = uow.people.ensure(telegram_id, chat_id, name, username, person.language)
        return person, invite.grant, _grant(uow, invite, person, now)


def _active_invite(uow: UnitOfWork, code: str, person: Person | None, now: datetime) -> tuple[Invite, bool]:
    """The invite behind the code, and whether this person already used it (nothing to do again)."""
    invite = uow.invites.by_hash(hash_code(code))
    if invite is None:
        raise DomainError("invite.unknown")
    status = invite.status(now)
    if status == "used" and person is not None and invite.used_by == person.id:
        return invite, True
    if status != "active":
        raise DomainError(f"invite.{status}")
    return invite, False


def _grant(uow: UnitOfWork, invite: Invite, person: Person, now: datetime) -> bool:
    if not uow.invites.consume(invite.id, person.id, now):
        if uow.invites.get(invite.id).used_by == person.id:  # this account's other message took it
            return False
        raise DomainError("invite.used")  # another account took it between the read and now
    added = uow.roles.add(person.id, invite.grant, invite_id=invite.id)
    _audit(uow, f"person:{person.id}", "member_join", now, unit=invite.unit_code,
           new=f"{invite.grant.describe()} via invite #{invite.id}")
    uow.commit()
    return added


def accept_invite_account(uow: UnitOfWork, code: str, *, channel: str, account_id: str, chat_id: str, name: str,
                          language: str | None, now: datetime) -> tuple[Person, Grant, bool]:
    """The same as accept_invite for an account of another channel (Zalo): the account is linked to a new
    person (a channel_account row), or to the person it already belongs to. The same account accepting two
    codes at once: the one whose new person lost the account's unique key runs again, for that person."""
    try:
        return _accept_invite_account(uow, code, channel, account_id, chat_id, name, language, now)
    except ValueError:  # rolled back: the account now belongs to the person the other code created
        return _accept_invite_account(uow, code, channel, account_id, chat_id, name, language, now)


def _accept_invite_account(uow: UnitOfWork, code: str, channel: str, account_id: str, chat_id: str, name: str,
                           language: str | None, now: datetime) -> tuple[Person, Grant, bool]:
    with uow:
        person_id = uow.channel_accounts.person_of(channel, account_id)
        person = uow.people.get(person_id) if person_id is not None else None
        invite, again = _active_invite(uow, code, person, now)
        if again:
            return person, invite.grant, False  # type: ignore[return-value]
        if person is None:
            person = uow.people.create(name, language if language in LANGUAGES else "vi")
            uow.channel_accounts.link(person.id, channel, account_id, chat_id, name)  # ValueError: taken meanwhile
        return person, invite.grant, _grant(uow, invite, person, now)


def set_language(uow: UnitOfWork, *, caller: Caller, language: str) -> None:
    if language not in LANGUAGES:
        raise DomainError("lang.unknown", language=language, languages=", ".join(LANGUAGES))
    with uow:
        uow.people.set_language(caller.person_id, language)
        uow.commit()


def list_members(uow: UnitOfWork) -> list[tuple[Person, Grant]]:
    with uow:
        return uow.roles.all()


def remove_member(uow: UnitOfWork, *, caller: Caller, who: str, now: datetime, role: str | None = None,
                  unit_code: str | None = None) -> int:
    """Remove a person's grants (all, or those of one role and/or unit): `who` is a Telegram id, a person id
    as `p<id>`, or an @username. Returns how many grants were removed."""
    require(caller.grants, Action.ADMINISTER)
    actor = caller.actor
    with uow:
        person = _find_person(uow, who)
        grants = [g for g in uow.roles.grants(person.id)
                  if (role is None or g.role.value == role) and (unit_code is None or g.unit_code == unit_code)]
        if not grants:
            raise NotFound("member.no_such_role", person=who)
        for grant in grants:
            uow.roles.remove(person.id, grant)
            _audit(uow, actor, "member_remove", now, unit=grant.unit_code, old=f"person:{person.id} {grant.describe()}")
        uow.commit()
        return len(grants)


@dataclass(frozen=True)
class Merged:
    """What `members merge` moved to the kept person."""
    person: Person
    channels: tuple[str, ...]  # the other's channels, now the kept person's
    grants: int                # grants moved (those the kept person held already were dropped)
    pending: int               # notices still to send, now to the kept person


def merge_members(uow: UnitOfWork, *, caller: Caller, keep: str, other: str, now: datetime) -> Merged:
    """One person invited twice (an invitation accepted on Telegram, another on Zalo) ends as two person rows:
    move everything of ``other`` to ``keep`` in one transaction and delete ``other``, audited. Refused (nothing
    changed) when both hold an account on the same channel (a person has one per channel), or when both
    chats wait for a typed answer (one of them would be lost). ``keep`` and ``other`` name people as for
    ``remove_member`` (a Telegram id, p<id>, @username)."""
    require(caller.grants, Action.ADMINISTER)
    with uow:
        kept, gone = _find_person(uow, keep), _find_person(uow, other)
        if kept.id == gone.id:
            raise DomainError("member.merge_same", person=keep)
        held = of_person(uow, gone).held
        both = [c for c in held if c in of_person(uow, kept).held]
        if both:
            raise DomainError("member.merge_channels", keep=keep, other=other,
                              channels=", ".join(NAMES[c] for c in both))
        mine, theirs = (ChatState.load(uow.chat_states.get(p.id)) for p in (kept, gone))
        if Awaiting.NOTHING not in (mine.awaiting, theirs.awaiting):
            raise DomainError("member.merge_waiting", keep=keep, other=other)
        waiting = theirs if mine.awaiting is Awaiting.NOTHING and theirs.awaiting is not Awaiting.NOTHING else mine
        state = waiting.model_copy(update={"seen": max(mine.seen, theirs.seen)})  # the chat that waits goes on
        counts = uow.people.merge_into(gone.id, kept.id)
        uow.chat_states.put(kept.id, state.dump())
        _audit(uow, caller.actor, "member_merge", now, old=f"person:{gone.id}", new=f"person:{kept.id}",
               reason=f"{','.join(held)}; {counts['grants']} grants, {counts['pending']} pending notices")
        uow.commit()
        return Merged(uow.people.get(kept.id), held, counts["grants"], counts["pending"])  # type: ignore[arg-type]


def _find_person(uow: UnitOfWork, who: str) -> Person:
    text = who.strip()
    person = None
    if text.startswith("@"):
        person = next((p for p in uow.people.list() if (p.username or "").lower() == text[1:].lower()), None)
    elif text[:1] == "p" and as_count(text[1:]) is not None:
        person = uow.people.get(as_count(text[1:]))
    elif as_count(text.lstrip("-")) is not None:
        person = uow.people.by_telegram_id(int(text))
    if person is None:
        raise NotFound("member.not_found", person=who)
    return person


def scope_names(uow: UnitOfWork, grants: Iterable[Grant]) -> tuple[dict[str, str], dict[str, str]]:
    """The names of the units and blocks the grants are scoped to (code -> name), for people to read."""
    with uow:
        units = {g.unit_code: unit.name for g in grants if g.unit_code
                 and (unit := uow.units.get(g.unit_code)) is not None}
        blocks = {b.code: b.name for b in uow.blocks.list()}
    return units, blocks
