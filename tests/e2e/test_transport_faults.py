"""Replies on a network that fails as Telegram's does: 429 on an interactive reply is sent again after
``retry_after``; a reply whose answer is lost is neither reported to the person as an error nor sent twice."""
from __future__ import annotations

import asyncio

import pytest
from e2e_support import join

from parbot.i18n import t
from parbot.sandbox.emulator import EmulatorServer
from parbot.sandbox.emulator.faults import Faults

pytestmark = pytest.mark.e2e
CEILING = 30.0  # generous: only a hang reaches it


@pytest.fixture
async def emulator_server():
    """The e2e emulator with fault injection on sendMessage, all rates zero until a test raises one."""
    async with EmulatorServer(faults=Faults(methods=frozenset({"sendMessage"}), retry_after=1)) as server:
        yield server


async def until(predicate) -> None:
    async with asyncio.timeout(CEILING):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_a_reply_refused_with_429_is_sent_after_retry_after(bot, emulator_server, engine):
    officer = await join(emulator_server, engine, 7201, "Lan", "officer", "SNV")
    faults = emulator_server.faults
    faults.too_many = 1.0
    officer.send_command("help")
    await until(lambda: faults.injected["too_many"] >= 1)
    faults.too_many = 0.0
    replies = await officer.wait_for_reply(timeout=CEILING)
    assert [m.text.split("\n")[0] for m in replies] == [t("help.header", "vi")]


async def test_a_lost_answer_is_not_reported_as_an_error_nor_sent_twice(bot, emulator_server, engine):
    officer = await join(emulator_server, engine, 7202, "Lan", "officer", "SNV")
    before = officer.bot_message_count
    faults = emulator_server.faults
    faults.lost_reply = 1.0  # Telegram applies every sendMessage, the bot never hears back
    officer.send_command("help")
    await officer.wait_for_reply(timeout=CEILING)
    faults.lost_reply = 0.0
    officer.send_command("help")  # one chat's updates run in order: the first one is over before this one
    await officer.wait_for_reply(timeout=CEILING, until=lambda msgs: len(msgs) >= 1)
    texts = [m.text for m in officer.bot_messages()][before:]
    assert faults.injected["lost_reply"] >= 1
    assert len(texts) == 2 and all(x.startswith(t("help.header", "vi")) for x in texts), texts
