"""Every kind of outbox row and how it reads, listed once. Each sender is given this table, so no feature has
to be imported first for its renderers to be known (a row of a kind not here fails with "no renderer")."""
from __future__ import annotations

from . import reminder_messages, revision_messages
from .handlers import appraise, reports
from .sender import Renderer
from .web import notices as web_notices

TABLES: tuple[dict[str, Renderer], ...] = (
    reminder_messages.RENDERERS,  # reminders, escalations, digests, the admins' unreachable notices
    web_notices.RENDERERS,  # the evidence web page's confirmations
    revision_messages.RENDERERS,  # a criteria set revised mid-cycle: what changed
    appraise.RENDERERS,  # what round 1 of the appraisal lowered
    reports.RENDERERS,  # the published results and rankings, as charts
)
RENDERERS: dict[str, Renderer] = {kind: render for table in TABLES for kind, render in table.items()}
