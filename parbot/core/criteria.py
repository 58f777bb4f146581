"""Criteria sets (bộ tiêu chí): the YAML format, its loading and its validation.

A criteria set holds areas → criteria → items (sub-criteria). An item is the scored leaf; a criterion
without sub-criteria carries its own ``rule`` and is then an item itself. ``load_criteria_set`` never raises
on bad input: it returns every problem with the path and line where it is. The format is documented in
docs/criteria-format.md.
"""
from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .decimals import MAX_INTEGER_DIGITS, MAX_LENGTH, MAX_PLACES, ZERO, NumberError, fmt
from .errors import Message, file_problem, schema_problem, yaml_problem
from .rules import RULE_KINDS, PointsSpec, Rule, SurveyRule, TiersRule, _coerce_points, resolve

FORMAT = "parbot/criteria-set@1"
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,23}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ItemSpec(_Strict):
    code: Code
    name: str
    name_en: str | None = None
    max: PointsSpec
    question: str | None = None  # what to ask; the name is asked when absent
    question_en: str | None = None
    guidance: str | None = None  # how to answer / which documents count
    evidence: Literal["required", "optional", "none"] = "optional"
    not_applicable: bool = False  # "Không phát sinh" allowed: the item then leaves the unit's maximum
    blocks: list[str] | None = None  # only these blocks are assessed on the item
    rule: Rule

    _max = field_validator("max", mode="before")(_coerce_points)


class CriterionSpec(_Strict):
    code: Code
    name: str
    name_en: str | None = None
    max: PointsSpec | None = None  # checked against the sum of its items; derived when absent
    items: list[ItemSpec] | None = None
    # A criterion without sub-criteria is scored itself: these fields then apply as on an item.
    question: str | None = None
    question_en: str | None = None
    guidance: str | None = None
    evidence: Literal["required", "optional", "none"] = "optional"
    not_applicable: bool = False
    blocks: list[str] | None = None
    rule: Rule | None = None

    _max = field_validator("max", mode="before")(_coerce_points)

    @model_validator(mode="after")
    def _items_or_rule(self) -> "CriterionSpec":
        if (self.items is None) == (self.rule is None):
            raise PydanticCustomError("items_or_rule", "a criterion has either 'items' (sub-criteria) or its own 'rule', not both or neither")
        if self.rule is not None and self.max is None:
            raise PydanticCustomError("rule_needs_max", "a criterion scored by its own 'rule' needs 'max'")
        return self

    def leaves(self) -> list[ItemSpec]:
        if self.items is not None:
            return self.items
        return [ItemSpec(code=self.code, name=self.name, name_en=self.name_en, max=self.max,
                         question=self.question, question_en=self.question_en, guidance=self.guidance,
                         evidence=self.evidence, not_applicable=self.not_applicable, blocks=self.blocks,
                         rule=self.rule)]


class AreaSpec(_Strict):
    code: Code
    name: str
    name_en: str | None = None
    short: str | None = None  # short label for charts and tables
    max: PointsSpec | None = None
    criteria: Annotated[list[CriterionSpec], Field(min_length=1)]

    _max = field_validator("max", mode="before")(_coerce_points)


class AdjustmentSpec(_Strict):
    """Bonus or deduction content: its items' points are added (bonus) or subtracted (deduction) from the
    total, the sum capped at ``cap``; their maxima never count in the unit's maximum."""

    code: Code
    name: str
    name_en: str | None = None
    cap: PointsSpec
    items: Annotated[list[ItemSpec], Field(min_length=1)]

    _cap = field_validator("cap", mode="before")(_coerce_points)


class Block(_Strict):
    code: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,16}$")]
    name: str
    name_en: str | None = None


class CriteriaSetSpec(_Strict):
    format: Literal["parbot/criteria-set@1"]
    code: Code
    version: Annotated[int, Field(ge=1)] = 1
    year: Annotated[int, Field(ge=2000, le=2100)]
    title: str
    title_en: str | None = None
    blocks: Annotated[list[Block], Field(min_length=1)]
    total_max: PointsSpec | None = None  # checked against the sum of the areas when given
    points_decimals: Literal[2, 3] = 2  # decimals points are kept and shown at (Thừa Thiên Huế publishes 3)
    sources: list[str] = []
    template_note: str | None = None  # which parts are a template rather than a decision's text
    areas: Annotated[list[AreaSpec], Field(min_length=1)]
    bonus: AdjustmentSpec | None = None
    deduction: AdjustmentSpec | None = None

    _total = field_validator("total_max", mode="before")(_coerce_points)


# ----------------------------------------------------------------------------------------------------
# The resolved view the engine and the bot work with: one block, scalar maxima.


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    name_en: str | None
    area_code: str
    criterion_code: str
    maximum: Decimal
    question: str
    question_en: str | None
    guidance: str | None
    evidence: str
    not_applicable_allowed: bool
    rule: Any  # one of core.rules' rule models
    section: Literal["area", "bonus", "deduction"] = "area"
    position: int = 0  # order within the set, for walking items in sequence

    @property
    def is_survey(self) -> bool:
        return isinstance(self.rule, SurveyRule)

    @property
    def self_scored(self) -> bool:
        return not self.is_survey

    def label(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name

    def prompt(self, lang: str) -> str:
        if lang == "en" and self.question_en:
            return self.question_en
        return self.question or self.label(lang)


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    name_en: str | None
    short: str | None
    maximum: Decimal
    item_codes: tuple[str, ...]

    def label(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name


@dataclass(frozen=True)
class Adjustment:
    code: str
    name: str
    cap: Decimal
    item_codes: tuple[str, ...]


@dataclass(frozen=True)
class BlockCriteria:
    """A criteria set resolved for one block: what a unit of that block is assessed on."""

    set_code: str
    set_version: int
    year: int
    block: str
    areas: tuple[Area, ...]
    items: dict[str, Item]  # code -> item, in set order
    bonus: Adjustment | None
    deduction: Adjustment | None
    points_decimals: int = 2

    @property
    def maximum(self) -> Decimal:
        return sum((a.maximum for a in self.areas), ZERO)

    def area_items(self, area_code: str) -> list[Item]:
        area = next(a for a in self.areas if a.code == area_code)
        return [self.items[c] for c in area.item_codes]

    def assessed_items(self) -> list[Item]:
        return [i for i in self.items.values() if i.section == "area"]


@dataclass(frozen=True)
class CriteriaSet:
    spec: CriteriaSetSpec
    content_hash: str
    source_text: str
    # Resolved views per block: a set is immutable, and resolving walks every item (hot when listing units).
    _views: dict[str, "BlockCriteria"] = field(default_factory=dict, compare=False, repr=False)

    @property
    def code(self) -> str:
        return self.spec.code

    @property
    def block_codes(self) -> list[str]:
        return [b.code for b in self.spec.blocks]

    def for_block(self, block: str) -> BlockCriteria:
        if block not in self._views:
            self._views[block] = self._resolve(block)
        return self._views[block]

    def _resolve(self, block: str) -> BlockCriteria:
        spec = self.spec
        items: dict[str, Item] = {}
        areas = []

        def add(item: ItemSpec, area: str, criterion: str, section: str) -> str | None:
            if item.blocks is not None and block not in item.blocks:
                return None
            items[item.code] = Item(
                code=item.code, name=item.name, name_en=item.name_en, area_code=area, criterion_code=criterion,
                maximum=resolve(item.max, block), question=item.question or item.name,
                question_en=item.question_en, guidance=item.guidance, evidence=item.evidence,
                not_applicable_allowed=item.not_applicable, rule=item.rule, section=section,
                position=len(items))
            return item.code

        for area in spec.areas:
            codes = [add(leaf, area.code, crit.code, "area") for crit in area.criteria for leaf in crit.leaves()]
            kept = tuple(c for c in codes if c)
            areas.append(Area(code=area.code, name=area.name, name_en=area.name_en, short=area.short,
                              maximum=sum((items[c].maximum for c in kept), ZERO), item_codes=kept))

        def adjustment(adj: AdjustmentSpec | None, section: str) -> Adjustment | None:
            if adj is None:
                return None
            codes = tuple(c for c in (add(i, adj.code, adj.code, section) for i in adj.items) if c)
            return Adjustment(code=adj.code, name=adj.name, cap=resolve(adj.cap, block), item_codes=codes)

        return BlockCriteria(set_code=spec.code, set_version=spec.version, year=spec.year, block=block,
                             areas=tuple(areas), items=items,
                             bonus=adjustment(spec.bonus, "bonus"), deduction=adjustment(spec.deduction, "deduction"),
                             points_decimals=spec.points_decimals)


# ----------------------------------------------------------------------------------------------------
# Loading and validation


@dataclass(frozen=True)
class Problem:
    file: str
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '(top)'}: {self.message}"


def _line_index(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Map each path (keys and list indices) to the 1-based line where it appears in the YAML text."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*path, key_node.value)
            out[key] = key_node.start_mark.line + 1
            _line_index(value_node, key, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _line_index(child, (*path, index), out)
    return out


def format_path(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _Checker:
    def __init__(self, file: str, lines: dict[tuple, int]) -> None:
        self.file, self.lines, self.problems = file, lines, []

    def add(self, loc: tuple, message: str) -> None:
        line = None
        for cut in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:cut]))
            if line:
                break
        self.problems.append(Problem(self.file, format_path(loc), line, message))


def _pydantic_loc(loc: tuple, raw: Any) -> tuple:
    """Drop pydantic's union tags (rule kinds, 'Decimal', 'dict[str,Decimal]') so paths match the YAML."""
    clean: list = []
    node = raw
    for part in loc:
        if isinstance(node, dict) and part in node:
            clean.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            clean.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and not clean_tag(part):
            clean.append(part)  # an unknown or missing key: name it
            node = None
        # otherwise a union tag: skip
    return tuple(clean)


def clean_tag(part: str) -> bool:
    return part in RULE_KINDS or part.startswith(("function-", "decimal", "dict[")) or part in ("Decimal",)


M = TypeVar("M", bound=BaseModel)


def read_text(path: str | Path) -> tuple[str | None, list[Problem]]:
    try:
        return Path(path).read_text(encoding="utf-8"), []
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), "", None, Message("criteria.unreadable", detail=file_problem(exc)))]


# A criteria set of 2025 is ~60 kB with nesting depth ~8; these bounds leave room while refusing documents
# built to exhaust memory (alias bombs) or the stack (deep nesting) before PyYAML or pydantic walk them.
MAX_DOCUMENT_CHARS = 2_000_000
MAX_NESTING = 64
MAX_EXPANDED_NODES = 200_000


def _beyond_bounds(text: str) -> str | None:
    """Size and nesting checked on the event stream, which PyYAML produces without recursion."""
    if len(text) > MAX_DOCUMENT_CHARS:
        return Message("criteria.too_large", size=len(text), limit=MAX_DOCUMENT_CHARS)
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_NESTING:
                line = event.start_mark.line + 1
                return Message("criteria.too_deep", limit=MAX_NESTING, line=line)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return None


def _expanded_beyond_bounds(root: yaml.Node | None) -> str | None:
    """Aliases make the composed graph share nodes; count the tree they would expand to, memoised per node."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        if id(node) not in sizes:
            if isinstance(node, yaml.MappingNode):
                children = [part for pair in node.value for part in pair]
            elif isinstance(node, yaml.SequenceNode):
                children = node.value
            else:
                children = []
            sizes[id(node)] = min(MAX_EXPANDED_NODES + 1, 1 + sum(size(child) for child in children))
        return sizes[id(node)]

    if root is not None and size(root) > MAX_EXPANDED_NODES:
        return Message("criteria.too_expanded", limit=MAX_EXPANDED_NODES)
    return None


def validate_document(text: str, file: str, model: type[M], not_a_mapping: str,
                      guide: str = "docs/criteria-format.md") -> tuple[M | None, _Checker, Any]:
    """Parse YAML text (NFC) into ``model``, every problem located by path and line in the checker;
    an unknown key points to ``guide``, where the keys are explained."""
    text = unicodedata.normalize("NFC", text)
    checker = _Checker(file, {})
    try:
        too_big = _beyond_bounds(text)
        if too_big:
            checker.problems.append(Problem(file, "", None, too_big))
            return None, checker, None
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        too_big = _expanded_beyond_bounds(node)
        if too_big:
            checker.problems.append(Problem(file, "", None, too_big))
            return None, checker, None
        raw = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        checker.problems.append(Problem(file, "", mark.line + 1 if mark else None, Message("criteria.not_yaml", detail=yaml_problem(exc))))
        return None, checker, None
    if node is not None:
        checker.lines = _line_index(node)
        _check_duplicate_keys(node, checker)
        if checker.problems:
            return None, checker, raw
    if not isinstance(raw, dict):
        checker.add((), not_a_mapping)
        return None, checker, raw
    try:
        return model.model_validate(raw), checker, raw
    except ValidationError as exc:
        for error in exc.errors():
            # Catalog messages (problem.schema.<type>) say what is expected in the reader's language.
            message = schema_problem(error, guide=guide) or _number_problem(error) or error["msg"]
            checker.add(_pydantic_loc(error["loc"], raw), message)
        return None, checker, raw


def _number_problem(error: dict[str, Any]) -> Message | None:
    """A number refused by the one parser (decimals.NumberError), in the reader's language."""
    refused = (error.get("ctx") or {}).get("error")
    if not isinstance(refused, NumberError):
        return None
    return Message(f"number.{refused.reason}", value=refused.value[:MAX_LENGTH], length=MAX_LENGTH,
                   digits=MAX_INTEGER_DIGITS, places=MAX_PLACES)


def load_criteria_set(path: str | Path) -> tuple[CriteriaSet | None, list[Problem]]:
    text, problems = read_text(path)
    return parse_criteria_set(text, str(path)) if text is not None else (None, problems)


def parse_criteria_set(text: str, file: str = "<text>") -> tuple[CriteriaSet | None, list[Problem]]:
    text = unicodedata.normalize("NFC", text)
    spec, checker, _ = validate_document(text, file, CriteriaSetSpec,
                                         Message("criteria.not_a_mapping"))
    if spec is None:
        return None, _dedupe(checker.problems)
    _check_semantics(spec, checker)
    if checker.problems:
        return None, checker.problems
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return CriteriaSet(spec=spec, content_hash=digest, source_text=text), []


def _check_duplicate_keys(node: yaml.Node, ck: _Checker, path: tuple = ()) -> None:
    """PyYAML silently keeps the last of two equal keys, so a mis-indented block would replace its sibling."""
    if isinstance(node, yaml.MappingNode):
        first: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key, line = key_node.value, key_node.start_mark.line + 1
            if key in first:
                ck.problems.append(Problem(ck.file, format_path((*path, key)), line,
                                           Message("criteria.key_repeats", key=key, first=first[key])))
            else:
                first[key] = line
            _check_duplicate_keys(value_node, ck, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _check_duplicate_keys(child, ck, (*path, index))


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        if (p.path, p.message) not in seen:
            seen.add((p.path, p.message))
            out.append(p)
    return out


def _check_semantics(spec: CriteriaSetSpec, ck: _Checker) -> None:
    blocks = [b.code for b in spec.blocks]
    seen_codes: dict[str, tuple] = {}
    places = spec.points_decimals

    def check_code(code: str, loc: tuple) -> None:
        if code in seen_codes:
            ck.add((*loc, "code"), Message("criteria.duplicate_code", duplicate=code, first=format_path(seen_codes[code])))
        else:
            seen_codes[code] = loc

    def check_blocks_in(points: Any, loc: tuple) -> bool:
        if isinstance(points, dict):
            unknown = sorted(set(points) - set(blocks))
            missing = sorted(set(blocks) - set(points))
            if unknown:
                ck.add(loc, Message("criteria.unknown_blocks", unknown=unknown, blocks=blocks))
                return False
            if missing:
                ck.add(loc, Message("criteria.missing_blocks", missing=missing))
                return False
        return True

    def report_per_block(loc: tuple, per_block: dict[str, list[tuple[str, str]]]) -> None:
        """One message when every block has the same problem; else one per block, naming it."""
        found = list(per_block.values())
        if len(found) > 1 and all(f == found[0] for f in found) or len(blocks) == 1:
            for key, message in found[0] if found else []:
                ck.add((*loc, key), message)
            return
        for block, problems in per_block.items():
            for key, message in problems:
                ck.add((*loc, key), Message("criteria.for_block", problem=message, block=block))

    def check_item(item: ItemSpec, loc: tuple, section: str) -> None:
        check_code(item.code, loc)
        if item.blocks is not None and set(item.blocks) - set(blocks):
            ck.add((*loc, "blocks"), Message("criteria.item_unknown_blocks", blocks=blocks))
            return
        if not check_blocks_in(item.max, (*loc, "max")):
            return
        if section != "area" and isinstance(item.rule, SurveyRule):
            ck.add((*loc, "rule"), Message("criteria.survey_adjustment"))
        if isinstance(item.rule, SurveyRule) and item.not_applicable:
            ck.add((*loc, "not_applicable"), Message("criteria.survey_not_applicable"))
        if isinstance(item.rule, SurveyRule) and item.evidence == "required":
            ck.add((*loc, "evidence"), Message("criteria.survey_evidence"))
        per_block: dict[str, list[tuple[str, str]]] = {}
        for block in item.blocks or blocks:
            found = per_block.setdefault(block, [])
            maximum = resolve(item.max, block)
            if maximum <= 0:
                found.append(("max", Message("criteria.max_not_positive")))
                continue
            try:
                reachable = item.rule.reachable(maximum, block)
            except Exception:  # noqa: BLE001 - a per-block mapping without this block
                found.append(("rule", Message("criteria.points_no_entry")))
                continue
            over = [v for v in reachable if v > maximum]
            under = [v for v in reachable if v < 0]
            if over:
                found.append(("rule", Message("criteria.above_max", value=fmt(max(over)), maximum=fmt(maximum))))
            if under:
                found.append(("rule", Message("criteria.negative", value=fmt(min(under)))))
            finer = [v for v in reachable if v != v.quantize(Decimal(1).scaleb(-places))]
            if finer:
                found.append(("rule", Message("criteria.too_fine", value=fmt(finer[0]), places=places)))
        report_per_block(loc, per_block)
        if getattr(item.rule, "decimals", 0) > places:
            ck.add((*loc, "rule", "decimals"), Message("criteria.decimals", places=places))
        if isinstance(item.rule, TiersRule):
            _check_tiers(item.rule, (*loc, "rule", "tiers"), ck)
        rule = item.rule
        # Tiers on a plain number have no denominator, though they inherit the ratio settings.
        counts_ratio = not (isinstance(rule, TiersRule) and rule.measure == "number")
        if counts_ratio and getattr(rule, "zero_denominator", None) == "not_applicable" and not item.not_applicable:
            ck.add((*loc, "rule", "zero_denominator"),
                   Message("criteria.zero_denominator"))
        codes = [o.code for o in getattr(rule, "options", [])] + [c.code for c in getattr(rule, "conditions", [])]
        if len(codes) != len(set(codes)):
            ck.add((*loc, "rule"), Message("criteria.codes_repeat"))

    def check_sum(declared: Any, children: list[Any], loc: tuple, what: str, key: str = "max") -> None:
        if declared is None or not check_blocks_in(declared, (*loc, key)):
            return
        per_block: dict[str, list[tuple[str, str]]] = {}
        for block in blocks:
            total = sum((child[block] for child in children if child.get(block) is not None), ZERO)
            want = resolve(declared, block)
            per_block[block] = [(key, Message("criteria.sum", what=Message(what), total=fmt(total), want=fmt(want)))] if total != want else []
        report_per_block(loc, per_block)

    def item_max(item: ItemSpec) -> dict[str, Decimal | None]:
        return {b: (resolve(item.max, b) if (item.blocks is None or b in item.blocks)
                    and (not isinstance(item.max, dict) or b in item.max) else None) for b in blocks}

    def merged(parts: list[dict[str, Decimal | None]]) -> dict[str, Decimal]:
        return {b: sum((p[b] for p in parts if p.get(b) is not None), ZERO) for b in blocks}

    area_totals = []
    for a_index, area in enumerate(spec.areas):
        a_loc = ("areas", a_index)
        check_code(area.code, a_loc)
        crit_totals = []
        for c_index, criterion in enumerate(area.criteria):
            c_loc = (*a_loc, "criteria", c_index)
            if criterion.items is not None:
                check_code(criterion.code, c_loc)
                for i_index, item in enumerate(criterion.items):
                    check_item(item, (*c_loc, "items", i_index), "area")
                total = merged([item_max(i) for i in criterion.items])
                check_sum(criterion.max, [total], c_loc, "criteria.sum.items")
            else:
                leaf = criterion.leaves()[0]
                check_item(leaf, c_loc, "area")
                total = item_max(leaf)
            crit_totals.append(total)
        area_total = merged(crit_totals)
        check_sum(area.max, [area_total], a_loc, "criteria.sum.criteria")
        area_totals.append(area_total)
    check_sum(spec.total_max, [merged(area_totals)], (), "criteria.sum.areas", key="total_max")
    for name in ("bonus", "deduction"):
        adj = getattr(spec, name)
        if adj is None:
            continue
        check_code(adj.code, (name,))
        check_blocks_in(adj.cap, (name, "cap"))
        for i_index, item in enumerate(adj.items):
            check_item(item, (name, "items", i_index), name)


def _check_tiers(rule: TiersRule, loc: tuple, ck: _Checker) -> None:
    """Tiers must not overlap and must leave no gap over the measured value's domain."""
    low_domain, high_domain = rule.domain()
    intervals = []
    for index, tier in enumerate(rule.tiers):
        if tier.above is not None and tier.at_least is not None:
            ck.add((*loc, index), Message("criteria.tier_two_lower"))
            return
        if tier.below is not None and tier.at_most is not None:
            ck.add((*loc, index), Message("criteria.tier_two_upper"))
            return
        low, low_incl = tier.lower()
        high, high_incl = tier.upper()
        if low is not None and high is not None and (low > high or (low == high and not (low_incl and high_incl))):
            ck.add((*loc, index), Message("criteria.tier_empty", low=fmt(low), high=fmt(high)))
            return
        intervals.append((index, low, low_incl, high, high_incl))

    def low_key(iv):  # sort by lower edge; an inclusive edge starts before an exclusive one at the same value
        _, low, incl, _, _ = iv
        return (Decimal("-Infinity") if low is None else low, 0 if incl else 1)

    ordered = sorted(intervals, key=low_key)
    # The first tier must reach down to the domain's lower end.
    first = ordered[0]
    if first[1] is not None and (first[1] > low_domain or (first[1] == low_domain and not first[2])):
        ck.add((*loc, first[0]), Message("criteria.gap_below", low=fmt(low_domain), high=fmt(first[1])))
    for prev, cur in zip(ordered, ordered[1:]):
        p_high, p_incl = prev[3], prev[4]
        c_low, c_incl = cur[1], cur[2]
        pair = Message("criteria.pair", first=min(prev[0], cur[0]), second=max(prev[0], cur[0]))
        if p_high is None or c_low is None:
            ck.add((*loc, cur[0]), Message("criteria.open_overlap", pair=pair))
            continue
        if c_low < p_high or (c_low == p_high and p_incl and c_incl):
            where = fmt(c_low) if c_low == p_high else f"{fmt(c_low)}–{fmt(p_high)}"
            ck.add((*loc, cur[0]), Message("criteria.overlap", pair=pair, at=where))
        elif c_low == p_high and not p_incl and not c_incl:
            ck.add((*loc, cur[0]), Message("criteria.exact_gap", pair=pair, value=fmt(c_low)))
        elif c_low > p_high:
            ck.add((*loc, cur[0]), Message("criteria.gap_between", pair=pair, low=fmt(p_high), high=fmt(c_low)))
    last = ordered[-1]
    if last[3] is not None and (high_domain is None or last[3] < high_domain or (last[3] == high_domain and not last[4])):
        upper = Message("criteria.upwards") if high_domain is None else Message("criteria.up_to", value=fmt(high_domain))
        ck.add((*loc, last[0]), Message("criteria.gap_above", low=fmt(last[3]), upper=upper))


def shipped_sets_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "criteria_sets"
