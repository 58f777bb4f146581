"""One turn as the flows see it: who acts, in which language, the unit of work, the chat state, the screens."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ...i18n import error_text, t
from ..errors import DomainError
from ..permissions import Caller
from ..ports import UnitOfWork
from ..services.people import Identity
from .screen import Expects, Link, Option, Screen
from .state import ChatState

Rows = list[list[Option]]


@dataclass(frozen=True)
class Env:
    """What a turn needs from the running process (the same for every turn)."""
    now: datetime
    tz: str
    store: Any               # the evidence store: ``put(bytes) -> blob``
    admin_contact: str
    link_key: str | None = None  # PARBOT_LINK_SECRET: signs the codes that link another channel
    public_url: str | None = None  # PARBOT_PUBLIC_URL: the base of signed web links (None: no links)
    link_ttl: timedelta = timedelta(hours=72)  # PARBOT_LINK_TTL_HOURS


class Turn:
    """The flows read and write through ``uow`` (already inside the turn's transaction), set ``state`` to
    what the chat waits for next, and add screens; the engine stores the state and commits once."""

    def __init__(self, uow: UnitOfWork, identity: Identity, lang: str, env: Env, state: ChatState,
                 message_id: int | None = None) -> None:
        self.uow, self.identity, self.lang, self.env, self.state = uow, identity, lang, env, state
        self.message_id = message_id  # of the typed text or file this turn handles
        self.screens: list[Screen] = []

    @property
    def person_id(self) -> int:
        return self.identity.person.id  # type: ignore[union-attr]

    @property
    def caller(self) -> Caller:
        return Caller.person(self.person_id, self.identity.grants)

    @property
    def tz(self) -> str:
        return self.env.tz

    @property
    def now(self) -> datetime:
        return self.env.now

    def t(self, key: str, **params: Any) -> str:
        return t(key, self.lang, **params)

    def error(self, error: DomainError) -> str:
        return error_text(error, self.lang, self.tz)

    def show(self, text: str, rows: Rows | None = None, *, new: bool = False,
             expects: Expects | None = None, link: Link | None = None, upload: str | None = None) -> None:
        """A screen that replaces the one the pressed option was on (``new``: always a new message)."""
        rows = rows or []
        self.screens.append(Screen(blocks=(text,), rows=tuple(tuple(r) for r in rows), replace=not new,
                                   expects=expects or (Expects.PRESS if rows else Expects.NOTHING), link=link,
                                   upload=upload))

    def send(self, text: str, rows: Rows | None = None, *, expects: Expects | None = None) -> None:
        self.show(text, rows, new=True, expects=expects)
