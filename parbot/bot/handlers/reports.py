"""/ranking [block], /result [unit], /progress, and the outbox renderers for published results.

Charts are drawn in the chart pool's worker process (``reports.chart_pool``: matplotlib never holds this
process's GIL), waited on from a worker thread while the chat shows "sending photo…". They are deterministic, so they are
cached by content: the key is the view's content hash (a snapshot's, or the live results'), the chart kind
and the language — a new revision or a changed score simply makes a new key. The cache is a bounded LRU.
"""
from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable

from cachetools import LRUCache
from telegram.constants import ChatAction
from telegram.ext import Application, CommandHandler

from ...core.errors import DomainError
from ...core.services import reporting
from ...core.model import Snapshot
from ...i18n import t
from ...reports import chart_pool, num
from ..sender import RenderContext, Rendered
from .common import Turn, for_members
from .onboarding import PRIVATE

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096
CACHE_SIZE = 256  # charts (about 60-150 kB each): tens of MB at most


class ChartCache:
    """Bounded LRU of rendered charts by content key; thread-safe (renders are waited on in worker threads)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._cache: LRUCache = LRUCache(maxsize=size)
        self._lock = threading.Lock()
        self.renders = 0  # how many times a chart was actually drawn

    def get(self, key: tuple, render: Callable[[], object]):
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        value = render()
        with self._lock:
            self.renders += 1
            self._cache[key] = value
        return value


CACHE = ChartCache()
_BLOCKS = ChartCache(16)  # published blocks rebuilt from snapshots, for the outbox renderers


def ranking_charts(view: reporting.RankingView, lang: str) -> list[bytes]:
    return CACHE.get(("ranking", view.key, lang), lambda: chart_pool.ranking_pngs(view.result, lang))


def summary_chart(view: reporting.UnitView, lang: str) -> bytes:
    return CACHE.get(("summary", view.key, view.unit.unit.code, lang),
                     lambda: chart_pool.unit_summary_png(view.unit, view.block, lang))


def ranking_caption(view: reporting.RankingView, lang: str) -> str:
    block, units = view.result, view.result.units

    def fmt(u) -> str:  # noqa: ANN001 - a ranked unit of the view
        return f"{u.rank}. {u.unit.name} – {num(u.index, lang)}%"

    top = "; ".join(fmt(u) for u in units[:3]) or "—"
    bottom = "; ".join(fmt(u) for u in units[-3:]) if len(units) > 3 else "—"
    caption = t("reports.ranking.caption", lang, year=block.year, block=block.block_name,
                provisional="" if view.published else t("reports.provisional", lang),
                average=num(block.average_index, lang), count=len(units), top=top, bottom=bottom)
    return caption[:CAPTION_LIMIT]


def result_caption(view: reporting.UnitView, lang: str) -> str:
    u, places = view.unit, view.block.points_decimals  # points at the criteria set's precision
    return t("reports.result.caption", lang, unit=u.unit.name, year=view.block.year, index=num(u.index, lang),
             rank=u.rank, of=u.rank_of, classification=u.classification or "—",
             total=num(u.total, lang, False, places), maximum=num(u.maximum, lang, False, places))[:CAPTION_LIMIT]


def lost_text(view: reporting.UnitView, lang: str) -> list[str]:
    """The lost items with the appraisers' reasons, split into messages within Telegram's limit."""
    lost, places = view.lost, view.block.points_decimals
    if not lost:
        return [t("reports.result.no_lost", lang)]
    lines = [t("reports.result.lost_header", lang)]
    for item in lost:
        taken = item.points if item.section == "deduction" else item.lost
        lines.append(t("reports.result.lost_line", lang, code=item.code, name=item.name,
                       points=num(item.points, lang, False, places),
                       maximum=num(item.maximum, lang, False, places), lost=num(taken, lang, False, places)))
        if item.reason:
            lines.append(t("reports.result.reason", lang, reason=item.reason))
    messages, current = [], ""
    for line in lines:
        if current and len(current) + 1 + len(line) > TEXT_LIMIT:
            messages.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line[:TEXT_LIMIT]
    return messages + [current]


async def _photos(turn: Turn, render: Callable[[], list[bytes]], caption: str) -> None:
    """Show "sending photo…" while the charts are drawn off the event loop, then send them; the caption goes
    with the first."""
    chat_id = turn.update.effective_chat.id
    await turn.context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
    images = await asyncio.to_thread(render)
    for n, image in enumerate(images):
        await turn.context.bot.send_photo(chat_id, photo=image, caption=caption if n == 0 else None,
                                          filename=f"chart-{n + 1}.png")


@for_members
async def ranking_command(turn: Turn) -> None:
    try:
        if turn.context.args:
            view = await turn.run(reporting.ranking, caller=turn.caller, block=turn.context.args[0])
            await _photos(turn, lambda: ranking_charts(view, turn.lang), ranking_caption(view, turn.lang))
            return
        views = await turn.run(reporting.visible_rankings, caller=turn.caller)
    except DomainError as error:
        await turn.send(turn.error(error))
        return
    if len(views) == 1:
        await _photos(turn, lambda: ranking_charts(views[0], turn.lang), ranking_caption(views[0], turn.lang))
    elif not views:
        await turn.send(turn.t("reports.ranking.none"))
    else:
        lines = [turn.t("reports.ranking.choose")] + [
            turn.t("reports.ranking.block_line", code=v.result.block, block=v.result.block_name,
                   count=len(v.result.units), average=num(v.result.average_index, turn.lang),
                   provisional="" if v.published else turn.t("reports.provisional")) for v in views]
        await turn.send("\n".join(lines))


@for_members
async def result_command(turn: Turn) -> None:
    grants = turn.identity.grants
    codes = list(turn.context.args[:1]) or reporting.own_units(grants)
    if not codes:
        await turn.send(turn.t("reports.ranking.choose"))
        return
    for code in codes:
        try:
            view = await turn.run(reporting.unit_result, caller=turn.caller, unit_code=code)
        except DomainError as error:
            await turn.send(turn.error(error))
            continue
        await _photos(turn, lambda: [summary_chart(view, turn.lang)], result_caption(view, turn.lang))
        for text in lost_text(view, turn.lang):
            await turn.send(text)


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
    return Rendered(text=caption[:CAPTION_LIMIT], photo=summary_chart(view, lang), filename="result.png")


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
    return Rendered(text=caption[:CAPTION_LIMIT], photo=pages[0], filename="ranking.png")


RENDERERS = {"result_notice": render_result_notice, "ranking": render_ranking}


async def close_charts(application: Application) -> None:
    """When the bot stops: the chart pool's worker too (a post-shutdown hook)."""
    await asyncio.to_thread(chart_pool.close)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("ranking", ranking_command, filters=PRIVATE))
    application.add_handler(CommandHandler("result", result_command, filters=PRIVATE))
    application.add_handler(CommandHandler("progress", progress_command, filters=PRIVATE))
