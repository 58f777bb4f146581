"""How reminders, digests and unreachable notices read: rendered at send time from the database."""
from __future__ import annotations

from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from ..core import reminders
from ..core.services.assessment import period_tag
from ..core.services.notifications import UNREACHABLE
from ..core.services.progress import compute_progress
from ..i18n import t, when
from ..storage.outbox_sender_repo import OutboxItem
from ..core.conversation.callbacks import encode
from ..storage.repos_channels import SqlChannelAccounts
from .sender import RenderContext, Rendered

MAX_CODES = 12  # per area line; a long list would drown the message
CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo"}


def _codes(codes: tuple[str, ...] | list[str]) -> str:
    shown = ", ".join(codes[:MAX_CODES])
    return shown + (f" (+{len(codes) - MAX_CODES})" if len(codes) > MAX_CODES else "")


def render_reminder(ctx: RenderContext, item: OutboxItem) -> Rendered | None:
    """Officers' reminder and the leader's escalation. Nothing when the unit no longer owes the work."""
    p = item.payload
    period = ctx.period(p["year"])
    unit = ctx.uow.units.get(p["unit"])
    if period is None or unit is None:
        return None
    stage = p["stage"]
    unit_stage = ctx.cached(("stage", period.id, unit.code), lambda: ctx.uow.stages.get(period.id, unit.code))
    if not reminders.owes(stage, unit_stage):
        return None
    _opens, deadline = reminders.window(period.config, stage)  # as it stands now: the admin may have moved it
    if deadline is None:
        return None
    lang = ctx.language(item)
    days, hours = reminders.time_left(deadline, ctx.now)
    late = ctx.now > deadline
    header = "reminders.header.overdue" if late else "reminders.header"
    lines = [t(header, lang, stage=t(f"reminders.stage.{stage}", lang), unit=unit.name)]
    if item.kind == reminders.ESCALATION:
        lines.append(t("reminders.escalation", lang, count=p["number"] - 1))
    lines.append(t("reminders.deadline.passed" if late else "reminders.deadline.left", lang,
                   deadline=when(deadline, ctx.tz), days=abs(days), hours=abs(hours)))
    progress = ctx.cached(("progress", period.id, unit.code), lambda: compute_progress(
        ctx.cached(("criteria", period.id, unit.block), lambda: period.criteria_for(unit.block)), unit.code,
        ctx.uow.answers.for_unit(period.id, unit.code), ctx.uow.evidence.for_unit(period.id, unit.code), unit_stage))
    lines.append(t("reminders.progress", lang, answered=progress.answered, total=progress.total))
    for area in progress.areas:
        if not (area.missing_items or area.missing_evidence):
            continue
        lines.append(t("reminders.area", lang, area=area.name, answered=area.answered, total=area.total))
        if area.missing_items:
            lines.append(t("reminders.area.missing_items", lang, codes=_codes(area.missing_items)))
        if area.missing_evidence:
            lines.append(t("reminders.area.missing_evidence", lang, codes=_codes(area.missing_evidence)))
    if progress.complete:
        lines.append(t("reminders.ready", lang))
    button = InlineKeyboardButton(t("reminders.button.continue", lang),
                                  callback_data=encode(period_tag(period), "m", unit.code))
    return Rendered(text="\n".join(lines), reply_markup=InlineKeyboardMarkup([[button]]))


def render_digest(ctx: RenderContext, item: OutboxItem) -> Rendered | None:
    p = item.payload
    period = ctx.period(p["year"])
    if period is None:
        return None
    stage = p["stage"]
    _opens, deadline = reminders.window(period.config, stage)
    lang = ctx.language(item)
    units = [u for block in period.blocks for u in ctx.uow.units.list(block=block, year=period.year)]
    counts, overdue = reminders.digest_counts(stage, deadline, units, ctx.uow.stages.for_period(period.id), ctx.now)
    names = {b.code: b.name for b in ctx.uow.blocks.list()}
    lines = [t("reminders.digest.header", lang, day=date.fromisoformat(p["day"]).strftime("%d/%m/%Y"), stage=t(f"reminders.stage.{stage}", lang),
               deadline=when(deadline, ctx.tz) if deadline else "—")]
    lines += [t("reminders.digest.block", lang, block=names.get(c.block, c.block), expected=c.expected,
                submitted=c.submitted, on_time=c.on_time) for c in counts]
    if overdue:
        lines.append(t("reminders.digest.overdue", lang, count=len(overdue),
                       units="; ".join(f"{u.code} {u.name}" for u in overdue)))
    else:
        lines.append(t("reminders.digest.none_overdue", lang))
    text = "\n".join(lines)
    return Rendered(text=text if len(text) <= 4096 else text[:4095] + "…")


def render_unreachable(ctx: RenderContext, item: OutboxItem) -> Rendered | None:
    person = ctx.person(item.payload["person_id"])
    channel = item.payload.get("channel", "telegram")
    if person is None:
        return None
    if channel == "telegram":
        blocked = person.unreachable_at is not None
    else:
        blocked = any(a.channel == channel and not a.reachable
                      for a in SqlChannelAccounts(ctx.uow.session).of_person(person.id))
    if not blocked:  # reachable again: nothing to report
        return None
    lang = ctx.language(item)
    units = sorted({g.unit_code for g in ctx.uow.roles.grants(person.id) if g.unit_code})
    text = t("reminders.unreachable", lang, name=person.name or person.telegram_id,
             units=f" ({', '.join(units)})" if units else "", reason=item.payload.get("reason") or "403")
    if channel != "telegram":
        text += "\n" + t("outbox.unreachable.channel", lang, channel=CHANNEL_NAMES.get(channel, channel))
    return Rendered(text=text)


RENDERERS = {reminders.REMINDER: render_reminder, reminders.ESCALATION: render_reminder,
             reminders.DIGEST: render_digest, UNREACHABLE: render_unreachable}
