"""/ranking [block], /result [unit], /progress, and the outbox renderers for published results.

What /ranking and /result answer is the channels' shared report_replies; here the charts go as photos, drawn
in a worker thread while the chat shows "sending photo…". Progress changes with every answer and is never
cached; the published blocks the outbox renderers rebuild from snapshots are.
"""
from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from telegram.constants import ChatAction, MessageLimit
from telegram.ext import Application, CommandHandler

from ...core.errors import DomainError
from ...core.services import links as link_svc
from ...core.services import reporting
from ...core.model import Snapshot
from ...i18n import t
from ...reports import chart_pool
from ..report_replies import CAPTION_LIMIT, ChartCache, Charts, Message, ranking_caption, ranking_charts, \
    result_caption, summary_chart
from ..report_replies import ranking as ranking_reply
from ..report_replies import result as result_reply
from ..sender import RenderContext, Rendered
from .common import Turn, for_members
from .onboarding import PRIVATE

_BLOCKS = ChartCache(16)  # published blocks rebuilt from snapshots, for the outbox renderers


async def _photos(turn: Turn, render: Callable[[], list[bytes]], caption: str) -> None:
    """Show "sending photo…" while the charts render off the event loop, then send them; the caption goes
    with the first."""
    chat_id = turn.update.effective_chat.id
    await turn.context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
    images = await asyncio.to_thread(render)
    for n, image in enumerate(images):
        await turn.context.bot.send_photo(chat_id, photo=image, caption=caption if n == 0 else None,
                                          filename=f"chart-{n + 1}.png")


async def _send(turn: Turn, messages: list[Message]) -> None:
    for message in messages:
        if isinstance(message, Charts):
            await _photos(turn, message.draw, message.caption)
        else:
            await turn.send(message)


@for_members
async def ranking_command(turn: Turn) -> None:
    await _send(turn, await turn.run(ranking_reply, caller=turn.caller, args=turn.context.args or (), lang=turn.lang,
                                     tz=turn.tz, limit=MessageLimit.MAX_TEXT_LENGTH))


@for_members
async def result_command(turn: Turn) -> None:
    await _send(turn, await turn.run(result_reply, caller=turn.caller, args=turn.context.args or (), lang=turn.lang,
                                     tz=turn.tz, limit=MessageLimit.MAX_TEXT_LENGTH))


@for_members
async def progress_command(turn: Turn) -> None:
    try:
        counts = await turn.run(reporting.progress_counts, caller=turn.caller, now=turn.deps.now())
    except DomainError as error:
        await turn.send(turn.error(error))
        return
    totals: Counter[str] = sum((Counter(c) for c in counts.values()), Counter())
    with turn.deps.uow() as uow:
        year = uow.periods.current().year
    caption = turn.t("reports.progress.caption", year=year, submitted=totals["submitted"],
                     total=sum(totals.values()), late=totals["late"])
    # Progress changes with every answer: rendered each time, never cached.
    await _photos(turn, lambda: [chart_pool.progress_png(counts, turn.lang)], caption)


# ---- outbox renderers (publication queues "result_notice" per unit member and "ranking" per leader) -------

def _published_block(context: RenderContext, year: int, block: str, revision: int):
    period = context.period(year)
    snapshot: Snapshot | None = next((s for s in context.uow.snapshots.history(period.id, block)
                                      if s.revision == revision), None) if period else None
    if snapshot is None:
        return None
    result = _BLOCKS.get(("block", snapshot.content_hash), lambda: reporting.block_from_snapshot(period, snapshot))
    return result, snapshot


def render_result_notice(context: RenderContext, item) -> Rendered | None:
    payload = item.payload
    found = _published_block(context, payload["year"], payload["block"], payload["revision"])
    if found is None:
        return None
    block, snapshot = found
    unit = next((u for u in block.units if u.unit.code == payload["code"]), None)
    if unit is None:
        return None
    lang = context.language(item)
    view = reporting.UnitView(block, unit, snapshot.content_hash)
    caption = f"{result_caption(view, lang)}\n{t('reports.result.notice', lang, year=block.year)}"
    return Rendered(text=caption[:CAPTION_LIMIT], photo=summary_chart(view, lang), filename="result.png",
                    scope=link_svc.chart_scope(block.year, unit_code=unit.unit.code))


def render_ranking(context: RenderContext, item) -> Rendered | None:
    payload = item.payload
    found = _published_block(context, payload["year"], payload["block"], payload["revision"])
    if found is None:
        return None
    block, snapshot = found
    lang = context.language(item)
    view = reporting.RankingView(block, True, snapshot.content_hash)
    pages = ranking_charts(view, lang)
    caption = ranking_caption(view, lang)
    if len(pages) > 1:  # one photo per notice: the first page, and how to see the rest
        caption = f"{caption}\n{t('reports.ranking.notice', lang, code=block.block, count=len(block.units))}"
    return Rendered(text=caption[:CAPTION_LIMIT], photo=pages[0], filename="ranking.png",
                    scope=link_svc.chart_scope(block.year, block=block.block))


RENDERERS = {"result_notice": render_result_notice, "ranking": render_ranking}


async def close_charts(application: Application | None) -> None:
    """When the bot stops: the chart pool's worker too (a post-shutdown hook)."""
    await asyncio.to_thread(chart_pool.close)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("ranking", ranking_command, filters=PRIVATE))
    application.add_handler(CommandHandler("result", result_command, filters=PRIVATE))
    application.add_handler(CommandHandler("progress", progress_command, filters=PRIVATE))
