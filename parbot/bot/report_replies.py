"""/ranking [block] and /result [unit] for every channel: the reporting services' answers as texts and
charts in the person's language. Telegram (handlers/reports.py) sends the charts as photos; Zalo
(zalo/runner.py), which takes photos only by URL, stores them and sends signed /l/chart/ URLs.

Charts are deterministic, so they are cached by content: the key is the view's content hash (a snapshot's,
or the live results'), the chart kind and the language — a new revision or a changed score simply makes a
new key. The cache is a bounded LRU. Charts are drawn only when the channel sends them (``Charts.draw``, waited
on from a worker thread), in the chart pool's worker process (``reports.chart_pool``: matplotlib never holds the
bot's GIL).
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cachetools import LRUCache

from ..core.errors import DomainError
from ..core.permissions import Caller
from ..core.ports import UnitOfWork
from ..core.services import links as link_svc
from ..core.services import reporting
from ..i18n import error_text, t
from ..reports import chart_pool, num

CAPTION_LIMIT = 1024  # Telegram's; Zalo takes 2,000
CACHE_SIZE = 256  # charts (about 60-150 kB each): tens of MB at most


class ChartCache:
    """Bounded LRU of rendered charts by content key; thread-safe (renders run in worker threads)."""

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


@dataclass(frozen=True)
class Charts:
    """Chart images to draw and send as photos, the caption with the first."""
    draw: Callable[[], list[bytes]]
    caption: str
    scope: str  # what they show (links.chart_scope): a link to them must still let its recipient see it


Message = str | Charts


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


def lost_text(view: reporting.UnitView, lang: str, limit: int) -> list[str]:
    """The lost items with the appraisers' reasons, split into messages of at most ``limit`` characters."""
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
        if current and len(current) + 1 + len(line) > limit:
            messages.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line[:limit]
    return messages + [current]


def _ranking(view: reporting.RankingView, lang: str) -> Charts:
    return Charts(lambda: ranking_charts(view, lang), ranking_caption(view, lang),
                  link_svc.chart_scope(view.result.year, block=view.result.block))


def ranking(uow: UnitOfWork, *, caller: Caller, args: Sequence[str], lang: str, tz: str,
            limit: int) -> list[Message]:
    """/ranking: the named block's ranking, or the only one the person may see, or the list to choose from."""
    try:
        if args:
            return [_ranking(reporting.ranking(uow, caller=caller, block=args[0]), lang)]
        views = reporting.visible_rankings(uow, caller=caller)
    except DomainError as error:
        return [error_text(error, lang, tz)]
    if len(views) == 1:
        return [_ranking(views[0], lang)]
    if not views:
        return [t("reports.ranking.none", lang)]
    return ["\n".join([t("reports.ranking.choose", lang)] + [
        t("reports.ranking.block_line", lang, code=v.result.block, block=v.result.block_name,
          count=len(v.result.units), average=num(v.result.average_index, lang),
          provisional="" if v.published else t("reports.provisional", lang)) for v in views])]


def result(uow: UnitOfWork, *, caller: Caller, args: Sequence[str], lang: str, tz: str,
           limit: int) -> list[Message]:
    """/result: the named unit's published result, or those of the person's own units: a summary chart and
    the lost items with their reasons (texts within ``limit``)."""
    codes = list(args[:1]) or reporting.own_units(caller.grants)
    if not codes:
        return [t("reports.ranking.choose", lang)]
    messages: list[Message] = []
    for code in codes:
        try:
            view = reporting.unit_result(uow, caller=caller, unit_code=code)
        except DomainError as error:
            messages.append(error_text(error, lang, tz))
            continue
        messages.append(Charts(lambda view=view: [summary_chart(view, lang)], result_caption(view, lang),
                               link_svc.chart_scope(view.block.year, unit_code=view.unit.unit.code)))
        messages += lost_text(view, lang, limit)
    return messages


COMMANDS = {"ranking": ranking, "result": result}
