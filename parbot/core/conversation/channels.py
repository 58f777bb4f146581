"""/kenh: where a person's reminders and notices go (Telegram, Zalo or both), and the code that links an
account on a channel they do not hold yet (core/services/channels.py). The same Screen on every channel:
buttons on Telegram, numbered options on Zalo."""
from __future__ import annotations

from ...i18n import when
from ..errors import DomainError
from ..services import channels as svc
from ..services.assessment import current_tag
from .callbacks import Callback, MalformedCallback, encode
from .screen import Option
from .turn import Turn

CHOICES = {"t": ("telegram",), "z": ("zalo",), "b": ("telegram", "zalo")}
WRITING_VERBS = frozenset({"kn"})


def _names(turn: Turn, channels: tuple[str, ...]) -> str:
    return f" {turn.t('channel.and')} ".join(svc.NAMES[c] for c in channels) or "—"


def _show(turn: Turn, info: svc.Channels, note: str | None = None) -> None:
    blocks = [note] if note else []
    blocks.append(turn.t("channel.header", held=_names(turn, info.held), chosen=_names(turn, info.chosen)))
    rows = []
    tag = current_tag(turn.uow)
    if len(info.held) > 1 and tag is not None:
        for letter, chosen in CHOICES.items():
            mark = "✅ " if chosen == info.chosen else ""
            rows.append([Option(encode(tag, "kn", letter), mark + turn.t(f"channel.choice.{letter}"))])
    for channel in (c for c in svc.CHANNELS if c not in info.held):
        try:
            code = svc.link_code(turn.uow, caller=turn.caller, channel=channel, key=turn.env.link_key,
                                 now=turn.now)
        except DomainError as error:
            blocks.append(turn.error(error))
            continue
        blocks.append(turn.t("channel.link_code", channel=svc.NAMES[channel], code=code,
                             at=when(turn.now + svc.CODE_TTL, turn.tz)))
    turn.send("\n\n".join(blocks), rows)


def channels_command(turn: Turn) -> None:
    _show(turn, svc.channels_of(turn.uow, caller=turn.caller))


def _choose(turn: Turn, cb: Callback) -> None:
    if cb.args[0] not in CHOICES:
        raise MalformedCallback(cb.args[0])
    info = svc.choose(turn.uow, caller=turn.caller, channels=set(CHOICES[cb.args[0]]), now=turn.now)
    _show(turn, info, turn.t("channel.chosen", chosen=_names(turn, info.chosen)))


COMMANDS = {"kenh": channels_command}
VERBS = {"kn": _choose}
