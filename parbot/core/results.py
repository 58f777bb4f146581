"""The index engine: points per area and in total, the unit's maximum, index, rank, class, block average.

Pure functions of plain values. Total = assessed points (appraised where present, else self) + survey
points + bonus − deduction (each capped); an item marked not applicable leaves the unit's maximum.
Indices are rounded half-up to 2 decimals; ranks compare those rounded indices with the period's tie rule.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Iterable, Literal, Mapping

from .criteria import BlockCriteria
from .decimals import ZERO, percent, round_half_up


class _NotApplicable:
    _instance = None

    def __new__(cls):  # a singleton, so identity checks work everywhere
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NA"


NA = _NotApplicable()
Mark = Decimal | _NotApplicable  # a score value: points, or "not applicable"


@dataclass(frozen=True, slots=True)
class ItemMarks:
    """What each source says about one item of one unit; ``None`` means no score from that source yet."""

    self: Mark | None = None
    appraised: Mark | None = None
    survey: Decimal | None = None
    reason: str | None = None  # the appraisers' reason where appraised points differ


@dataclass(frozen=True, slots=True)
class Band:
    label: str
    min_index: Decimal  # inclusive lower bound, in percent


TieRule = Literal["competition", "dense"]


@dataclass(frozen=True, slots=True)
class UnitRef:
    code: str
    name: str
    block: str


@dataclass(frozen=True, slots=True)
class ItemResult:
    code: str
    area_code: str
    name: str
    maximum: Decimal  # 0 when not applicable
    self_points: Mark | None
    appraised_points: Mark | None
    points: Decimal  # what counts
    not_applicable: bool
    section: str
    reason: str | None = None

    @property
    def lost(self) -> Decimal:
        return self.maximum - self.points if self.section == "area" else ZERO


@dataclass(frozen=True, slots=True)
class AreaResult:
    code: str
    name: str
    short: str | None
    points: Decimal
    maximum: Decimal
    index: Decimal
    self_points: Decimal
    appraised: bool  # at least one item of the area carries appraised points


@dataclass(frozen=True, slots=True)
class UnitResult:
    unit: UnitRef
    areas: tuple[AreaResult, ...]
    assessed: Decimal  # points of self-scored items (appraised where present)
    survey: Decimal
    bonus: Decimal
    deduction: Decimal
    total: Decimal
    maximum: Decimal
    index: Decimal
    self_total: Decimal  # what the unit gave itself (+ survey, bonus, deduction) for comparison
    missing_self: int  # self-scored items with no self score and no appraisal
    missing_appraisal: int  # self-scored items with no appraised score
    missing_survey: int
    rank: int = 0
    rank_of: int = 0
    classification: str | None = None
    items: tuple[ItemResult, ...] = ()


@dataclass(frozen=True, slots=True)
class BlockResult:
    block: str
    block_name: str
    year: int
    units: tuple[UnitResult, ...]  # in rank order
    average_index: Decimal
    bands: tuple[Band, ...]
    tie_rule: TieRule
    area_codes: tuple[str, ...] = field(default=())

    def area_averages(self) -> dict[str, Decimal]:
        """Province's average index per area (mean over units of the area index)."""
        if not self.units:
            return {}
        out = {}
        for position, code in enumerate(self.area_codes):
            values = [u.areas[position].index for u in self.units if u.areas[position].maximum > 0]
            out[code] = round_half_up(sum(values, ZERO) / len(values)) if values else ZERO
        return out


def _points(mark: Mark | None) -> Decimal:
    return mark if isinstance(mark, Decimal) else ZERO


def score_unit(criteria: BlockCriteria, unit: UnitRef, marks: Mapping[str, ItemMarks],
               with_items: bool = False) -> UnitResult:
    areas = []
    assessed = survey = self_total_assessed = ZERO
    missing_self = missing_appraisal = missing_survey = 0
    item_results: list[ItemResult] = []
    empty = ItemMarks()
    for area in criteria.areas:
        area_points = area_self = area_max = ZERO
        appraised_any = False
        for code in area.item_codes:
            item = criteria.items[code]
            m = marks.get(code, empty)
            if item.is_survey:
                points, na = (m.survey or ZERO), False
                survey += points
                area_self += points
                missing_survey += m.survey is None
            else:
                final = m.appraised if m.appraised is not None else m.self
                na = final is NA
                points = _points(final)
                assessed += points
                self_points = ZERO if m.self is NA else _points(m.self)
                area_self += self_points
                self_total_assessed += self_points
                appraised_any = appraised_any or m.appraised is not None
                missing_self += m.self is None and m.appraised is None
                missing_appraisal += m.appraised is None
            maximum = ZERO if na else item.maximum
            area_points += points
            area_max += maximum
            if with_items:
                item_results.append(ItemResult(code=code, area_code=area.code, name=item.name, maximum=maximum,
                                               self_points=m.self, appraised_points=m.appraised, points=points,
                                               not_applicable=na, section="area", reason=m.reason))
        areas.append(AreaResult(code=area.code, name=area.name, short=area.short, points=area_points,
                                maximum=area_max, index=percent(area_points, area_max), self_points=area_self,
                                appraised=appraised_any))
    bonus = _adjustment(criteria, criteria.bonus, marks, with_items, item_results, "bonus")
    deduction = _adjustment(criteria, criteria.deduction, marks, with_items, item_results, "deduction")
    maximum = sum((a.maximum for a in areas), ZERO)
    total = assessed + survey + bonus - deduction
    total = max(total, ZERO)
    return UnitResult(unit=unit, areas=tuple(areas), assessed=assessed, survey=survey, bonus=bonus,
                      deduction=deduction, total=total, maximum=maximum, index=percent(total, maximum),
                      self_total=max(self_total_assessed + survey + bonus - deduction, ZERO),
                      missing_self=missing_self, missing_appraisal=missing_appraisal,
                      missing_survey=missing_survey, items=tuple(item_results))


def _adjustment(criteria: BlockCriteria, adjustment, marks: Mapping[str, ItemMarks], with_items: bool,
                item_results: list[ItemResult], section: str) -> Decimal:
    if adjustment is None:
        return ZERO
    total = ZERO
    empty = ItemMarks()
    for code in adjustment.item_codes:
        m = marks.get(code, empty)
        final = m.appraised if m.appraised is not None else m.self
        points = _points(final)
        total += points
        if with_items:
            item = criteria.items[code]
            item_results.append(ItemResult(code=code, area_code=adjustment.code, name=item.name,
                                           maximum=item.maximum, self_points=m.self, appraised_points=m.appraised,
                                           points=points, not_applicable=final is NA, section=section,
                                           reason=m.reason))
    return min(total, adjustment.cap)


def classify(index: Decimal, bands: Iterable[Band]) -> str | None:
    for band in sorted(bands, key=lambda b: b.min_index, reverse=True):
        if index >= band.min_index:
            return band.label
    return None


def rank_units(results: list[UnitResult], tie_rule: TieRule, bands: tuple[Band, ...]) -> list[UnitResult]:
    """Order by index (already rounded to 2 decimals), ties by name for display, and number the ranks."""
    ordered = sorted(results, key=lambda r: (-r.index, r.unit.name, r.unit.code))
    ranked: list[UnitResult] = []
    previous: Decimal | None = None
    rank = 0
    for position, result in enumerate(ordered, start=1):
        if result.index != previous:
            rank = position if tie_rule == "competition" else rank + 1
            previous = result.index
        ranked.append(replace(result, rank=rank, rank_of=len(ordered),
                               classification=classify(result.index, bands)))
    return ranked


def compute_block(criteria: BlockCriteria, block_name: str, units: Iterable[UnitRef],
                  marks: Mapping[str, Mapping[str, ItemMarks]], bands: tuple[Band, ...] = (),
                  tie_rule: TieRule = "competition", with_items: bool = False) -> BlockResult:
    empty: Mapping[str, ItemMarks] = {}
    scored = [score_unit(criteria, unit, marks.get(unit.code, empty), with_items) for unit in units]
    ranked = rank_units(scored, tie_rule, bands)
    average = round_half_up(sum((r.index for r in ranked), ZERO) / len(ranked)) if ranked else ZERO
    return BlockResult(block=criteria.block, block_name=block_name, year=criteria.year, units=tuple(ranked),
                       average_index=average, bands=tuple(bands), tie_rule=tie_rule,
                       area_codes=tuple(a.code for a in criteria.areas))


def ranking_table(block: BlockResult, criteria: BlockCriteria) -> tuple[list[str], list[list[object]]]:
    """The ranking in the shape provinces publish: rank, unit, per-area points, survey, total, max, index, class."""
    survey_areas = {a.code for a in criteria.areas
                    if a.item_codes and all(criteria.items[c].is_survey for c in a.item_codes)}
    area_columns = [(i, a) for i, a in enumerate(criteria.areas) if a.code not in survey_areas]
    header = ["rank", "unit_code", "unit", *[f"area_{a.code}" for _, a in area_columns], "survey"]
    if criteria.bonus:
        header.append("bonus")
    if criteria.deduction:
        header.append("deduction")
    header += ["total", "maximum", "index_pct", "class"]
    rows = []
    for u in block.units:
        row: list[object] = [u.rank, u.unit.code, u.unit.name, *[u.areas[i].points for i, _ in area_columns],
                             u.survey]
        if criteria.bonus:
            row.append(u.bonus)
        if criteria.deduction:
            row.append(u.deduction)
        row += [u.total, u.maximum, u.index, u.classification or ""]
        rows.append(row)
    return header, rows
