"""The chat's confirmation of a file sent through a web link (outbox kind ``evidence_received``)."""
from __future__ import annotations

from parbot.bot.sender import RenderContext, Rendered
from parbot.i18n import t
from parbot.storage.outbox_sender_repo import OutboxItem


def render_evidence_received(context: RenderContext, item: OutboxItem) -> Rendered:
    payload = item.payload
    return Rendered(text=t("notice.evidence_received", context.language(item), file_name=payload["file_name"],
                           item=payload["item"], unit=payload["unit"]))


RENDERERS = {"evidence_received": render_evidence_received}
