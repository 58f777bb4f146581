"""Exact point arithmetic: every point value is a Decimal, rounded half-up only where shown or published.

Numbers people type or import go through one strict parser (``parse_decimal``): ASCII digits, at most one
decimal separator ('.' or ',' — the Vietnamese comma), an optional sign, bounded length, places and
magnitude. Exponents, NaN, infinity, superscripts and other Unicode digits are refused at once, so no
answer like ``1e999999`` ever reaches arithmetic (it used to tie a worker up for a minute).
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0")
HUNDRED = Decimal("100")
CENT = Decimal("0.01")

MAX_LENGTH = 32  # characters of a typed number, sign and separator included
MAX_INTEGER_DIGITS = 15  # below 10^15: far above any count a unit reports
MAX_PLACES = 6  # str() of such a Decimal never uses an exponent
LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS
_NUMBER = re.compile(r"([+-]?)([0-9]+)(?:[.,]([0-9]+))?|([+-]?)[.,]([0-9]+)")
_INTEGER = re.compile(r"[0-9]+")


_REASONS = {"empty": "not a number", "not_a_number": "not a number",
            "too_long": f"too long for a number (at most {MAX_LENGTH} characters)",
            "too_large": f"too large (at most {MAX_INTEGER_DIGITS} digits)",
            "too_precise": f"too many decimals (at most {MAX_PLACES})"}


class NumberError(ValueError):
    """A refused number; ``reason`` is one of: empty, too_long, not_a_number, too_large, too_precise."""

    def __init__(self, reason: str, value: str) -> None:
        super().__init__(f"{_REASONS[reason]}: {value[:MAX_LENGTH]!r}")
        self.reason, self.value = reason, value


def parse_decimal(text: str, *, signed: bool = True) -> Decimal:
    """The one parser of typed and imported numbers: '12', '-3', '12,5', '12.5', ',5'."""
    stripped = text.strip()
    if not stripped:
        raise NumberError("empty", text)
    if len(stripped) > MAX_LENGTH:
        raise NumberError("too_long", stripped)
    match = _NUMBER.fullmatch(stripped)
    if match is None:
        raise NumberError("not_a_number", stripped)
    sign, whole, places = (match.group(1), match.group(2), match.group(3)) if match.group(2) is not None \
        else (match.group(4), "0", match.group(5))
    if sign and not signed:
        raise NumberError("not_a_number", stripped)
    if len(whole.lstrip("0")) > MAX_INTEGER_DIGITS:
        raise NumberError("too_large", stripped)
    if places and len(places) > MAX_PLACES:
        places = places.rstrip("0") or "0"
        if len(places) > MAX_PLACES:
            raise NumberError("too_precise", stripped)
    return Decimal(f"{sign}{whole}.{places}" if places else f"{sign}{whole}")


def as_count(text: str) -> int | None:
    """A whole non-negative count, year or id in at most 15 ASCII digits, else None. ('²⁰²⁰'.isdigit() is
    True and int() of it fails; int() of 5,000 digits fails too.)"""
    stripped = text.strip()
    if len(stripped) > MAX_INTEGER_DIGITS or not _INTEGER.fullmatch(stripped):
        return None
    return int(stripped)


def bounded(value: Decimal, original: object) -> Decimal:
    if not value.is_finite():
        raise NumberError("not_a_number", str(original))
    if abs(value) >= LIMIT:
        raise NumberError("too_large", str(original))
    return value


def to_decimal(value: object) -> Decimal:
    """Convert a YAML/CSV value to Decimal without passing through binary floats' noise."""
    if isinstance(value, Decimal):
        return bounded(value, value)
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, int):
        if abs(value) >= LIMIT:
            raise NumberError("too_large", "integer")  # str() of a huge int is itself slow
        return Decimal(value)
    if isinstance(value, float):
        # str() gives the shortest repr that round-trips, so 0.1 stays 0.1.
        return bounded(Decimal(str(value)), value)
    if isinstance(value, str):
        return parse_decimal(value)
    raise ValueError(f"not a number: {value!r}")


def round_half_up(value: Decimal, places: int = 2) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def percent(part: Decimal, whole: Decimal) -> Decimal:
    """Index in percent, rounded half-up to 2 decimals; an empty maximum yields 0."""
    if whole <= 0:
        return ZERO.quantize(CENT)
    return round_half_up(part / whole * HUNDRED)


def fmt(value: Decimal, decimal_comma: bool = False) -> str:
    """Plain representation without exponent or trailing zeros (1.50 -> 1.5, 2.00 -> 2)."""
    text = format(value.normalize(), "f") if value != 0 else "0"
    return text.replace(".", ",") if decimal_comma else text


def num(value: Decimal, lang: str, fixed: bool = True, places: int = 2) -> str:
    """``places`` decimals (fixed) or trimmed ("8,5"), half-up, with the decimal comma in Vietnamese. Points
    take the criteria set's ``points_decimals`` (3 for Thừa Thiên Huế's 97,685), indices the default 2."""
    rounded = round_half_up(to_decimal(value), places)
    text = format(rounded, "f") if fixed else fmt(rounded)
    return text.replace(".", ",") if lang == "vi" else text
