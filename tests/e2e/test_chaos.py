"""Chaos in the emulator: while Telegram's faults come at random (429 with retry_after, 502, connection
resets, timeouts, and lost replies — applied, then the answer dropped), ten officers keep answering items and
asking for their status, and reminders are queued for them. Once the network is healthy again: every answer
an officer saw saved is in the database, every reminder arrived, no reply was sent twice, and nobody was told
"an error occurred" for a network fault. That each reminder arrives only once is claimed by the last test,
an expected failure until the outbox sender stops re-sending a reminder whose reply was lost.

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
from parbot.storage.tables import AnswerRow, OutboxRow, PersonRow
from parbot.storage.uow import SqlUnitOfWork

pytestmark = pytest.mark.e2e
SEED = 14
UNITS = ("SNV", "STC", "STP", "SKH", "STT", "H01", "H02", "X0101", "X0102", "X0103")
ACTIONS = 20  # per officer: a few hundred in all
PATIENCE = 4.0  # how long an officer waits for an answer before going on: above a 429 retry or a timeout
REMINDERS = 3  # per officer, queued while the officers work
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
        self.screen_id = user.last_bot_message.message_id  # the home screen shown on joining

    async def wait(self, until=None) -> list:
        try:
            return await self.user.wait_for_reply(PATIENCE, until=until)
        except TimeoutError:  # the answer was lost on the way: the person simply goes on
            return []

    async def answer(self, item: Item) -> None:
        # The item picked on the officer's own screen: a press on a reminder would turn it into the screen.
        self.user.forge_callback(f"{self.tag}:i:{self.unit}:{item.position}", message_id=self.screen_id)
        answers = f"{self.tag}:a:{self.unit}:{item.position}:"
        shown = [(m, b) for m in await self.wait(until=lambda msgs: any(f"{item.code}. " in (m.text or "")
                                                                          for m in msgs))
                 for row in m.inline_keyboard for b in row if b.get("callback_data", "").startswith(answers)]
        if not shown:  # the item did not open (its screen was lost): the person tries something else
            return
        message, button = self.rng.choice(shown)
        self.screen_id = message.message_id
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


async def remind(engine, officers: list[ChaosOfficer], year: int) -> None:
    """Reminders queued as the sweep does, a few seconds apart; the bot's own sender delivers them."""
    people = {o.unit: rows(engine, PersonRow, telegram_id=o.user.id)[0].id for o in officers}
    for n in range(REMINDERS):
        with SqlUnitOfWork(engine) as uow:
            for officer in officers:
                person = people[officer.unit]
                uow.outbox.enqueue(f"{year}/self_assessment/{officer.unit}/p{person}/reminder/chaos{n}",
                                   person, officer.user.id, "reminder",
                                   {"year": year, "stage": "self_assessment", "unit": officer.unit, "number": n + 1})
            uow.commit()
        await asyncio.sleep(4)


FINAL = {"sent", "uncertain", "failed", "skipped"}  # the outbox statuses a row keeps


async def until(predicate, what: str) -> None:
    try:
        async with asyncio.timeout(180):  # generous: a row failed twice waits out its backoff
            while not predicate():
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def is_reminder(message) -> bool:
    return (message.text or "").startswith(t("reminders.header", "vi", stage="", unit="").split(" ")[0])


def reminders(user) -> int:
    return sum(is_reminder(m) for m in user.bot_messages())


def button_items(criteria) -> list[Item]:
    return [i for i in sequence(criteria) if isinstance(i.rule, (YesNoRule, ChoiceRule))]


async def test_officers_are_served_through_random_faults_and_nothing_is_lost_or_doubled(
        bot, emulator_server, engine):
    with SqlUnitOfWork(engine) as uow:
        period = uow.periods.current()
        blocks = {u: uow.units.get(u).block for u in UNITS}
        names = {u: uow.units.get(u).name for u in UNITS}
    officers = []
    for n, unit in enumerate(UNITS):
        user = await join(emulator_server, engine, 9100 + n, f"Cán bộ {n}", "officer", unit)
        officers.append(ChaosOfficer(user, unit, period_tag(period), button_items(period.criteria_for(blocks[unit])),
                                     random.Random(f"{SEED}:{unit}")))

    faults = emulator_server.faults
    for kind, rate in RATES.items():
        setattr(faults, kind, rate)
    await asyncio.gather(remind(engine, officers, period.year), *(o.work() for o in officers))
    for kind in RATES:
        setattr(faults, kind, 0.0)
    assert all(faults.injected[kind] > 0 for kind in RATES), faults.injected
    await until(lambda: {r.status for r in rows(engine, OutboxRow)} <= FINAL, "every reminder's outcome")
    # A send whose reply was lost is "uncertain" and never repeated (it may well have arrived): exactly once
    # is preferred to at least once.
    assert {r.status for r in rows(engine, OutboxRow)} <= {"sent", "uncertain"}
    for officer in officers:  # the network is healthy again: every officer is still served
        officer.user.send_command("status")
        await officer.user.wait_for_reply(30)
    # Every reminder recorded sent arrived, and none twice.
    for officer in officers:
        person = rows(engine, PersonRow, telegram_id=officer.user.id)[0].id
        sent = sum(r.status == "sent" for r in rows(engine, OutboxRow, person_id=person))
        assert sent <= reminders(officer.user) <= REMINDERS, (officer.unit, sent, reminders(officer.user))

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
        # A reply sent twice: more status screens than the join's and the /status commands asked for (a late
        # reply may follow the next command, so messages in a row prove nothing).
        screens = sum((m.text or "").startswith(f"🏛 {names[officer.unit]} — ") for m in officer.user.bot_messages())
        assert screens <= 1 + officer.statuses + 1, (officer.unit, screens, officer.statuses)
    answered = sum(seen for o in officers for presses in o.presses.values() for _a, seen in presses)
    assert answered >= ACTIONS * len(UNITS) // 3, "the officers were hardly served: the chaos was too strong"


async def test_reminders_whose_replies_are_lost_arrive_exactly_once(bot, emulator_server, engine):
    with SqlUnitOfWork(engine) as uow:
        period = uow.periods.current()
    officers = [ChaosOfficer(await join(emulator_server, engine, 9200 + n, f"Cán bộ {n}", "officer", unit), unit,
                             period_tag(period), [], random.Random(SEED)) for n, unit in enumerate(UNITS)]
    faults = emulator_server.faults
    faults.methods = frozenset({"sendmessage"})  # only the sender's requests: each chat's stream replays exactly
    faults.lost_reply = 0.3
    await remind(engine, officers, period.year)
    await until(lambda: {r.status for r in rows(engine, OutboxRow)} <= FINAL, "every reminder's outcome")
    faults.lost_reply = 0.0
    assert faults.injected["lost_reply"] > 0
    assert {o.unit: reminders(o.user) for o in officers} == {o.unit: REMINDERS for o in officers}
