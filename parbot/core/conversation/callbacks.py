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

# verb -> number of arguments: every feature's verbs in one table, so a verb is known wherever a button is
# decoded, whichever modules were imported (a verb given twice is a repeated key, which ruff refuses).
VERBS: dict[str, int] = {
    # the self-assessment (core/conversation/assess.py)
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
    # the appraisal and the explanation round (core/conversation/appraise.py)
    "pl": 0,   # the appraiser's units
    "pn": 1,   # a page of that list: page
    "pu": 1,   # a unit's areas: unit
    "pa": 2,   # an area's items: unit, area
    "pi": 2,   # an item: unit, item
    "pk": 2,   # accept the self-score: unit, item
    "pp": 2,   # type points: unit, item
    "pr": 2,   # accept the rest of an area: unit, area
    "pg": 2,   # keep the round-1 points in round 2: unit, item
    "pe": 2,   # re-send the evidence files (the transport sends them: bot/handlers/appraise.py): unit, item
    "xl": 1,   # the items a unit may explain: unit
    "xi": 2,   # explain an item: unit, item
    # where a person's notices go (core/conversation/channels.py)
    "kn": 1,   # choose: t (Telegram), z (Zalo), b (both)
}


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
