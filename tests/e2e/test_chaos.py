"""Chaos in the emulator: while Telegram's faults come at random (429 with retry_after, 502, connection
resets, timeouts, and lost replies — applied, then the answer dropped), ten officers keep answering items and
asking for their status. Once the network is healthy again: every answer an officer saw saved is in the
database, nothing was sent twice to a chat, and nobody was told "an error occurred" for a network fault.

The faults of each chat come from that chat's own seeded stream, and each officer's choices from a seeded
``random.Random``: a failing seed replays."""
from __future__ import annotations

import asyncio
import random

import pytest
from e2e_support import join, rows

from parbot.core.criteria import Item
from parbot.core.rules import ChoiceRule, YesNoRule
from parbot.core.services.assessment import period_tag, sequence
from parbot.i18n import t
from parbot.sandbox.emulator import EmulatorServer
from parbot.sandbox.emulator.faults import Faults
from parbot.storage.tables import AnswerRow
from parbot.storage.uow import SqlUnitOfWork

pytestmark = pytest.mark.e2e
SEED = 14
UNITS = ("SNV", "STC", "STP", "SKH", "STT", "H01", "H02", "X0101", "X0102", "X0103")
ACTIONS = 20  # per officer: a few hundred in all
PATIENCE = 4.0  # how long an officer waits for an answer before going on: above a 429 retry or a timeout
RATES = {"timeout": 0.02, "server_error": 0.03, "reset": 0.03, "lost_reply": 0.05, "too_many": 0.03}


@pytest.fixture
async def emulator_server():
    """Faults on every Bot API method, all rates zero until the test turns the chaos on."""
    async with EmulatorServer(faults=Faults(seed=SEED, retry_after=1, timeout_delay=1.0)) as server:
        yield server


class ChaosOfficer:
    """An officer who opens items and presses answers, and notes which answers the bot showed saved."""

    def __init__(self, user, unit: str, tag: str, items: list[Item], rng: random.Random) -> None:
        self.user, self.unit, self.tag, self.items, self.rng = user, unit, tag, items, rng
        self.presses: dict[str, list[tuple[dict, bool]]] = {}  # item → [(answer, seen saved)] in order
        self.statuses = 0  # /status commands sent

    async def wait(self, until=None) -> list:
        try:
            return await self.user.wait_for_reply(PATIENCE, until=until)
        except TimeoutError:  # the answer was lost on the way: the person simply goes on
            return []

    async def answer(self, item: Item) -> None:
        self.user.forge_callback(f"{self.tag}:i:{self.unit}:{item.position}")  # the item picked from the list
        answers = f"{self.tag}:a:{self.unit}:{item.position}:"
        shown = [(m, b) for m in await self.wait(until=lambda msgs: any(f"{item.code}. " in (m.text or "")
                                                                          for m in msgs))
                 for row in m.inline_keyboard for b in row if b.get("callback_data", "").startswith(answers)]
        if not shown:  # the item did not open (its screen was lost): the person tries something else
            return
        message, button = self.rng.choice(shown)
        choice = button["callback_data"].rsplit(":", 1)[1]
        answer = item.rule.parse({"yes": choice} if isinstance(item.rule, YesNoRule) else {"option": choice})
        self.user.press(callback_data=button["callback_data"], message_id=message.message_id)
        saved = t("assess.saved", "vi", item=item.code, points="", maximum="").split(":")[0]
        seen = await self.wait(until=lambda msgs: any((m.text or "").startswith(saved + ":") for m in msgs))
        self.presses.setdefault(item.code, []).append((answer, bool(seen)))

    async def work(self) -> None:
        previous = None
        for _ in range(ACTIONS):
            if self.rng.random() < 0.15:
                self.statuses += 1
                self.user.send_command("status")
                await self.wait()
                continue
            item = self.rng.choice([i for i in self.items if i is not previous])  # the same twice would hide a duplicate
            previous = item
            await self.answer(item)


def button_items(criteria) -> list[Item]:
    return [i for i in sequence(criteria) if isinstance(i.rule, (YesNoRule, ChoiceRule))]


async def test_officers_are_served_through_random_faults_and_nothing_is_lost_or_doubled(
        bot, emulator_server, engine):
    with SqlUnitOfWork(engine) as uow:
        period = uow.periods.current()
        blocks = {u: uow.units.get(u).block for u in UNITS}
    officers = []
    for n, unit in enumerate(UNITS):
        user = await join(emulator_server, engine, 9100 + n, f"Cán bộ {n}", "officer", unit)
        officers.append(ChaosOfficer(user, unit, period_tag(period), button_items(period.criteria_for(blocks[unit])),
                                     random.Random(f"{SEED}:{unit}")))

    faults = emulator_server.faults
    for kind, rate in RATES.items():
        setattr(faults, kind, rate)
    await asyncio.gather(*(o.work() for o in officers))
    for kind in RATES:
        setattr(faults, kind, 0.0)
    assert all(faults.injected[kind] > 0 for kind in RATES), faults.injected
    for officer in officers:  # the network is healthy again: every officer is still served
        officer.user.send_command("status")
        await officer.user.wait_for_reply(30)

    for officer in officers:
        saved = {r.item_code: r.value for r in rows(engine, AnswerRow, unit_code=officer.unit)}
        for code, presses in officer.presses.items():
            last_seen = max((n for n, (_a, seen) in enumerate(presses) if seen), default=None)
            if last_seen is None:
                continue
            # The answer seen saved, or one pressed after it whose outcome the officer never saw.
            allowed = [answer for answer, _seen in presses[last_seen:]]
            assert saved.get(code) in allowed, (officer.unit, code, presses, saved.get(code))

    unexpected = t("error.unexpected", "vi")
    for officer in officers:
        told = [m.text for m in officer.user.bot_messages() if unexpected in (m.text or "")]
        assert not told, (officer.unit, told)
        # A message sent twice shows as two bot messages in a row with the same content (each press opens
        # another item than the previous one, and commands are user messages in between).
        chat = officer.user.messages()
        doubled = [(a.text, b.message_id) for a, b in zip(chat, chat[1:]) if a.from_bot and b.from_bot
                   and (a.text, a.inline_keyboard) == (b.text, b.inline_keyboard)]
        assert not doubled, (officer.unit, doubled)
    answered = sum(seen for o in officers for presses in o.presses.values() for _a, seen in presses)
    assert answered >= ACTIONS * len(UNITS) // 3, "the officers were hardly served: the chaos was too strong"
