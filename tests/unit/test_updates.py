"""The update processor: different chats concurrently, one chat in order. Waits are on events, never on time."""
from __future__ import annotations

import asyncio

import pytest
from telegram import Chat, Message, Update, User

from parbot.bot.updates import ChatOrderedProcessor, chat_key

CEILING = 30  # generous: only a hang reaches it


def text_update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, "private")
    message = Message(update_id, None, chat, from_user=User(chat_id, "u", False), text="x")  # type: ignore[arg-type]
    return Update(update_id, message=message)


async def test_a_slow_update_in_one_chat_does_not_delay_another_chat():
    processor = ChatOrderedProcessor(max_running=4)
    release_a, b_done = asyncio.Event(), asyncio.Event()

    async def slow_a() -> None:
        await release_a.wait()

    async def quick_b() -> None:
        b_done.set()

    async with processor:
        a = asyncio.create_task(processor.process_update(text_update(1, 100), slow_a()))
        b = asyncio.create_task(processor.process_update(text_update(2, 200), quick_b()))
        await asyncio.wait_for(b_done.wait(), CEILING)
        assert not a.done(), "chat A is still held by its slow update"
        release_a.set()
        await asyncio.wait_for(asyncio.gather(a, b), CEILING)


async def test_updates_of_one_chat_run_one_after_another_in_arrival_order():
    processor = ChatOrderedProcessor(max_running=4)
    release_first, first_started = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def first() -> None:
        first_started.set()
        await release_first.wait()
        order.append("first")

    async def second() -> None:
        order.append("second")

    async with processor:
        one = asyncio.create_task(processor.process_update(text_update(1, 100), first()))
        await asyncio.wait_for(first_started.wait(), CEILING)
        two = asyncio.create_task(processor.process_update(text_update(2, 100), second()))
        # Let the second update reach its wait; it must not overtake the first one still running.
        for _ in range(10):
            await asyncio.sleep(0)
        assert order == []
        release_first.set()
        await asyncio.wait_for(asyncio.gather(one, two), CEILING)
    assert order == ["first", "second"]


async def test_many_updates_queued_in_one_chat_do_not_hold_the_other_chats():
    processor = ChatOrderedProcessor(max_running=2, max_pending=100)
    release, other_done = asyncio.Event(), asyncio.Event()

    async def blocked() -> None:
        await release.wait()

    async def other() -> None:
        other_done.set()

    async with processor:
        busy = [asyncio.create_task(processor.process_update(text_update(i, 100), blocked())) for i in range(20)]
        done = asyncio.create_task(processor.process_update(text_update(99, 200), other()))
        await asyncio.wait_for(other_done.wait(), CEILING)
        release.set()
        await asyncio.wait_for(asyncio.gather(*busy, done), CEILING)


async def test_a_cancelled_update_lets_the_next_one_of_its_chat_run():
    processor = ChatOrderedProcessor(max_running=2)
    started, ran_next = asyncio.Event(), asyncio.Event()

    async def hangs() -> None:
        started.set()
        await asyncio.Event().wait()

    async def after() -> None:
        ran_next.set()

    async with processor:
        stuck = asyncio.create_task(processor.process_update(text_update(1, 100), hangs()))
        await asyncio.wait_for(started.wait(), CEILING)
        following = asyncio.create_task(processor.process_update(text_update(2, 100), after()))
        stuck.cancel()
        await asyncio.wait_for(ran_next.wait(), CEILING)
        await following


def test_updates_are_keyed_by_chat():
    assert chat_key(text_update(1, 5)) == chat_key(text_update(2, 5)) != chat_key(text_update(3, 6))
    assert chat_key(object()) is None
    with pytest.raises(ValueError):
        ChatOrderedProcessor(max_running=0)
