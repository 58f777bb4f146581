"""Reports: charts (PNG bytes), the xlsx export and the PDF results report — pure functions of core's results.

This package module holds what the three share and is light to import (no matplotlib, no openpyxl):
the labels in Vietnamese and English and the number formatting.
"""
from __future__ import annotations

import textwrap
from decimal import Decimal

from parbot.core.decimals import num  # noqa: F401 - the reports and the chat share one way to show numbers
from parbot.core.results import BlockResult, UnitResult

LANGS = ("vi", "en")

TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "index": "Chỉ số",
        "index_pct": "Chỉ số (%)",
        "rank": "Xếp hạng",
        "class": "Xếp loại",
        "no_class": "Chưa xếp loại",
        "unit": "Đơn vị",
        "unit_code": "Mã đơn vị",
        "points": "Điểm đạt",
        "maximum": "Điểm tối đa",
        "total": "Tổng điểm",
        "survey": "Điểm ĐTXHH",
        "bonus": "Điểm thưởng",
        "deduction": "Điểm trừ",
        "self": "Tự chấm",
        "appraised": "Thẩm định",
        "block_average": "Bình quân khối",
        "change": "So với năm trước",
        "page": "Trang {page}/{pages}",
        "ranking_title": "Chỉ số CCHC năm {year} – {block}",
        "summary_title": "Kết quả Chỉ số CCHC năm {year}",
        "progress_title": "Tiến độ tự đánh giá, chấm điểm",
        "units_pct": "Tỷ lệ đơn vị (%)",
        "not_started": "Chưa bắt đầu",
        "in_progress": "Đang thực hiện",
        "submitted": "Đã nộp",
        "late": "Quá hạn",
        "area_title": "Chỉ số bình quân theo lĩnh vực",
        "area_title_year": "Chỉ số bình quân theo lĩnh vực năm {year}",
        "trend_title": "Chỉ số CCHC qua các năm",
        "year": "Năm",
        "code": "Mã",
        "item": "Tiêu chí",
        "area": "Lĩnh vực",
        "lost": "Điểm chưa đạt",
        "reason": "Lý do",
        "not_applicable": "Không áp dụng",
        "missing_survey": "Chưa có điểm ĐTXHH: {n} tiêu chí",
        "no_lost": "Đơn vị đạt điểm tối đa ở mọi tiêu chí.",
        "no_items": "Không có chi tiết theo tiêu chí.",
        "lost_title": "Các tiêu chí chưa đạt điểm tối đa",
        "continued": "(tiếp theo)",
        "units_count": "{n} đơn vị",
        "report_year": "Năm đánh giá: {year}",
        "block_line": "{block}: {n} đơn vị, chỉ số bình quân {average}%",
        "table_title": "Bảng xếp hạng – {block}",
        "section_bonus": "Điểm thưởng",
        "section_deduction": "Điểm trừ",
        "excluded_no_maximum": "Không xếp hạng: mọi tiêu chí không áp dụng",
        "excluded_unscored": "Không xếp hạng: chưa có điểm",
    },
    "en": {
        "index": "Index",
        "index_pct": "Index (%)",
        "rank": "Rank",
        "class": "Class",
        "no_class": "Unclassified",
        "unit": "Unit",
        "unit_code": "Unit code",
        "points": "Points",
        "maximum": "Maximum",
        "total": "Total",
        "survey": "Survey points",
        "bonus": "Bonus",
        "deduction": "Deduction",
        "self": "Self-scored",
        "appraised": "Appraised",
        "block_average": "Block average",
        "change": "Change from last year",
        "page": "Page {page}/{pages}",
        "ranking_title": "PAR Index {year} – {block}",
        "summary_title": "PAR Index results {year}",
        "progress_title": "Self-assessment progress",
        "units_pct": "Share of units (%)",
        "not_started": "Not started",
        "in_progress": "In progress",
        "submitted": "Submitted",
        "late": "Late",
        "area_title": "Average index by area",
        "area_title_year": "Average index by area, {year}",
        "trend_title": "PAR Index over the years",
        "year": "Year",
        "code": "Code",
        "item": "Item",
        "area": "Area",
        "lost": "Points lost",
        "reason": "Reason",
        "not_applicable": "N/A",
        "missing_survey": "Survey points missing: {n} items",
        "no_lost": "The unit reached the maximum on every item.",
        "no_items": "No item detail.",
        "lost_title": "Items below their maximum",
        "continued": "(continued)",
        "units_count": "{n} units",
        "report_year": "Year assessed: {year}",
        "block_line": "{block}: {n} units, average index {average}%",
        "table_title": "Ranking – {block}",
        "section_bonus": "Bonus",
        "section_deduction": "Deduction",
        "excluded_no_maximum": "Not ranked: no item applies",
        "excluded_unscored": "Not ranked: no score",
    },
}

# Long official prefixes that carry no information inside a ranking of one block.
_ABBREVIATIONS = (("Ủy ban nhân dân", "UBND"), ("Uỷ ban nhân dân", "UBND"))


def t(lang: str, key: str, **params: object) -> str:
    if lang not in TEXT:
        raise ValueError(f"unsupported language {lang!r}; use one of {LANGS}")
    text = TEXT[lang][key]
    return text.format(**params) if params else text


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
