"""Scoring rules: how a unit's answer to one item becomes points.

Every rule is a pydantic model (unknown keys are refused) with three duties:
``inputs`` says what to ask, ``parse`` validates a raw answer into canonical form, and ``score`` turns a
canonical answer into exact Decimal points in [0, max]. A rule never sees the database or the chat.

Points may be one number or a mapping block -> number where blocks differ; ``resolve`` picks the block's.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .decimals import HUNDRED, MAX_INTEGER_DIGITS, MAX_LENGTH, MAX_PLACES, ZERO, NumberError, fmt, round_half_up, \
    to_decimal
from ..i18n import t
from .errors import DomainError

PointsSpec = Union[Decimal, dict[str, Decimal]]
THOUSANDS = re.compile(r"\d{1,3}(?:[.,]\d{3})+")


def resolve(points: PointsSpec, block: str) -> Decimal:
    if isinstance(points, dict):
        if block not in points:
            raise DomainError("criteria.block_missing", block=block)
        return points[block]
    return points


def _coerce_points(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): to_decimal(v) for k, v in value.items()}
    if value is None:
        return None
    return to_decimal(value)


def _positive(value: Any) -> Any:
    """A step or a per-occurrence amount must be positive: a negative one would push points above the maximum."""
    values = value.values() if isinstance(value, dict) else [value]
    if any(v <= 0 for v in values):
        raise PydanticCustomError("positive", "must be a positive number")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Input(_Strict):
    """One value the officer types or picks; ``key`` names it in the stored answer."""

    key: str
    label: str
    label_en: str | None = None
    kind: Literal["number", "integer", "boolean", "option"]
    minimum: Decimal | None = None
    maximum: Decimal | None = None


class AnswerError(DomainError):
    """The raw answer does not fit the rule; ``code`` picks the catalog message."""


def parse_number(raw: Any, *, integer: bool, minimum: Decimal | None, maximum: Decimal | None) -> Decimal:
    """Parse a typed number the way officers write it: '12', '12,5' (Vietnamese comma) or '12.5'."""
    if integer and isinstance(raw, str) and THOUSANDS.fullmatch(raw.strip()):
        # "1.000" hồ sơ is one thousand to a Vietnamese reader and 1 to Decimal: refuse rather than guess.
        raise AnswerError("answer.thousands_separator", value=raw.strip(),
                          plain=raw.strip().replace(".", "").replace(",", ""))
    try:
        value = to_decimal(raw)
    except NumberError as exc:
        shown = exc.value[:MAX_LENGTH] + ("…" if len(exc.value) > MAX_LENGTH else "")
        if exc.reason in ("too_long", "too_large"):
            raise AnswerError("answer.number_too_large", digits=MAX_INTEGER_DIGITS) from None
        if exc.reason == "too_precise":
            raise AnswerError("answer.too_many_decimals", value=shown, places=MAX_PLACES) from None
        raise AnswerError("answer.not_a_number", value=shown) from None
    except ValueError:  # not text nor a number at all (None, a boolean, a list)
        raise AnswerError("answer.not_a_number", value="") from None
    if integer and value != value.to_integral_value():
        raise AnswerError("answer.not_an_integer", value=fmt(value))
    if minimum is not None and value < minimum:
        raise AnswerError("answer.below_minimum", value=fmt(value), minimum=fmt(minimum))
    if maximum is not None and value > maximum:
        raise AnswerError("answer.above_maximum", value=fmt(value), maximum=fmt(maximum))
    return value


class _RuleBase(_Strict):
    def inputs(self) -> list[Input]:
        raise NotImplementedError

    def parse(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Validate a raw answer (strings as typed, option codes as pressed) into canonical JSON-safe form."""
        raise NotImplementedError

    def score(self, answer: dict[str, Any], maximum: Decimal, block: str) -> Decimal | None:
        """Points for a canonical answer; ``None`` means the item does not apply (zero denominator rule)."""
        raise NotImplementedError

    def reachable(self, maximum: Decimal, block: str) -> list[Decimal]:
        """Every value ``score`` can produce at its extremes, to check the rule never exceeds the maximum."""
        raise NotImplementedError

    def describe(self, maximum: Decimal, block: str, lang: str = "vi") -> str:
        raise NotImplementedError

    @property
    def self_scored(self) -> bool:
        return True


class YesNoRule(_RuleBase):
    kind: Literal["yes_no"]
    yes: PointsSpec | None = None  # default: the item's maximum
    no: PointsSpec = Decimal(0)
    yes_label: str = "Có / Đạt"
    no_label: str = "Không / Không đạt"

    _points = field_validator("yes", "no", mode="before")(_coerce_points)

    @model_validator(mode="before")
    @classmethod
    def _yaml_boolean_keys(cls, data: Any) -> Any:
        # YAML 1.1 (PyYAML) reads the unquoted keys `yes:` and `no:` as the booleans True and False.
        if isinstance(data, dict):
            return {({True: "yes", False: "no"}[k] if isinstance(k, bool) else k): v for k, v in data.items()}
        return data

    def yes_points(self, maximum: Decimal, block: str) -> Decimal:
        return maximum if self.yes is None else resolve(self.yes, block)

    def labels(self, lang: str) -> tuple[str, str]:
        """The two answers' words: the criteria file's own; in English the catalog's (a file has no English
        labels for them)."""
        if lang == "en":
            return t("common.yes", lang), t("common.no", lang)
        return self.yes_label, self.no_label

    def inputs(self) -> list[Input]:
        return [Input(key="yes", label="", kind="boolean")]

    def parse(self, raw: dict[str, Any]) -> dict[str, Any]:
        value = raw.get("yes")
        if isinstance(value, str):
            value = {"1": True, "y": True, "yes": True, "co": True, "có": True, "true": True,
                     "0": False, "n": False, "no": False, "khong": False, "không": False,
                     "false": False}.get(value.strip().lower())
        if not isinstance(value, bool):
            raise AnswerError("answer.pick_option")
        return {"yes": value}

    def score(self, answer: dict[str, Any], maximum: Decimal, block: str) -> Decimal:
        return self.yes_points(maximum, block) if answer["yes"] else resolve(self.no, block)

    def reachable(self, maximum: Decimal, block: str) -> list[Decimal]:
        return [self.yes_points(maximum, block), resolve(self.no, block)]

    def describe(self, maximum: Decimal, block: str, lang: str = "vi") -> str:
        yes, no = fmt(self.yes_points(maximum, block), lang == 'vi'), fmt(resolve(self.no, block), lang == 'vi')
        yes_label, no_label = self.labels(lang)
        return f"{yes_label}: {yes} ; {no_label}: {no}"


class Option(_Strict):
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,16}$")]
    label: str
    label_en: str | None = None
    points: PointsSpec

    _points = field_validator("points", mode="before")(_coerce_points)

    def label_in(self, lang: str) -> str:
        return self.label_en if lang == "en" and self.label_en else self.label


class ChoiceRule(_RuleBase):
    """One of several written options, e.g. timeliness: on time 1 / late 0.5 / not done 0."""

    kind: Literal["choice"]
    options: Annotated[list[Option], Field(min_length=2)]

    def option(self, code: str) -> Option:
        for option in self.options:
            if option.code == code:
                return option
        raise AnswerError("answer.pick_option")

    def inputs(self) -> list[Input]:
        return [Input(key="option", label="", kind="option")]

    def parse(self, raw: dict[str, Any]) -> dict[str, Any]:
        return {"option": self.option(str(raw.get("option", ""))).code}

    def score(self, answer: dict[str, Any], maximum: Decimal, block: str) -> Decimal:
        return resolve(self.option(answer["option"]).points, block)

    def reachable(self, maximum: Decimal, block: str) -> list[Decimal]:
        return [resolve(o.points, block) for o in self.options]

    def describe(self, maximum: Decimal, block: str, lang: str = "vi") -> str:
        return " ; ".join(
            f"{o.label_in(lang)}: {fmt(resolve(o.points, block), lang == 'vi')}"
            for o in self.options
        )


class Tier(_Strict):
    """A band of the measured value. Edges spell the decision's wording: 'trên 90%' is ``above: 90``,
    'từ 70% đến 90%' is ``at_least: 70, at_most: 90``, 'dưới 70%' is ``below: 70``."""

    above: Decimal | None = None
    at_least: Decimal | None = None
    below: Decimal | None = None
    at_most: Decimal | None = None
    points: PointsSpec
    label: str | None = None

    _points = field_validator("points", mode="before")(_coerce_points)
    _edges = field_validator("above", "at_least", "below", "at_most", mode="before")(_coerce_points)

    def lower(self) -> tuple[Decimal | None, bool]:
        """(edge, inclusive); None means unbounded below."""
        if self.at_least is not None:
            return self.at_least, True
        if self.above is not None:
            return self.above, False
        return None, True

    def upper(self) -> tuple[Decimal | None, bool]:
        if self.at_most is not None:
            return self.at_most, True
        if self.below is not None:
            return self.below, False
        return None, True

    def contains(self, value: Decimal) -> bool:
        low, low_incl = self.lower()
        high, high_incl = self.upper()
        if low is not None and (value < low or (value == low and not low_incl)):
            return False
        if high is not None and (value > high or (value == high and not high_incl)):
            return False
        return True

    def text(self, unit: str, lang: str) -> str:
        low, low_incl = self.lower()
        high, high_incl = self.upper()
        parts = []
        if low is not None:
            parts.append(f"{'≥' if low_incl else '>'} {fmt(low, lang == 'vi')}{unit}")
        if high is not None:
            parts.append(f"{'≤' if high_incl else '<'} {fmt(high, lang == 'vi')}{unit}")
        if self.label:
            return self.label
        if len(parts) == 2:
            return t("rule.tier.between", lang, low=parts[0], high=parts[1])
        return parts[0] if parts else t("rule.tier.any", lang)


ZeroDenominator = Literal["not_applicable", "full", "zero"]


class _RatioInputs(_Strict):
    numerator: str | None = None
    numerator_en: str | None = None
    denominator: str | None = None
    denominator_en: str | None = None
    zero_denominator: ZeroDenominator = "not_applicable"

    def ratio_inputs(self) -> list[Input]:
        return [
            Input(key="numerator", label=self.numerator or "", label_en=self.numerator_en,
                  kind="integer", minimum=ZERO),
            Input(key="denominator", label=self.denominator or "", label_en=self.denominator_en,
                  kind="integer", minimum=ZERO),
        ]

    def parse_ratio(self, raw: dict[str, Any]) -> dict[str, Any]:
        numerator = parse_number(raw.get("numerator"), integer=True, minimum=ZERO, maximum=None)
        denominator = parse_number(raw.get("denominator"), integer=True, minimum=ZERO, maximum=None)
        if numerator > denominator:
            raise AnswerError("answer.numerator_exceeds_denominator",
                              numerator=fmt(numerator), denominator=fmt(denominator))
        return {"numerator": str(numerator), "denominator": str(denominator)}

    def ratio_percent(self, answer: dict[str, Any]) -> Decimal | None:
        denominator = to_decimal(answer["denominator"])
        if denominator == 0:
            return None
        return to_decimal(answer["numerator"]) / denominator * HUNDRED

    def zero_result(self, maximum: Decimal) -> Decimal | None:
        return {"not_applicable": None, "full": maximum, "zero": ZERO}[self.zero_denominator]


class TiersRule(_RatioInputs, _RuleBase):
    """Points by the band a number (or a ratio in percent of two counts) falls in."""

    kind: Literal["tiers"]
    measure: Literal["number", "ratio"] = "number"
    label: str | None = None  # what the number is, for measure: number
    label_en: str | None = None
    unit: str = ""  # shown after values, e.g. "%"
    integer: bool = False
    minimum: Decimal = ZERO
    maximum: Decimal | None = None  # for measure: ratio the domain is [0, 100]
    tiers: Annotated[list[Tier], Field(min_length=1)]

    def domain(self) -> tuple[Decimal, Decimal | None]:
        if self.measure == "ratio":
            return ZERO, HUNDRED
        return self.minimum, self.maximum

    def inputs(self) -> list[Input]:
        if self.measure == "ratio":
            return self.ratio_inputs()
        return [Input(key="value", label=self.label or "", label_en=self.label_en,
                      kind="integer" if self.integer else "number",
                      minimum=self.minimum, maximum=self.maximum)]

    def parse(self, raw: dict[str, Any]) -> dict[str, Any]:
        if self.measure == "ratio":
            return self.parse_ratio(raw)
        value = parse_number(raw.get("value"), integer=self.integer, minimum=self.minimum, maximum=self.maximum)
        return {"value": str(value)}

    def value_of(self, answer: dict[str, Any]) -> Decimal | None:
        if self.measure == "ratio":
            return self.ratio_percent(answer)
        return to_decimal(answer["value"])

    def tier_for(self, value: Decimal) -> Tier | None:
        for tier in self.tiers:
            if tier.contains(value):
                return tier
        return None

    def score(self, answer: dict[str, Any], maximum: Decimal, block: str) -> Decimal | None:
        value = self.value_of(answer)
        if value is None:
            return self.zero_result(maximum)
        tier = self.tier_for(value)
        return ZERO if tier is None else resolve(tier.points, block)

    def reachable(self, maximum: Decimal, block: str) -> list[Decimal]:
        values = [resolve(t.points, block) for t in self.tiers]
        zero = self.zero_result(maximum) if self.measure == "ratio" else None
        return values + ([zero] if zero is not None else [])

    def describe(self, maximum: Decimal, block: str, lang: str = "vi") -> str:
        unit = "%" if self.measure == "ratio" else self.unit
        return " ; ".join(f"{tier.text(unit, lang)}: {fmt(resolve(tier.points, block), lang == 'vi')}"
                          for tier in self.tiers)


class ProportionalRule(_RatioInputs, _RuleBase):
    """Points = ratio of two reported counts × the item's maximum ('Điểm = Tỷ lệ × điểm tối đa')."""

    kind: Literal["proportional"]
    decimals: Annotated[int, Field(ge=0, le=4)] = 2

    def inputs(self) -> list[Input]:
        return self.ratio_inputs()

    def parse(self, raw: dict[str, Any]) -> dict[str, Any]:
        return self.parse_ratio(raw)

    def score(self, answer: dict[str, Any], maximum: Decimal, block: str) -> Decimal | None:
        ratio = self.ratio_percent(answer)
        if ratio is None:
            return self.zero_result(maximum)
        # Rounded half-up, then clamped: a ratio ≤ 1 keeps the result ≤ max even after rounding.
        return min(round_half_up(ratio / HUNDRED * maximum, self.decimals), maximum)

    def reachable(self, maximum: Decimal, block: str) -> list[Decimal]:
        zero = self.zero_result(maximum)
        return [ZERO, maximum] + ([zero] if zero is not None else [])

    def describe(self, maximum: Decimal, block: str, lang: str = "vi") -> str:
        return t("rule.describe.proportional", lang, maximum=fmt(maximum, lang == 'vi'))


class PerOccurrenceRule(_RuleBase):
    """Points per occurrence counted by the unit, capped: ``subtract`` starts from the maximum and
    deducts (e.g. 0.5 per late report), ``add`` accumulates (e.g. 0.25 per initiative)."""

    kind: Literal["per_occurrence"]
    label: str | None = None
    label_en: str | None = None
    per: PointsSpec
    mode: Literal["subtract", "add"] = "subtract"
    cap: PointsSpec | None = None  # default and upper bound: the item's maximum

    _points = field_validator("per", "cap", mode="before")(_coerce_points)
    _per = field_validator("per", mode="after")(_positive)

    def capped(self, maximum: Decimal, block: str) -> Decimal:
        return maximum if self.cap is None else resolve(self.cap, block)

    def inputs(self) -> list[Input]:
        return [Input(key="count", label=self.label or "", label_en=self.label_en, kind="integer", minimum=ZERO)]

    def parse(self, raw: dict[str, Any]) -> dict[str, Any]:
        count = parse_number(raw.get("count"), integer=True, minimum=ZERO, maximum=None)
        return {"count": int(count)}

    def score(self, answer: dict[str, Any], maximum: Decimal, block: str) -> Decimal:
        amount = min(Decimal(answer["count"]) * resolve(self.per, block), self.capped(maximum, block))
        return maximum - amount if self.mode == "subtract" else amount

    def reachable(self, maximum: Decimal, block: str) -> list[Decimal]:
        cap = self.capped(maximum, block)
        return [maximum, maximum - cap] if self.mode == "subtract" else [ZERO, cap]

    def describe(self, maximum: Decimal, block: str, lang: str = "vi") -> str:
        per, cap = fmt(resolve(self.per, block), lang == 'vi'), fmt(self.capped(maximum, block), lang == 'vi')
        return t(f"rule.describe.{self.mode}", lang, per=per, cap=cap)


class Condition(_Strict):
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,16}$")]
    label: str
    label_en: str | None = None

    def label_in(self, lang: str) -> str:
        return self.label_en if lang == "en" and self.label_en else self.label


class AllOfRule(_RuleBase):
    """Full points only when every condition holds ('đủ số lượng VÀ đúng thời gian')."""

    kind: Literal["all_of"]
    conditions: Annotated[list[Condition], Field(min_length=2)]
    points: PointsSpec | None = None  # default: the item's maximum

    _points = field_validator("points", mode="before")(_coerce_points)

    def full(self, maximum: Decimal, block: str) -> Decimal:
        return maximum if self.points is None else resolve(self.points, block)

    def inputs(self) -> list[Input]:
        return [Input(key=c.code, label=c.label, label_en=c.label_en, kind="boolean") for c in self.conditions]

    def parse(self, raw: dict[str, Any]) -> dict[str, Any]:
        held = raw.get("conditions")
        if not isinstance(held, dict) or set(held) != {c.code for c in self.conditions}:
            raise AnswerError("answer.conditions_incomplete")
        if not all(isinstance(v, bool) for v in held.values()):
            raise AnswerError("answer.pick_option")
        return {"conditions": {c.code: held[c.code] for c in self.conditions}}

    def score(self, answer: dict[str, Any], maximum: Decimal, block: str) -> Decimal:
        return self.full(maximum, block) if all(answer["conditions"].values()) else ZERO

    def reachable(self, maximum: Decimal, block: str) -> list[Decimal]:
        return [ZERO, self.full(maximum, block)]

    def describe(self, maximum: Decimal, block: str, lang: str = "vi") -> str:
        full = fmt(self.full(maximum, block), lang == 'vi')
        return t("rule.describe.all_of", lang, full=full)


class DirectPointsRule(_RuleBase):
    """Points entered directly, in steps (for items scored by judgement)."""

    kind: Literal["points"]
    step: Decimal = Decimal("0.25")

    _step = field_validator("step", mode="before")(_coerce_points)
    _step_positive = field_validator("step", mode="after")(_positive)

    def inputs(self) -> list[Input]:
        return [Input(key="points", label="", kind="number", minimum=ZERO)]

    def parse(self, raw: dict[str, Any]) -> dict[str, Any]:
        value = parse_number(raw.get("points"), integer=False, minimum=ZERO, maximum=None)
        if (value / self.step) != (value / self.step).to_integral_value():
            raise AnswerError("answer.not_a_step", value=fmt(value), step=fmt(self.step))
        return {"points": str(value)}

    def score(self, answer: dict[str, Any], maximum: Decimal, block: str) -> Decimal:
        points = to_decimal(answer["points"])
        if points > maximum:
            raise AnswerError("answer.above_maximum", value=fmt(points), maximum=fmt(maximum))
        return points

    def reachable(self, maximum: Decimal, block: str) -> list[Decimal]:
        return [ZERO, maximum]

    def describe(self, maximum: Decimal, block: str, lang: str = "vi") -> str:
        return t("rule.describe.points", lang, maximum=fmt(maximum, lang == 'vi'), step=fmt(self.step, lang == 'vi'))


class SurveyRule(_RuleBase):
    """Measured by the sociological survey: never self-scored, points come from the survey import."""

    kind: Literal["survey"]
    question: str | None = None

    def inputs(self) -> list[Input]:
        return []

    def parse(self, raw: dict[str, Any]) -> dict[str, Any]:
        raise AnswerError("answer.survey_not_self_scored")

    def score(self, answer: dict[str, Any], maximum: Decimal, block: str) -> Decimal:
        raise AnswerError("answer.survey_not_self_scored")

    def reachable(self, maximum: Decimal, block: str) -> list[Decimal]:
        return [ZERO, maximum]

    def describe(self, maximum: Decimal, block: str, lang: str = "vi") -> str:
        return t("rule.describe.survey", lang)

    @property
    def self_scored(self) -> bool:
        return False


Rule = Annotated[
    Union[YesNoRule, ChoiceRule, TiersRule, ProportionalRule, PerOccurrenceRule, AllOfRule,
          DirectPointsRule, SurveyRule],
    Field(discriminator="kind"),
]
RULE_KINDS = ("yes_no", "choice", "tiers", "proportional", "per_occurrence", "all_of", "points", "survey")
