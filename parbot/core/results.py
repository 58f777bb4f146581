"""The index engine: points per area and in total, the unit's maximum, index, rank, class, block average.

Pure functions of plain values. Total = assessed points (appraised where present, else self) + survey
points + bonus − deduction (each capped); an item marked not applicable leaves the unit's maximum.
Indices are shown rounded half-up to 2 decimals, but ranks and classes compare the unrounded index (or the
precision the period names) and then its tie-breakers, as provinces do: Thanh Hóa 2024 ranks two units with
equal 2-decimal indices apart, and a raw 79.995 is not 80. Units whose maximum is 0 (every item not
applicable) or that have no score at all are excluded from ranks, classes and the block mean, with a note.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Iterable, Literal, Mapping

from .criteria import BlockCriteria
from .decimals import HUNDRED, ZERO, percent, round_half_up


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
    min_index: Decimal  # lower bound, in percent
    exclusive: bool = False  # "trên 80 %": the index must be above min_index
    min_area_index: Decimal | None = None  # Hải Dương: no area index below this for the class

    def admits(self, index: Decimal, area_indices: Iterable[Decimal]) -> bool:
        if index < self.min_index or (self.exclusive and index == self.min_index):
            return False
        return self.min_area_index is None or all(a >= self.min_area_index for a in area_indices)


@dataclass(frozen=True, slots=True)
class Ranking:
    """How a block is ordered: the index at ``precision`` decimals (None: unrounded), then each tie-breaker
    in turn: "total" (more points first) or "area:<code>" (a higher index of that area first)."""

    precision: int | None = None
    tie_breakers: tuple[str, ...] = ()


EXCLUDED_NO_MAXIMUM = "no_maximum"  # every item not applicable: nothing to measure
EXCLUDED_UNSCORED = "unscored"  # no score from any source


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
    survey_only: bool = False  # every item from the survey: the survey points are this area's points


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
    scored: bool = True  # at least one score from some source
    excluded: str | None = None  # EXCLUDED_* when left out of ranks, classes and the mean

    @property
    def raw_index(self) -> Decimal:
        """The index unrounded, what ranks and classes compare."""
        return self.total / self.maximum * HUNDRED if self.maximum > 0 else ZERO

    def area_raw_indices(self) -> list[Decimal]:
        return [a.points / a.maximum * HUNDRED for a in self.areas if a.maximum > 0]


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
    ranking: Ranking = Ranking()
    points_decimals: int = 2  # the criteria set's: points are shown at it, indices at 2

    @property
    def ranked(self) -> tuple[UnitResult, ...]:
        return tuple(u for u in self.units if u.excluded is None)

    @property
    def excluded(self) -> tuple[UnitResult, ...]:
        return tuple(u for u in self.units if u.excluded is not None)

    @property
    def area_condition(self) -> Band | None:
        """The highest class that sets an area condition (Hải Dương's top class), if any."""
        return max((b for b in self.bands if b.min_area_index is not None), key=lambda b: b.min_index, default=None)

    def areas_below(self, unit: UnitResult) -> frozenset[str]:
        """The unit's areas under that condition, compared as classes compare them (at the ranking's
        precision): what keeps a unit whose index is high enough out of the class."""
        band = self.area_condition
        if band is None:
            return frozenset()
        return frozenset(a.code for a in unit.areas if a.maximum > 0
                         and _at(a.points / a.maximum * HUNDRED, self.ranking.precision) < band.min_area_index)

    def area_averages(self) -> dict[str, Decimal]:
        """Province's average index per area (mean over units of the area index)."""
        units = self.ranked
        if not units:
            return {}
        out = {}
        for position, code in enumerate(self.area_codes):
            values = [u.areas[position].index for u in units if u.areas[position].maximum > 0]
            out[code] = round_half_up(sum(values, ZERO) / len(values)) if values else ZERO
        return out


def _points(mark: Mark | None) -> Decimal:
    return mark if isinstance(mark, Decimal) else ZERO


def score_unit(criteria: BlockCriteria, unit: UnitRef, marks: Mapping[str, ItemMarks],
               with_items: bool = False) -> UnitResult:
    areas = []
    assessed = survey = self_total_assessed = ZERO
    missing_self = missing_appraisal = missing_survey = 0
    scored = any(m.self is not None or m.appraised is not None or m.survey is not None for m in marks.values())
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
                                appraised=appraised_any,
                                survey_only=bool(area.item_codes)
                                and all(criteria.items[c].is_survey for c in area.item_codes)))
    bonus = _adjustment(criteria, criteria.bonus, marks, with_items, item_results, "bonus")
    deduction = _adjustment(criteria, criteria.deduction, marks, with_items, item_results, "deduction")
    maximum = sum((a.maximum for a in areas), ZERO)
    total = assessed + survey + bonus - deduction
    total = max(total, ZERO)
    return UnitResult(unit=unit, areas=tuple(areas), assessed=assessed, survey=survey, bonus=bonus,
                      deduction=deduction, total=total, maximum=maximum, index=percent(total, maximum),
                      self_total=max(self_total_assessed + survey + bonus - deduction, ZERO),
                      missing_self=missing_self, missing_appraisal=missing_appraisal,
                      missing_survey=missing_survey, items=tuple(item_results), scored=scored)


def survey_pending(criteria: BlockCriteria, marks: Mapping[str, ItemMarks]) -> Decimal:
    """The maximum of the survey items with no points yet: a provisional index (the round-1 notice) leaves it
    out of the maximum rather than count an unknown survey as 0."""
    return sum((item.maximum for code, item in criteria.items.items()
                if item.is_survey and marks.get(code, ItemMarks()).survey is None), ZERO)


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


def classify(index: Decimal, bands: Iterable[Band], area_indices: Iterable[Decimal] = ()) -> str | None:
    """The highest band the index (and, where a band asks, every area index) reaches."""
    areas = list(area_indices)
    for band in sorted(bands, key=lambda b: (b.min_index, b.exclusive), reverse=True):
        if band.admits(index, areas):
            return band.label
    return None


def _at(value: Decimal, precision: int | None) -> Decimal:
    return value if precision is None else round_half_up(value, precision)


def _sort_key(result: UnitResult, ranking: Ranking) -> tuple[Decimal, ...]:
    key = [_at(result.raw_index, ranking.precision)]
    for breaker in ranking.tie_breakers:
        if breaker == "total":
            key.append(result.total)
        else:  # "area:<code>"
            code = breaker.partition(":")[2]
            area = next((a for a in result.areas if a.code == code), None)
            key.append(area.points / area.maximum if area is not None and area.maximum > 0 else ZERO)
    return tuple(key)


def exclusion(result: UnitResult) -> str | None:
    if result.maximum <= 0:
        return EXCLUDED_NO_MAXIMUM
    return None if result.scored else EXCLUDED_UNSCORED


def rank_units(results: list[UnitResult], tie_rule: TieRule, bands: tuple[Band, ...],
               ranking: Ranking = Ranking()) -> list[UnitResult]:
    """Order by the ranking key (index at the period's precision, then its tie-breakers), ties by name for
    display only, and number the ranks; excluded units follow, unranked and unclassed."""
    keyed = [(tuple(-k for k in _sort_key(r, ranking)), r) for r in results if exclusion(r) is None]
    keyed.sort(key=lambda kr: (kr[0], kr[1].unit.name, kr[1].unit.code))
    ranked: list[UnitResult] = []
    previous = None
    rank = 0
    for position, (key, result) in enumerate(keyed, start=1):
        if key != previous:
            rank = position if tie_rule == "competition" else rank + 1
            previous = key
        index = _at(result.raw_index, ranking.precision)
        areas = [_at(a, ranking.precision) for a in result.area_raw_indices()]
        ranked.append(replace(result, rank=rank, rank_of=len(keyed), classification=classify(index, bands, areas)))
    left_out = sorted((r for r in results if exclusion(r) is not None), key=lambda r: (r.unit.name, r.unit.code))
    return ranked + [replace(r, excluded=exclusion(r)) for r in left_out]


def compute_block(criteria: BlockCriteria, block_name: str, units: Iterable[UnitRef],
                  marks: Mapping[str, Mapping[str, ItemMarks]], bands: tuple[Band, ...] = (),
                  tie_rule: TieRule = "competition", with_items: bool = False,
                  ranking: Ranking = Ranking(), year: int | None = None) -> BlockResult:
    """``year`` is the period's (captions print it); the criteria set's year where none is given."""
    empty: Mapping[str, ItemMarks] = {}
    scored = [score_unit(criteria, unit, marks.get(unit.code, empty), with_items) for unit in units]
    ordered = rank_units(scored, tie_rule, bands, ranking)
    counted = [r for r in ordered if r.excluded is None]
    average = round_half_up(sum((r.index for r in counted), ZERO) / len(counted)) if counted else ZERO
    return BlockResult(block=criteria.block, block_name=block_name, year=year or criteria.year, units=tuple(ordered),
                       average_index=average, bands=tuple(bands), tie_rule=tie_rule,
                       area_codes=tuple(a.code for a in criteria.areas), ranking=ranking,
                       points_decimals=criteria.points_decimals)


def ranking_table(block: BlockResult, criteria: BlockCriteria) -> tuple[list[str], list[list[object]]]:
    """The ranking in the shape provinces publish: rank, unit, per-area points, survey, total, max, index, class.
    Values come rounded half-up as shown: points at the set's ``points_decimals``, the index at 2. Points are
    kept at that precision at the source (rules and imports refuse finer ones), so rounding never changes
    them and a row's total is the sum of its shown parts."""
    def shown(value: Decimal) -> Decimal:
        return round_half_up(value, criteria.points_decimals)

    survey_areas = {a.code for a in criteria.areas
                    if a.item_codes and all(criteria.items[c].is_survey for c in a.item_codes)}
    area_columns = [(i, a) for i, a in enumerate(criteria.areas) if a.code not in survey_areas]
    header = ["rank", "unit_code", "unit", *[f"area_{a.code}" for _, a in area_columns], "survey"]
    if criteria.bonus:
        header.append("bonus")
    if criteria.deduction:
        header.append("deduction")
    header += ["total", "maximum", "index_pct", "class"]
    noted = bool(block.excluded)
    if noted:
        header.append("excluded")  # why a unit is left out of the ranking (EXCLUDED_*)
    rows = []
    for u in block.units:
        row: list[object] = [u.rank or "", u.unit.code, u.unit.name,
                             *[shown(u.areas[i].points) for i, _ in area_columns], shown(u.survey)]
        if criteria.bonus:
            row.append(shown(u.bonus))
        if criteria.deduction:
            row.append(shown(u.deduction))
        row += [shown(u.total), shown(u.maximum), round_half_up(u.index), u.classification or ""]
        if noted:
            row.append(u.excluded or "")
        rows.append(row)
    return header, rows
