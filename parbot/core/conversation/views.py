"""Texts of the self-assessment screens, from the catalogs, in the person's language."""
from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from ..criteria import Item
from ..decimals import fmt, percent, to_decimal
from ..model import Answer
from ..rules import AllOfRule, ChoiceRule, TiersRule, YesNoRule
from ..services.assessment import ItemView, Overview, Workspace, sequence
from ...i18n import t, when

TEXT_LIMIT = 4000  # Telegram refuses over 4096 characters; keep a margin for the header lines
BUTTON_LIMIT = 60


def num(value: Decimal | str | int | None, lang: str) -> str:
    if value is None:
        return "—"
    return fmt(to_decimal(value), decimal_comma=lang == "vi")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def typed(item: Item) -> bool:
    """Answered by typing numbers rather than pressing buttons."""
    return not isinstance(item.rule, (YesNoRule, ChoiceRule, AllOfRule))


def input_label(item: Item, key: str, lang: str) -> str:
    spec = next(i for i in item.rule.inputs() if i.key == key)
    label = spec.label_en if lang == "en" and spec.label_en else spec.label
    return label or t(f"assess.input.{key}", lang)


def answer_text(item: Item, answer: Answer, lang: str) -> str:
    if answer.not_applicable and not answer.value:
        return t("assess.answer.na", lang)
    rule, value = item.rule, answer.value
    if isinstance(rule, YesNoRule):
        return rule.labels(lang)[0 if value["yes"] else 1]
    if isinstance(rule, ChoiceRule):
        return rule.option(value["option"]).label_in(lang)
    if isinstance(rule, AllOfRule):
        return "; ".join(f"{'✅' if value['conditions'][c.code] else '❌'} {c.label_in(lang)}" for c in rule.conditions)
    if "numerator" in value:
        numerator, denominator = to_decimal(value["numerator"]), to_decimal(value["denominator"])
        share = f" ({num(percent(numerator, denominator), lang)}%)" if denominator else ""
        return f"{num(numerator, lang)}/{num(denominator, lang)}{share}"
    unit = rule.unit if isinstance(rule, TiersRule) else ""
    return next(num(v, lang) for v in value.values()) + unit


def answer_line(item: Item, answer: Answer | None, lang: str) -> str:
    """"Trả lời: … → n điểm" (or that there is none yet), on the item screen and the rules page."""
    if answer is None:
        return t("assess.item.unanswered", lang)
    points = t("assess.answer.na_points", lang) if answer.not_applicable else num(answer.points, lang)
    return t("assess.item.answer", lang, answer=answer_text(item, answer, lang), points=points)


def deadline_text(ws: Workspace, tz: str, lang: str) -> str:
    """Days left, counted in Vietnam's calendar ("today" is the province's date, not the server's)."""
    zone = ZoneInfo(tz)
    days = (ws.deadline.astimezone(zone).date() - ws.now.astimezone(zone).date()).days
    at = when(ws.deadline, tz)
    if ws.now > ws.deadline:
        return t("assess.deadline.passed", lang, at=at)
    if days == 0:
        return t("assess.deadline.today", lang, at=at)
    return t("assess.deadline.days", lang, days=days, at=at)


def read_only_text(ws: Workspace, tz: str, lang: str) -> str:
    return t(f"assess.readonly.{ws.read_only}", lang, deadline=when(ws.deadline, tz), opens=when(ws.opens, tz),
             submitted=when(ws.stage.submitted_at, tz) if ws.stage.submitted_at else "")


def header(ws: Workspace, lang: str) -> str:
    return t("assess.unit.header", lang, unit=ws.unit.name, year=ws.period.year)


def menu_text(over: Overview, tz: str, lang: str) -> str:
    ws, progress = over.ws, over.progress
    lines = [header(ws, lang),
             t("assess.menu.progress", lang, answered=progress.answered, total=progress.total,
               points=num(progress.points, lang), maximum=num(progress.maximum, lang)),
             deadline_text(ws, tz, lang)]
    if ws.read_only:
        lines.append(read_only_text(ws, tz, lang))
    lines.append(t("assess.menu.pick_area", lang))
    return "\n".join(lines)


def area_button(over: Overview, index: int, lang: str) -> str:
    area, progress = over.ws.criteria.areas[index], over.progress.areas[index]
    mark = "✅" if progress.total and progress.answered == progress.total else "▫️"
    label = area.short if area.short and lang != "en" else area.label(lang)
    return clip(f"{mark} {area.code}. {label} · {progress.answered}/{progress.total}", BUTTON_LIMIT)


EXPLANATION_LIMIT = 300


def item_text(view: ItemView, tz: str, lang: str, *, note: str | None = None, prompt: str | None = None) -> str:
    return item_screen_text(view, tz, lang, note=note, prompt=prompt)[0]


def item_screen_text(view: ItemView, tz: str, lang: str, *, note: str | None = None,
                     prompt: str | None = None) -> tuple[str, bool]:
    """The item screen's text, and whether it was shortened to fit a chat (the rules page shows it all)."""
    ws, item, answer = view.ws, view.item, view.answer
    lines = []
    if note:
        lines += [note, ""]
    lines.append(t("assess.item.header", lang, area=view.area.code, area_name=clip(view.area.label(lang), 60),
                   index=view.index, count=view.count))
    lines.append(f"{item.code}. {item.label(lang)}")
    if item.prompt(lang) != item.label(lang):
        lines.append(f"❓ {item.prompt(lang)}")
    lines.append(t("assess.item.maximum", lang, maximum=num(item.maximum, lang)))
    lines.append(t("assess.item.scoring", lang, how=item.rule.describe(item.maximum, ws.unit.block, lang)))
    if item.guidance:
        lines.append(t("assess.item.guidance", lang, guidance=item.guidance))
    lines.append(answer_line(item, answer, lang))
    evidence = view.evidence
    if evidence:
        names = ", ".join(clip(e.file_name or e.reference or t("assess.evidence.photo", lang), 40) for e in evidence)
        lines.append(t("assess.item.evidence", lang, count=len(evidence), names=names))
    elif item.evidence == "required":
        lines.append(t("assess.item.evidence_required", lang))
    if answer is not None and answer.explanation:
        lines.append(t("assess.item.explanation", lang, explanation=clip(answer.explanation, EXPLANATION_LIMIT)))
    if ws.read_only:
        lines.append(read_only_text(ws, tz, lang))
    elif prompt:
        lines += ["", prompt]
    text = "\n".join(lines)
    cut = len(text) > TEXT_LIMIT or bool(answer is not None and len(answer.explanation or "") > EXPLANATION_LIMIT)
    return clip(text, TEXT_LIMIT), cut


def input_prompt(item: Item, key: str, lang: str) -> str:
    spec = next(i for i in item.rule.inputs() if i.key == key)
    kind = t("assess.prompt.integer" if spec.kind == "integer" else "assess.prompt.decimal", lang)
    return t("assess.prompt.type", lang, label=input_label(item, key, lang), kind=kind)


def condition_prompt(item: Item, held: str, lang: str) -> str:
    rule: AllOfRule = item.rule
    condition = rule.conditions[len(held)]
    return t("assess.prompt.condition", lang, index=len(held) + 1, count=len(rule.conditions),
             label=condition.label_in(lang))


def saved_note(view: ItemView, lang: str) -> str:
    answer = view.answer
    points = t("assess.answer.na_points", lang) if answer.not_applicable else num(answer.points, lang)
    return t("assess.saved", lang, item=view.item.code, points=points, maximum=num(view.item.maximum, lang))


def status_text(over: Overview, tz: str, lang: str) -> str:
    ws, progress = over.ws, over.progress
    lines = [header(ws, lang),
             t("assess.status.progress", lang, answered=progress.answered, total=progress.total),
             t("assess.status.points", lang, points=num(progress.points, lang), maximum=num(progress.maximum, lang)),
             deadline_text(ws, tz, lang)]
    if progress.missing_items:
        lines.append(t("assess.status.missing", lang, count=len(progress.missing_items),
                       items=clip(", ".join(progress.missing_items), 1200)))
    if progress.missing_evidence:
        lines.append(t("assess.status.missing_evidence", lang, count=len(progress.missing_evidence),
                       items=clip(", ".join(progress.missing_evidence), 1200)))
    lines.append(stage_text(ws, tz, lang))
    return clip("\n".join(lines), TEXT_LIMIT)


def stage_text(ws: Workspace, tz: str, lang: str) -> str:
    if ws.stage.submitted_at:
        return t("assess.stage.submitted", lang, at=when(ws.stage.submitted_at, tz))
    if ws.approval_required:
        if ws.stage.approved_at:
            return t("assess.stage.approved", lang, at=when(ws.stage.approved_at, tz))
        return t("assess.stage.awaiting_approval", lang)
    return t("assess.stage.draft", lang)


def review_text(over: Overview, area_index: int | None, tz: str, lang: str) -> str:
    """One area's answers (area_index), or the final review of every area."""
    ws = over.ws
    if area_index is None:
        lines = [t("assess.review.final", lang), status_text(over, tz, lang), ""]
        for area, progress in zip(ws.criteria.areas, over.progress.areas):
            if not progress.total:  # survey-only areas are not self-assessed
                continue
            lines.append(t("assess.review.area_line", lang, area=area.code, name=clip(area.label(lang), 50),
                           answered=progress.answered, total=progress.total, points=num(progress.points, lang),
                           maximum=num(progress.maximum, lang)))
        return clip("\n".join(lines), TEXT_LIMIT)
    area = ws.criteria.areas[area_index]
    lines = [t("assess.review.area", lang, area=area.code, name=area.label(lang))]
    for item in sequence(ws.criteria):
        if item.area_code != area.code:
            continue
        answer = over.answers.get(item.code)
        if answer is None:
            lines.append(t("assess.review.item_missing", lang, item=item.code, name=clip(item.label(lang), 50)))
            continue
        points = t("assess.answer.na_points", lang) if answer.not_applicable else num(answer.points, lang)
        flag = " ⚠️" if over.needs_evidence(item) else ""
        lines.append(t("assess.review.item", lang, item=item.code, answer=clip(answer_text(item, answer, lang), 60),
                       points=points, maximum=num(item.maximum, lang)) + flag)
    return clip("\n".join(lines), TEXT_LIMIT)

