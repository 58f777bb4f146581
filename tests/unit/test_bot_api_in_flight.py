"""Bot API calls in flight are bounded by the connection pool's size; the rest wait their turn in order."""
from __future__ import annotations

import asyncio

from parbot.bot.updates import RetryAfterLimiter


async def test_at_most_in_flight_calls_run_at_once_and_every_call_completes():
    limiter = RetryAfterLimiter(in_flight=2)
    release = asyncio.Event()
    running: list[int] = []
    peak = 0

    async def call(n: int) -> int:
        nonlocal peak
        running.append(n)
        peak = max(peak, len(running))
        await release.wait()
        running.remove(n)
        return n

    tasks = [asyncio.create_task(limiter.process_request(call, (n,), {}, "sendMessage", {}, None)) for n in range(5)]
    while len(running) < 2:  # the first two got a slot; wait on the loop, not on time
        await asyncio.sleep(0)
    assert sorted(running) == [0, 1]
    release.set()
    assert await asyncio.wait_for(asyncio.gather(*tasks), 30) == [0, 1, 2, 3, 4]
    assert peak == 2
