"""Callback data: short ASCII strings, ``<tag>:<verb>[:<arg>...]``, at most 64 bytes.

The tag names the period (and its criteria) the button was made for: a button from another period is
stale and is answered as such. It is derived from the database, so buttons survive a restart. Arguments
are unit codes, item slots and option codes; the services check every one against the presser's grants.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

LIMIT = 64
_TAG = re.compile(r"^[0-9a-f]{4}$")
_ARG = re.compile(r"^[A-Za-z0-9._-]{1,24}$")

# verb -> number of arguments
VERBS: dict[str, int] = {
    "m": 1,    # area menu of a unit: unit
    "ar": 2,   # open an area: unit, area index
    "i": 2,    # show an item: unit, slot
    "a": 3,    # answer an item by a button: unit, slot, option (y / n / na / option code)
    "c": 3,    # an all-of condition answered: unit, slot, held so far as y/n letters ("-" for none)
    "ev": 2,   # wait for evidence on an item: unit, slot
    "ex": 2,   # wait for an explanation: unit, slot
    "ty": 2,   # type the numbers of an item again: unit, slot
    "st": 1,   # status: unit
    "rv": 2,   # review an area: unit, area index
    "fr": 1,   # final review: unit
    "sb": 1,   # ask to submit: unit
    "sk": 1,   # submit confirmed: unit
    "ap": 1,   # leader approval: unit
    "u": 1,    # pick a unit (a person with several)
}


def register_verbs(arity: dict[str, int]) -> None:
    """A feature adds its own verbs (name -> number of arguments); two features may not share a verb."""
    for verb, count in arity.items():
        if VERBS.get(verb, count) != count or not re.fullmatch(r"[a-z]{1,3}", verb):
            raise ValueError(f"callback verb {verb!r} is taken or malformed")
        VERBS[verb] = count


class MalformedCallback(ValueError):
    pass


@dataclass(frozen=True)
class Callback:
    tag: str
    verb: str
    args: tuple[str, ...]

    def slot(self, index: int = 1) -> int:
        value = self.args[index]
        if not value.isdigit():
            raise MalformedCallback(f"slot {value!r} is not a number")
        return int(value)


def encode(tag: str, verb: str, *args: object) -> str:
    parts = [str(a) for a in args]
    if verb not in VERBS or len(parts) != VERBS[verb] or not _TAG.match(tag) \
            or not all(_ARG.match(p) for p in parts):
        raise ValueError(f"cannot encode callback {tag}:{verb}:{parts}")
    data = ":".join([tag, verb, *parts])
    if len(data.encode("ascii")) > LIMIT:
        raise ValueError(f"callback data over {LIMIT} bytes: {data}")
    return data


def decode(data: str | None) -> Callback:
    if not data or len(data.encode("utf-8", "replace")) > LIMIT or not data.isascii():
        raise MalformedCallback("not ASCII or too long")
    tag, _, rest = data.partition(":")
    verb, *args = rest.split(":") if rest else [""]
    if not _TAG.match(tag) or verb not in VERBS or len(args) != VERBS[verb] or not all(_ARG.match(a) for a in args):
        raise MalformedCallback(data)
    return Callback(tag, verb, tuple(args))


def pattern(verbs: dict | list) -> re.Pattern:
    """A CallbackQueryHandler pattern for these verbs (each feature routes only its own buttons)."""
    return re.compile(r"^[0-9a-f]{4}:(%s)(:|$)" % "|".join(map(re.escape, verbs)))
