"""The Zalo poller keeps going when the platform fails: it pauses 1 s, doubling to 60 s, and a good answer
resets the pause; stopping ends the loop even in the middle of a long poll. A chat's updates are answered
in order, other chats meanwhile; group chats are ignored."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

from parbot.bot.zalo.client import ZaloNetworkError
from parbot.bot.zalo.runner import ZaloBot
from parbot.i18n import t
from parbot.settings import Settings


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


class RecordingClient:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.gate = asyncio.Event()

    async def send_message(self, chat_id: str, text: str) -> dict:
        if not self.sent:
            await self.gate.wait()  # the first answer is slow: the chat's next update must wait for it
        self.sent.append((chat_id, text))
        return {}


def sticker(chat: str) -> dict:
    return {"event_name": "message.sticker.received", "message": {
        "message_id": f"m-{chat}", "date": 1, "sticker": "s", "from": {"id": chat, "display_name": "Lan"},
        "chat": {"id": chat, "chat_type": "PRIVATE"}}}


async def test_a_chats_updates_are_answered_in_order_other_chats_meanwhile_and_forgotten_after():
    client = RecordingClient()
    bot = ZaloBot(deps=SimpleNamespace(settings=Settings(_env_file=None)), client=client)  # type: ignore[arg-type]
    first = asyncio.create_task(bot.handle_zalo_update(sticker("a")))
    second = asyncio.create_task(bot.handle_zalo_update(sticker("a")))
    while not bot._chats or bot._chats["a"].users < 2:
        await asyncio.sleep(0)
    client.sent.append(("marker", ""))  # from now on sends go through at once
    await asyncio.wait_for(bot.handle_zalo_update(sticker("b")), 10)  # chat b is not held up by chat a
    assert client.sent[1][0] == "b" and not first.done() and not second.done()
    client.gate.set()
    await asyncio.wait_for(asyncio.gather(first, second), 10)
    assert [chat for chat, _ in client.sent] == ["marker", "b", "a", "a"]
    assert client.sent[-1][1] == t("zalo.unsupported", "vi") and bot._chats == {}


async def test_group_chats_are_ignored():
    client = RecordingClient()
    bot = ZaloBot(deps=SimpleNamespace(settings=Settings(_env_file=None)), client=client)  # type: ignore[arg-type]
    update = sticker("g")
    update["message"]["chat"]["chat_type"] = "GROUP"
    await bot.handle_zalo_update(update)
    assert client.sent == []
