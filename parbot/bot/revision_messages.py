"""How a unit is told that its criteria set changed mid-cycle (outbox kind ``criteria_revision``)."""
from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from ..core.conversation.callbacks import encode
from ..core.services.assessment import period_tag
from ..core.services.revision import NOTICE
from ..i18n import t
from ..storage.outbox_sender_repo import OutboxItem
from .sender import RenderContext, Rendered

LIMIT = 4096  # Telegram's text limit


def render_revision(ctx: RenderContext, item: OutboxItem) -> Rendered | None:
    p = item.payload
    period = ctx.period(p["year"])
    if period is None or ctx.uow.units.get(p["unit"]) is None:
        return None
    lang = ctx.language(item)
    if "versions" in p:
        label = t("revise.label", lang, set=p["set"], old=p["versions"][0], new=p["versions"][1])
    else:  # queued before notices carried the versions: "set" held the whole label then
        label = p["set"]
    lines = [t("revise.notice.header", lang, unit=p["unit_name"], set=label),
             t("revise.notice.kept", lang, count=p["kept"])]
    for change in p["changes"]:
        old, new = change["old"], ", ".join(change["new"])
        code = new if old is None else old if change["new"] in ([], [old]) else f"{old} → {new}"
        lines.append(t(f"revise.notice.{change['kind']}", lang, code=code, name=change["name"],
                       old_max=change["old_max"] or "", new_max=change["new_max"] or ""))
    if p["to_answer"]:
        key = "revise.notice.reopened" if p["reopened"] else "revise.notice.answer"
        lines.append(t(key, lang, codes=", ".join(p["to_answer"])))
    text = "\n".join(lines)
    button = InlineKeyboardButton(t("reminders.button.continue", lang),
                                  callback_data=encode(period_tag(period), "m", p["unit"]))
    return Rendered(text=text if len(text) <= LIMIT else text[:LIMIT - 1] + "…",
                    reply_markup=InlineKeyboardMarkup([[button]]))


RENDERERS = {NOTICE: render_revision}
