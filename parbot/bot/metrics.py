"""Prometheus metrics of the webhook server (``/metrics``, text format through prometheus-client).

Updates and their handling time are counted by this process. The outbox figures are read from the database
at each scrape, so every process behind one webhook URL reports the same totals, whichever of them sends.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

CHANNELS = ("telegram", "zalo")
BACKLOG = ("pending", "sending")  # rows not yet sent nor given up
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def outbox_counts(engine: Engine) -> dict[tuple[str, str], int]:
    """(channel, status) -> number of outbox rows."""
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT channel, status, count(*) FROM outbox GROUP BY channel, status"))
        return {(channel, status): count for channel, status, count in rows}


def backlog(counts: dict[tuple[str, str], int], channel: str | None = None) -> int:
    return sum(n for (ch, status), n in counts.items() if status in BACKLOG and channel in (None, ch))


class OutboxCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = outbox_counts(self.engine)
        channels = sorted(set(CHANNELS) | {channel for channel, _ in counts})
        families = {
            "sent": GaugeMetricFamily("parbot_outbox_sent", "Outbox messages sent", labels=["channel"]),
            "failed": GaugeMetricFamily("parbot_outbox_failed", "Outbox messages given up after their attempts",
                                        labels=["channel"]),
        }
        pending = GaugeMetricFamily("parbot_outbox_backlog", "Outbox messages waiting to be sent", labels=["channel"])
        for channel in channels:
            for status, family in families.items():
                family.add_metric([channel], counts.get((channel, status), 0))
            pending.add_metric([channel], backlog(counts, channel))
        yield from families.values()
        yield pending


@dataclass
class Handling:
    outcome: str = "handled"


class Metrics:
    """One registry per server, so that tests (and several servers in one process) never share counters."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter("parbot_updates", "Updates received through the webhook, by outcome",
                               ["channel", "outcome"], registry=self.registry)
        self.latency = Histogram("parbot_update_handling_seconds", "Time from receiving an update to answering it",
                                 ["channel"], registry=self.registry,
                                 buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.registry.register(OutboxCollector(engine))

    @contextmanager
    def handling(self, channel: str) -> Iterator[Handling]:
        """Times one update and counts its outcome: "handled" unless the caller says otherwise, "failed"
        when the handler raised."""
        handling, start = Handling(), time.perf_counter()
        try:
            yield handling
        except BaseException:
            handling.outcome = "failed"
            raise
        finally:
            self.latency.labels(channel).observe(time.perf_counter() - start)
            self.updates.labels(channel, handling.outcome).inc()

    def refused(self, channel: str, outcome: str) -> None:
        self.updates.labels(channel, outcome).inc()

    def render(self) -> bytes:
        """Blocks on the database (the outbox figures): call it in a worker thread."""
        return generate_latest(self.registry)
