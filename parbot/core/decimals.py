"""Exact point arithmetic: every point value is a Decimal, rounded half-up only where shown or published."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal("0")
HUNDRED = Decimal("100")
CENT = Decimal("0.01")


def to_decimal(value: object) -> Decimal:
    """Convert a YAML/CSV value to Decimal without passing through binary floats' noise."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # str() gives the shortest repr that round-trips, so 0.1 stays 0.1.
        return Decimal(str(value))
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if "," in text and "." not in text:
            text = text.replace(",", ".")  # Vietnamese decimal comma
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
        if not result.is_finite():
            raise ValueError(f"not a finite number: {value!r}")
        return result
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


def num(value: Decimal, lang: str, fixed: bool = True) -> str:
    """2 decimals (fixed) or trimmed ("8,5"), half-up, with the decimal comma in Vietnamese."""
    rounded = round_half_up(to_decimal(value))
    text = format(rounded, "f") if fixed else fmt(rounded)
    return text.replace(".", ",") if lang == "vi" else text
