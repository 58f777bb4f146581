"""What a person did in a chat, whatever the channel: the input of one conversation turn."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True)
class Sender:
    channel: str          # "telegram", "zalo", "web"
    account_id: str       # the channel's user id, as a string (Zalo ids are strings)
    chat_id: str
    language: str | None  # the client's language hint; the person's own choice wins
    private: bool         # group chats are refused
    name: str = ""
    username: str | None = None


@dataclass(frozen=True)
class Command:
    name: str                       # without the slash, lower case
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Press:
    option_id: str                  # the Option.id of the pressed button (or the typed word/number)


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Upload:
    """A file or photo. The transport fetches it before the turn (turns run off the event loop, in one
    transaction); ``data`` is None when it was over the download limit or the channel refused it."""
    file_name: str | None
    size: int
    mime: str | None
    data: bytes | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Edit:
    """A correction of an earlier typed text (Telegram's edited_message); ``of`` is that message's id."""
    of: int
    text: str


Event = Union[Command, Press, Text, Upload, Edit]


@dataclass(frozen=True)
class Incoming:
    sender: Sender
    event: Event
    message_id: int | None = None   # grows within a chat: a redelivered message is recognised and ignored
