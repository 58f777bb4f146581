"""What a turn answers, whatever the channel: screens of text blocks and options, plus toasts and notices.

Options carry a short ASCII id (Telegram puts it in callback data), a label, and optionally a word a text-only
channel lets the person type ("tiếp", "nộp"); otherwise such a channel numbers them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Expects(str, Enum):
    """What the chat waits for after this screen (a text-only channel can say so)."""
    NOTHING = "nothing"
    PRESS = "press"
    NUMBER = "number"
    TEXT = "text"
    FILE = "file"


@dataclass(frozen=True)
class Option:
    id: str                 # short ASCII, at most 64 bytes
    label: str
    word: str | None = None


@dataclass(frozen=True)
class Attachment:
    kind: str               # "chart" (an image) or "document"
    file_name: str
    data: bytes = field(repr=False)
    caption: str | None = None


@dataclass(frozen=True)
class Link:
    """A signed web page beside a screen (an item's full rules): a chat may not carry all of it."""
    text: str               # says what the page is, with its URL
    shortened: bool         # the screen's text was cut: a text-only channel must offer the page


@dataclass(frozen=True)
class Screen:
    blocks: tuple[str, ...]                         # paragraphs; renderers join and split them within limits
    rows: tuple[tuple[Option, ...], ...] = ()
    expects: Expects = Expects.NOTHING
    attachments: tuple[Attachment, ...] = ()
    replace: bool = True    # may replace the screen the pressed option was on (False: always a new message)
    link: Link | None = None
    upload: str | None = None  # where the screen waits for a file: the line offering the signed upload page

    @property
    def text(self) -> str:
        return "\n\n".join(b for b in self.blocks if b)

    @property
    def options(self) -> list[Option]:
        return [o for row in self.rows for o in row]


@dataclass(frozen=True)
class Notice:
    """A message for someone else (by person id), sent through the outbox."""
    person_id: int
    screen: Screen


@dataclass(frozen=True)
class Reply:
    screens: tuple[Screen, ...] = ()
    toast: str | None = None      # the answer to a pressed option
    alert: bool = False           # show the toast as an alert the person must close
    notices: tuple[Notice, ...] = ()
