"""Reports: charts (PNG bytes), the xlsx export and the PDF results report — pure functions of core's results.

This package module holds what the three share and is light to import (no matplotlib, no openpyxl):
the labels (catalog domain report_labels, Vietnamese and English) and the number formatting.
"""
from __future__ import annotations

import textwrap
from decimal import Decimal

from parbot.core.decimals import num  # noqa: F401 - the reports and the chat share one way to show numbers
from parbot.core.results import BlockResult, UnitResult
from parbot.i18n import t_domain

LANGS = ("vi", "en")


# Long official prefixes that carry no information inside a ranking of one block.
_ABBREVIATIONS = (("Ủy ban nhân dân", "UBND"), ("Uỷ ban nhân dân", "UBND"))


def t(lang: str, key: str, **params: object) -> str:
    """A label of the reports, from the catalogs' report_labels domain (one message mechanism)."""
    if lang not in LANGS:
        raise ValueError(f"unsupported language {lang!r}; use one of {LANGS}")
    return t_domain("report_labels", f"report.label.{key}", lang, **params)


def signed(value: Decimal, lang: str) -> str:
    text = num(abs(value), lang)
    return ("+" if value > 0 else "−" if value < 0 else "±") + text


def points(value: Decimal, block: BlockResult, lang: str, fixed: bool = True) -> str:
    """Points at the criteria set's precision (3 for Thừa Thiên Huế's 97,685); indices stay at 2."""
    return num(value, lang, fixed, block.points_decimals)


def abbreviate(name: str) -> str:
    for long, short in _ABBREVIATIONS:
        if name.startswith(long):
            return short + name[len(long):]
    return name


def short_name(name: str, width: int, lines: int = 2) -> str:
    """A name fitted to ``lines`` lines of ``width`` characters: common prefixes abbreviated, wrapped at
    spaces, the rest elided."""
    name = abbreviate(name)
    return "\n".join(textwrap.wrap(name, width, max_lines=lines, placeholder="…")) or name


def class_label(result: UnitResult, lang: str) -> str:
    """The class, or why the unit is left out of the ranking."""
    if result.excluded:
        return t(lang, f"excluded_{result.excluded}")
    return result.classification or t(lang, "no_class")
