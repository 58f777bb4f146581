"""One conversation turn: an event in, a Reply out, in ONE unit of work.

The turn reads the person, the chat state and the period, lets the flow apply the event (the services nest
in the same transaction, so their commits only flush), stores the new chat state if it changed and commits
once. Turns that cannot change answers (opening an item, the menu, /status) begin as readers: on SQLite
they take the write lock only to move the chat state, and if another writer got in first the turn is run
once more as a writer.
"""
from __future__ import annotations

import logging
from typing import Callable

from ...i18n import language, t
from ..errors import DomainError, WriteConflict
from ..ports import UnitOfWork
from ..services import people
from ..services.assessment import current_tag
from . import appraise, assess, channels
from .callbacks import MalformedCallback, decode
from .events import Command, Edit, Event, Press, Sender, Text, Upload
from .screen import Reply, Screen
from .state import ChatState
from .turn import Env, Turn

log = logging.getLogger("parbot.conversation")

COMMANDS = {**assess.COMMANDS, **appraise.COMMANDS, **channels.COMMANDS}
VERBS = {**assess.VERBS, **appraise.VERBS, **channels.VERBS}
WRITING_VERBS = assess.WRITING_VERBS | appraise.WRITING_VERBS | channels.WRITING_VERBS


# Reads the event inside the turn, from what the chat shows (Zalo: a typed "2" is the option numbered 2 there).
TypedEvent = Callable[[UnitOfWork], Event]
# Stores, inside the turn, what its Reply now shows (Zalo: the options a number will stand for), in the turn's
# language.
Shown = Callable[[UnitOfWork, Reply, str], None]


def handle(uow: UnitOfWork, sender: Sender, event: Event | TypedEvent, *, env: Env, message_id: int | None = None,
           shown: Shown | None = None) -> Reply:
    """The whole turn for one event of ``sender``; ``message_id`` (of a typed text or file) lets a message
    that Telegram redelivers after a crash be recognised and ignored. Options work in the private chat only
    (a keyboard forwarded to a group, or a forged press there, changes nothing).

    A channel that keeps its screen in the database (Zalo) gives ``event`` as a function of the unit of work
    and ``shown``: both run inside the turn's one transaction, which begins as a writer (nearly every such
    turn stores the options it now shows; begun as readers, on SQLite they re-ran as writers whenever
    another writer had committed meanwhile)."""
    if callable(event) or shown is not None or _may_write(event):
        return _turn(uow, sender, event, env, message_id, shown)
    try:
        return _turn(uow.reading(), sender, event, env, message_id, shown)
    except WriteConflict:
        return _turn(uow, sender, event, env, message_id, shown)


def _verb(option_id: str) -> str | None:
    return (option_id.split(":")[1:2] or [None])[0]


def performs(option_id: str) -> bool:
    """Whether the engine does this option's verb: Telegram's handlers keep one ("pe" sends documents), which a
    channel without them (Zalo) must not offer."""
    return _verb(option_id) in VERBS


def _may_write(event: Event) -> bool:
    if isinstance(event, Press):
        verb = _verb(event.option_id)
        return verb is None or verb in WRITING_VERBS
    return isinstance(event, (Text, Upload, Edit))


def _turn(uow: UnitOfWork, sender: Sender, event: Event | TypedEvent, env: Env, message_id: int | None,
          shown: Shown | None) -> Reply:
    with uow:
        identity = people.identify_account(uow, sender.channel, sender.account_id)
        lang = identity.language or language(sender.language)
        event = event(uow) if callable(event) else event
        reply = _reply(uow, identity, lang, sender, event, env, message_id)
        if shown is not None:
            shown(uow, reply, lang)
        uow.commit()
        return reply


def _reply(uow: UnitOfWork, identity: people.Identity, lang: str, sender: Sender, event: Event, env: Env,
           message_id: int | None) -> Reply:
    if not sender.private:  # in a group the answer would be saved and the unit's screen shown to all
        return _refused(event, t("onboarding.private_only", lang))
    if not identity.grants:
        return _refused(event, t("onboarding.no_role", lang, contact=env.admin_contact))
    person_id = identity.person.id  # type: ignore[union-attr]
    stored = ChatState.load(uow.chat_states.get(person_id))
    turn = Turn(uow, identity, lang, env, stored, message_id)
    reply = _apply(turn, event, message_id)
    if turn.state != stored:
        uow.chat_states.put(person_id, turn.state.dump())
    return reply


def _refused(event: Event, text: str) -> Reply:
    """Before any flow runs: a press is answered with an alert, anything else with a message."""
    if isinstance(event, Press):
        return Reply(toast=text, alert=True)
    return Reply(screens=(Screen(blocks=(text,), replace=False),))


def _apply(turn: Turn, event: Event, message_id: int | None) -> Reply:
    if isinstance(event, Press):
        return _press(turn, event)
    if isinstance(event, Command):
        COMMANDS[event.name](turn)
    elif isinstance(event, (Text, Upload)):
        if message_id is not None:
            if message_id <= turn.state.seen:
                log.info("message %s of person %s handled already", message_id, turn.person_id)
                return Reply()
            turn.state = turn.state.model_copy(update={"seen": message_id})
        if isinstance(event, Text):
            (appraise.on_text if turn.state.awaiting in appraise.AWAITS else assess.on_text)(turn, event)
        else:
            (appraise.on_file if appraise.takes_file(turn.state) else assess.on_file)(turn, event)
    elif isinstance(event, Edit):  # an edit keeps its message id: no redelivery check
        (appraise.on_edit if appraise.takes_edit(turn.state, event) else assess.on_edit)(turn, event)
    return Reply(screens=tuple(turn.screens))


def _press(turn: Turn, event: Press) -> Reply:
    """The presser holds a role; the data must parse and carry the current period's tag. A refusal answers
    the press as an alert and changes nothing."""
    try:
        callback = decode(event.option_id)
    except MalformedCallback:
        return Reply(toast=turn.t("callback.malformed"), alert=True)
    if callback.verb not in VERBS:  # a Telegram handler's verb from another channel (an option stored earlier)
        return Reply(toast=turn.t("callback.malformed"), alert=True)
    if callback.tag != current_tag(turn.uow):
        return Reply(screens=(Screen(blocks=(turn.t("callback.stale_hint"),), replace=False),),
                     toast=turn.t("callback.stale"), alert=True)
    before = turn.state
    try:
        VERBS[callback.verb](turn, callback)
    except (DomainError, MalformedCallback) as error:
        turn.state = before
        text = turn.error(error) if isinstance(error, DomainError) else turn.t("callback.malformed")
        return Reply(toast=text, alert=True)
    return Reply(screens=tuple(turn.screens))
