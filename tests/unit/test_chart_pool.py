"""The bot's charts are drawn in a worker process: the same bytes as drawn in place, matplotlib never
imported by the caller, one pool per process that starts again after being closed."""
from __future__ import annotations

import pickle
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from parbot.reports import chart_pool, charts

from tests.unit.test_charts import make_block

ROOT = Path(__file__).resolve().parents[2]


def test_the_pool_draws_the_same_charts_as_in_place_from_results_without_items():
    block = make_block(40)
    unit = block.units[5]
    counts = {"Cấp xã": {"not_started": 3, "in_progress": 2, "submitted": 7, "late": 1}}
    try:
        assert chart_pool.ranking_pngs(block, "vi") == charts.ranking_pngs(block, "vi")
        assert chart_pool.unit_summary_png(unit, block, "en") == charts.unit_summary_png(unit, block, lang="en")
        assert chart_pool.progress_png(counts, "vi") == charts.progress_png(counts, "vi")
    finally:
        chart_pool.close()


def test_one_pool_for_every_thread_and_a_new_one_after_close():
    block = make_block(3)
    try:
        with ThreadPoolExecutor(4) as threads:
            drawn = list(threads.map(lambda _: chart_pool.ranking_pngs(block, "vi"), range(4)))
        first = chart_pool._pool
        assert first is not None and len(set(map(tuple, drawn))) == 1
        assert chart_pool._executor() is first
        chart_pool.close()
        assert chart_pool._pool is None
        chart_pool.close()  # closing twice is harmless
        assert chart_pool.ranking_pngs(block, "vi") == drawn[0]
        assert chart_pool._pool is not None and chart_pool._pool is not first
    finally:
        chart_pool.close()


def test_the_caller_never_imports_matplotlib_and_the_drawing_runs_in_another_process(tmp_path):
    (tmp_path / "block.pickle").write_bytes(pickle.dumps(make_block(5)))
    code = f"""
import os, pickle, sys
from parbot.reports import chart_pool
with open({str(tmp_path / "block.pickle")!r}, "rb") as f:
    block = pickle.load(f)
png = chart_pool.ranking_pngs(block, "vi")[0]
assert png.startswith(b"\\x89PNG"), png[:8]
assert "matplotlib" not in sys.modules, "the caller imported matplotlib"
workers = [p.pid for p in chart_pool._pool._processes.values()]
assert workers and os.getpid() not in workers
chart_pool.close()
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
