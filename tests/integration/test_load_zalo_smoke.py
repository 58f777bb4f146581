"""The benchmarks' Zalo, webhook and per-channel reminder modes at tiny sizes: they complete, count what was
done and report their ratio lines (no timing asserted)."""
from __future__ import annotations

import argparse
import re

import pytest

from benchmarks.load import main_async
from benchmarks.reminders import channel_wave


def tiny(**changes) -> argparse.Namespace:
    return argparse.Namespace(**{"officers": [2], "db": ["sqlite"], "actions": 2, "leaders": 0, "channels": ["zalo"],
                                 "webhooks": []} | changes)


def assert_worked(run, officers: int, actions: int) -> None:
    assert run.errors == 0 and len(run.latencies) == run.actions
    assert run.actions >= officers * actions  # each officer did at least its answers
    assert run.seconds > 0 and run.pct(0.5) > 0


async def test_load_benchmark_on_zalo_beside_its_echo_bot():
    body, runs, ratios = await main_async(tiny())
    assert [r.label for _, r in runs] == ["echo zalo", "parbot zalo sqlite"]
    echo, parbot = (r for _, r in runs)
    assert echo.actions == 2 * 2 and echo.errors == 0
    assert_worked(parbot, 2, 1 + 2)  # the area opened by its number, then two answers
    assert parbot.sql["transactions"] > 0 and parbot.sql["statements"] >= parbot.sql["transactions"]
    assert ratios["zalo"]["sqlite"] > 0
    assert re.search(r"^parbot/echo throughput ratio on Zalo: \d+\.\d\d \(SQLite\)", body, re.M)


async def test_a_zalo_update_costs_the_transactions_of_a_telegram_one():
    """The same officer script on both channels: a Zalo update's account, the options on view and the turn
    share one unit of work, as a Telegram update's do."""
    _, runs, _ = await main_async(tiny(officers=[3], actions=3, channels=["telegram", "zalo"]))
    by_label = {r.label: r for _, r in runs}
    telegram, zalo = by_label["parbot sqlite"], by_label["parbot zalo sqlite"]
    assert telegram.errors == zalo.errors == 0
    assert zalo.per_update("transactions") <= telegram.per_update("transactions")


@pytest.mark.postgres
async def test_load_benchmark_through_webhook_processes_beside_one_polling():
    from tests.conftest import require_postgres

    require_postgres()
    body, runs, ratios = await main_async(tiny(db=["postgresql"], webhooks=[2]))
    assert [r.label for _, r in runs] == ["echo zalo", "parbot zalo postgresql",
                                          "parbot zalo postgresql, 2 webhook processes"]
    polling, hooked = runs[1][1], runs[2][1]
    assert_worked(hooked, 2, 1 + 2)
    assert hooked.actions == polling.actions  # the same officer script, the same number of updates
    assert hooked.cpu > 0 and not hooked.sql_counted
    assert set(ratios["webhooks"]) == {2} and ratios["webhooks"][2] > 0
    assert re.search(r"^webhook processes/one polling process throughput ratio \(Zalo, PostgreSQL\): "
                     r"\d+\.\d\d \(2 processes\)", body, re.M)


async def test_reminder_wave_per_channel_reaches_everyone_once(tmp_path):
    rows = await channel_wave(4, 4, "sqlite", tmp_path)
    assert [r["channel"] for r in rows] == ["telegram", "zalo"]
    for row in rows:
        assert row["officers"] == row["queued"] == row["sent"] == 4
        assert row["failed"] == row["duplicates"] == row["missed"] == 0
        assert row["configured"] > 0 and row["ideal"] == 4 / row["configured"] and row["seconds"] > 0
