"""The bot's charts, drawn in a small pool of worker processes so that drawing never holds the bot's GIL.

A leader's ``/ranking`` draws several pages with matplotlib (pure Python for the most part): in a thread
of the bot it held the GIL and every officer's turn waited behind it. Here the drawing happens in another
process, given plain data (the results without their items, which no chart draws) and giving back PNG bytes.

One pool per process, created at the first chart (processes started with ``spawn``: never a fork of a
threaded bot), its worker kept warm (matplotlib imported and the font loaded once), closed by ``close()``
when the bot stops; a chart asked for after that starts a new pool. Callers block on the result, so call
from a worker thread (``asyncio.to_thread``), as the bot does for every chart.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Mapping

from ..core.results import BlockResult, UnitResult

WORKERS = max(1, min(2, (os.cpu_count() or 2) // 2))  # one on two cores: the other stays the bot's

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _warm() -> None:
    """In each worker, once: import matplotlib and load the font by drawing a first, tiny chart."""
    from . import charts

    with charts.style():
        figure = charts.figure_in(0.5, 0.5)
        charts.text_at(figure, 0.1, 0.1, "Đ")
        charts._png(figure)


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn"), initializer=_warm)
        return _pool


def _in_worker(name: str, args: tuple) -> object:
    from . import charts

    return getattr(charts, name)(*args)


def _draw(name: str, *args: object) -> object:
    """``charts.<name>(*args)`` drawn in the pool (matplotlib is never imported by the caller's process)."""
    pool = _executor()
    try:
        return pool.submit(_in_worker, name, args).result()
    except BrokenProcessPool:  # a worker died (killed, out of memory): the next chart gets a new pool
        global _pool
        with _lock:
            if _pool is pool:
                _pool = None
        raise


def close() -> None:
    """Stop the pool's workers (a chart being drawn is finished first; queued ones are dropped)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _plain(block: BlockResult) -> BlockResult:
    return replace(block, units=tuple(replace(u, items=()) for u in block.units))


def ranking_pngs(block: BlockResult, lang: str) -> list[bytes]:
    return _draw("ranking_pngs", _plain(block), lang)


def unit_summary_png(result: UnitResult, block: BlockResult, lang: str) -> bytes:
    return _draw("unit_summary_png", replace(result, items=()), _plain(block), None, lang)


def progress_png(counts: Mapping[str, Mapping[str, int]], lang: str) -> bytes:
    return _draw("progress_png", {name: dict(by) for name, by in counts.items()}, lang)
