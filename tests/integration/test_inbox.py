"""The inbox as the one record of handled updates: a polled update runs once however often it is queued, its
mark rides on the next fetch's transaction, and webhook updates (Telegram's numbers, Zalo's message ids) are
recorded in the same table."""
from __future__ import annotations

import asyncio

import sqlalchemy as sa
from telegram import Update
from telegram.ext import ApplicationBuilder

from parbot.bot.inbox import CHANNEL, InboxProcessor, install, replay
from parbot.storage.inbox import in_inbox


def payload(update_id: int, chat: int = 5) -> dict:
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 0, "text": "9",
                                                "chat": {"id": chat, "type": "private"},
                                                "from": {"id": chat, "is_bot": False, "first_name": "Lan"}}}


def handled(engine, update_id: int) -> bool:
    return in_inbox(engine, lambda inbox: inbox.handled(CHANNEL, str(update_id)), reading=True)


class Runs:
    def __init__(self) -> None:
        self.ids: list[int] = []

    async def handle(self, update_id: int) -> None:
        self.ids.append(update_id)


def application(engine, fetched: list[list[dict]]):
    """An application whose getUpdates answers ``fetched`` batch by batch, with the inbox installed."""
    app = ApplicationBuilder().token("123:TEST").concurrent_updates(InboxProcessor(engine)).build()

    async def get_updates(*args, **kwargs):
        return tuple(Update.de_json(p, app.bot) for p in fetched.pop(0))

    with app.bot._unfrozen():
        app.bot.get_updates = get_updates
    install(app, engine)
    return app


async def test_an_update_queued_twice_runs_once_and_its_mark_rides_on_the_next_fetch(engine):
    """While another update still runs, a handled update's mark waits for the next fetch's transaction."""
    app = application(engine, [[payload(101), payload(103, chat=6)], [payload(101), payload(102)]])
    processor, runs, running, release = app.update_processor, Runs(), asyncio.Event(), asyncio.Event()
    first, slow = await app.bot.get_updates()

    async def slow_handle() -> None:
        running.set()
        await release.wait()
        runs.ids.append(103)
    other_chat = asyncio.create_task(processor.do_process_update(slow, slow_handle()))
    await running.wait()  # 103 is running
    await processor.do_process_update(first, runs.handle(101))
    assert not handled(engine, 101)  # not yet: no transaction of its own while 103 runs

    transactions: list[int] = []

    def begun(connection) -> None:
        transactions.append(1)
    sa.event.listen(engine, "begin", begun)
    again, second = await app.bot.get_updates()  # its offset was not confirmed: 101 comes again
    sa.event.remove(engine, "begin", begun)
    assert len(transactions) == 1, "storing the batch and marking 101 share one transaction"
    assert handled(engine, 101) and not handled(engine, 102)
    release.set()
    await other_chat
    assert handled(engine, 103), "the last update running is marked at once"
    for update in (again, second):
        await processor.do_process_update(update, runs.handle(update.update_id))
    assert runs.ids == [101, 103, 102]
    assert handled(engine, 102)


async def test_after_a_restart_what_was_fetched_but_not_handled_runs_once(engine):
    in_inbox(engine, lambda inbox: inbox.receive(CHANNEL, [("201", payload(201)), ("202", payload(202, chat=6))]))
    in_inbox(engine, lambda inbox: inbox.mark_handled(CHANNEL, ["201"]))
    # The restarted process replays 202; Telegram, whose offset was never confirmed, sends both again.
    app = application(engine, [[payload(201), payload(202, chat=6)]])
    app.bot_data["deps"] = type("Deps", (), {"engine": engine})()
    await replay(app)
    (replayed,) = [app.update_queue.get_nowait() for _ in range(app.update_queue.qsize())]
    processor, runs = app.update_processor, Runs()
    await processor.do_process_update(replayed, runs.handle(replayed.update_id))
    for update in await app.bot.get_updates():
        await processor.do_process_update(update, runs.handle(update.update_id))
    assert runs.ids == [202], "201 was handled before the restart, 202 once after it"
    await processor.shutdown()
    assert in_inbox(engine, lambda inbox: inbox.unhandled(CHANNEL)) == []


async def test_a_webhook_update_passes_through_unmarked(engine):
    """The webhook server checks and records its updates itself: the processor neither skips nor marks them."""
    app = application(engine, [])
    processor, runs = app.update_processor, Runs()
    await processor.do_process_update(Update.de_json(payload(301), app.bot), runs.handle(301))
    await processor.do_process_update(Update.de_json(payload(301), app.bot), runs.handle(301))
    await processor.shutdown()
    assert runs.ids == [301, 301] and not handled(engine, 301)


def test_webhook_updates_of_both_channels_are_recorded_once(engine):
    for channel, update_id in (("telegram", "401"), ("zalo", "7f3a9c0e1b2d")):
        assert not in_inbox(engine, lambda inbox: inbox.handled(channel, update_id), reading=True)
        for _ in range(2):  # recorded again by a second process that got a copy: still one row, handled
            in_inbox(engine, lambda inbox: inbox.record_handled(channel, update_id, {"id": update_id}))
        assert in_inbox(engine, lambda inbox: inbox.handled(channel, update_id), reading=True)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM inbox")).scalar() == 2
    assert not in_inbox(engine, lambda inbox: inbox.handled("zalo", "401"), reading=True)
