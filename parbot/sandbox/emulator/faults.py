"""Network faults and latency for chaos tests, drawn from a seeded ``random.Random`` so a seed replays a run.

Each Bot API request draws at most one fault. Requests naming a chat draw from that chat's own stream, so
a seed replays each chat's faults however the chats' requests interleave. ``lost_reply`` applies the action and then drops the
connection, so the bot cannot tell it happened: the case that produces double messages when retried blindly.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

KINDS = ("timeout", "server_error", "reset", "lost_reply", "too_many")


@dataclass
class Faults:
    """Rates are probabilities per request; ``methods`` limits faults to those Bot API methods (any case)."""

    seed: int = 0
    latency: tuple[float, float] = (0.0, 0.0)  # seconds added to every request, uniform in [low, high]
    timeout: float = 0.0  # the request hangs ``timeout_delay`` seconds, then fails unapplied
    server_error: float = 0.0  # 502 Bad Gateway, unapplied
    reset: float = 0.0  # connection closed before the action is applied
    lost_reply: float = 0.0  # the action is applied, then the connection is closed
    too_many: float = 0.0  # 429 with ``retry_after``, unapplied
    retry_after: int = 1
    timeout_delay: float = 30.0
    methods: frozenset[str] | None = None
    injected: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._streams: dict[str, random.Random] = {}
        if self.methods is not None:
            self.methods = frozenset(m.lower() for m in self.methods)

    def delay(self) -> float:
        low, high = self.latency
        return self._rng.uniform(low, high) if high > 0 else 0.0

    def draw(self, method: str, chat: str | None = None) -> str | None:
        """The fault for this request (to ``chat`` when it names one), or None."""
        if self.methods is not None and method.lower() not in self.methods:
            return None
        rng = self._rng if chat is None else self._streams.setdefault(chat, random.Random(f"{self.seed}:{chat}"))
        roll = rng.random()
        for kind in KINDS:
            rate = getattr(self, kind)
            if roll < rate:
                self.injected[kind] += 1
                return kind
            roll -= rate
        return None
