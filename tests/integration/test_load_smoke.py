"""The load benchmark at a tiny size: it completes and reports numbers for both bots (no timing asserted)."""
from __future__ import annotations

import argparse
import re

from benchmarks.load import main_async


async def test_load_benchmark_runs_at_tiny_size():
    args = argparse.Namespace(officers=[3], db=["sqlite"], actions=2, leaders=1, channels=["telegram"], webhooks=[])
    body, runs, ratios = await main_async(args)
    labels = [r.label for _, r in runs]
    assert labels == ["echo", "parbot sqlite", "parbot sqlite, 1 leaders asking /ranking"]
    for _, run in runs:
        assert run.errors == 0 and run.actions >= 3 and len(run.latencies) == run.actions
        assert run.seconds > 0 and run.pct(0.5) > 0
    parbot = runs[1][1]
    assert parbot.sql["transactions"] > 0 and parbot.sql["statements"] >= parbot.sql["transactions"]
    assert ratios["telegram"]["sqlite"] > 0
    assert re.search(r"^parbot/echo throughput ratio: \d+\.\d\d \(SQLite\)", body, re.M)
