"""The Zalo poller keeps going when the platform fails: it pauses 1 s, doubling to 60 s, and a good answer
resets the pause; stopping ends the loop even in the middle of a long poll."""
from __future__ import annotations

import asyncio

from parbot.bot.zalo.client import ZaloNetworkError
from parbot.bot.zalo.runner import ZaloBot


class FlakyClient:
    def __init__(self, answers: list) -> None:
        self.answers = answers
        self.calls = 0

    async def get_update(self, timeout: int) -> dict | None:
        self.calls += 1
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        await asyncio.Event().wait()  # a long poll with nothing coming


async def test_errors_back_off_doubling_and_a_good_answer_resets_the_pause():
    down = ZaloNetworkError("getUpdates: ClientConnectorError")
    client = FlakyClient([down] * 8 + [None, down])
    bot = ZaloBot(deps=None, client=client)  # type: ignore[arg-type]
    pauses: list[float] = []
    stop = asyncio.Event()

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    bot.pause = pause
    task = asyncio.create_task(bot.poll(stop))
    while client.calls < 11:  # the fake's answers are used up: the loop sits in the 11th, a long poll
        await asyncio.sleep(0)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert pauses == [1, 2, 4, 8, 16, 32, 60, 60, 1]
