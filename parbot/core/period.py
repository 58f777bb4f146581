"""A period (one assessment year): criteria set per block, stage deadlines, bands, tie rule, policies.

Administrators write it as YAML (`parbot period create FILE`); it is stored as JSON on the period row.
"""
from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .criteria import Problem, read_text, validate_document
from .errors import Message
from .results import Band, Ranking

STAGES = ("self_assessment_opens", "self_assessment_closes", "appraisal_round1_closes",
          "explanation_closes", "appraisal_round2_closes", "publication")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Deadlines(_Strict):
    self_assessment_opens: datetime
    self_assessment_closes: datetime
    appraisal_round1_closes: datetime | None = None
    explanation_closes: datetime | None = None
    appraisal_round2_closes: datetime | None = None
    publication: datetime | None = None

    @field_validator("*")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise PydanticCustomError("timezone", "give the time zone, e.g. 2020-12-31T17:00:00+07:00")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> "Deadlines":
        given = [(name, getattr(self, name)) for name in STAGES if getattr(self, name) is not None]
        for (first, a), (second, b) in zip(given, given[1:]):
            if b < a:
                raise PydanticCustomError("deadline_order", "{second} ({later}) comes before {first} ({earlier})",
                                          {"second": second, "later": b.isoformat(), "first": first, "earlier": a.isoformat()})
        return self


class BandSpec(_Strict):
    """A class: ``min_index`` (≥, inclusive) or ``above`` (>, "trên 80 %"), and optionally
    ``min_area_index``: no area's index below it (Hải Dương 2024: top class only with every area ≥ 80 %)."""

    label: str
    min_index: Annotated[Decimal, Field(ge=0, le=100)] | None = None
    above: Annotated[Decimal, Field(ge=0, le=100)] | None = None
    min_area_index: Annotated[Decimal, Field(ge=0, le=100)] | None = None

    @model_validator(mode="after")
    def _one_edge(self) -> "BandSpec":
        if (self.min_index is None) == (self.above is None):
            raise PydanticCustomError("band_edge", "give the class's lower edge as either min_index (≥) or above (>), not both or neither")
        return self

    def band(self) -> Band:
        edge = self.min_index if self.min_index is not None else self.above
        return Band(label=self.label, min_index=edge, exclusive=self.above is not None,  # type: ignore[arg-type]
                    min_area_index=self.min_area_index)


TieBreaker = Annotated[str, Field(pattern=r"^(total|area:[A-Za-z0-9][A-Za-z0-9._-]{0,23})$")]


class RankingSpec(_Strict):
    """Ranks and classes compare the index at ``precision`` decimals (unset: unrounded), then the
    tie-breakers in order: ``total`` (more points first) or ``area:<code>`` (that area's index)."""

    precision: Literal[2, 3] | None = None
    tie_breakers: list[TieBreaker] = []


class StageReminders(_Strict):
    """Per-stage overrides of the period's reminder policy; unset fields keep the period-wide value."""

    enabled: bool | None = None
    days_before: list[Annotated[int, Field(ge=0, le=60)]] | None = None
    overdue_daily_max: Annotated[int, Field(ge=0, le=30)] | None = None
    send_at: time | None = None
    skip_weekends: bool | None = None
    escalate_after: Annotated[int, Field(ge=1)] | None = None


class ReminderPolicy(_Strict):
    """When reminders go out for a stage deadline (defaults: 7, 3 and 1 days before, and the morning of).

    Times are local (the settings' time zone, Asia/Ho_Chi_Minh by default). ``stages`` overrides fields for
    one stage: ``self_assessment`` (self_assessment_closes) or ``explanation`` (explanation_closes).
    """

    enabled: bool = True
    days_before: list[Annotated[int, Field(ge=0, le=60)]] = [7, 3, 1, 0]
    overdue_daily_max: Annotated[int, Field(ge=0, le=30)] = 3
    send_at: time = time(8, 0)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(7, 0)
    skip_weekends: bool = False
    escalate_after: Annotated[int, Field(ge=1)] = 2  # ignored reminders before the unit leader is told
    digest: bool = True
    digest_to_leaders: bool = False
    digest_at: time = time(7, 30)
    stages: dict[Literal["self_assessment", "explanation"], StageReminders] = {}

    def for_stage(self, stage: str) -> "ReminderPolicy":
        override = self.stages.get(stage)  # type: ignore[call-overload]
        if override is None:
            return self
        return self.model_copy(update=override.model_dump(exclude_none=True))


class AppraisalAssignment(_Strict):
    """Which appraisers appraise which areas (each field's department appraises its own area)."""

    areas: list[str]
    appraiser_units: list[str] = []  # appraisers belonging to these units (e.g. STC for public finance)


_Date = date  # the field below is called "date"


class ReportSpec(_Strict):
    """Who publishes the results, printed on the report's cover and the annex (`parbot report` options
    override each field): ``province`` "tỉnh Thanh Hóa", ``issuer`` "Sở Nội vụ", ``decision`` "123/QĐ-UBND",
    ``date`` of the decision, ``place`` where it is signed (default: the province without "tỉnh")."""

    province: str | None = None
    issuer: str | None = None
    decision: str | None = None
    date: _Date | None = None
    place: str | None = None


class PeriodConfig(_Strict):
    year: Annotated[int, Field(ge=2000, le=2100)]
    criteria: dict[str, str]  # block -> criteria set file (shipped name or path) or "code@version"
    deadlines: Deadlines
    bands: dict[str, list[BandSpec]] = {}  # block -> bands; key "*" applies to blocks not listed
    tie_rule: Literal["competition", "dense"] = "competition"
    ranking: RankingSpec = RankingSpec()
    leader_approval_required: bool = False
    leaders_see_block_ranking: bool = False
    reminders: ReminderPolicy = ReminderPolicy()
    appraisal: list[AppraisalAssignment] = []
    report: ReportSpec = ReportSpec()

    def bands_for(self, block: str) -> tuple[Band, ...]:
        specs = self.bands.get(block, self.bands.get("*", []))
        return tuple(b.band() for b in specs)

    def ranking_rule(self) -> Ranking:
        return Ranking(precision=self.ranking.precision, tie_breakers=tuple(self.ranking.tie_breakers))

def parse_period(text: str, file: str = "<text>") -> tuple[PeriodConfig | None, list[Problem]]:
    config, checker, _ = validate_document(text, file, PeriodConfig,
                                           Message("period.not_a_mapping"),
                                           guide="parbot/samples/period-2020.yaml")
    return config, checker.problems


def load_period(path: str | Path) -> tuple[PeriodConfig | None, list[Problem]]:
    text, problems = read_text(path)
    return parse_period(text, str(path)) if text is not None else (None, problems)
