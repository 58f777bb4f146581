"""Driving the officer's side of the conversation the way a person would: read the screen, press, type."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from decimal import Decimal

from aiohttp import web

from parbot.bot.deps import Deps
from parbot.bot.web.app import build_app
from parbot.bot.zalo.runner import ZaloRunner
from parbot.core.criteria import BlockCriteria, Item
from parbot.core.decimals import fmt
from parbot.core.rules import AllOfRule, ChoiceRule, DirectPointsRule, PerOccurrenceRule, TiersRule, YesNoRule
from parbot.core.services.assessment import sequence
from parbot.i18n import t
from parbot.sandbox.zalo_emulator import ZaloEmulatorServer
from parbot.settings import Settings
from parbot.storage.evidence_store import EvidenceStore

REFERENCE = "Số 15/KH-UBND ngày 10/01/2020"


def screen(user):
    """The latest bot message carrying buttons: the screen the officer looks at."""
    return next(m for m in reversed(user.bot_messages()) if m.inline_keyboard)


def shown(user, criteria: BlockCriteria) -> Item | None:
    for line in (screen(user).text or "").splitlines():
        code = line.split(". ", 1)[0]
        if code in criteria.items and line.startswith(code + ". "):
            return criteria.items[code]
    return None


def typed_answer(item: Item) -> list[str]:
    """Plausible typed values, written the Vietnamese way (decimal comma)."""
    rule = item.rule
    if isinstance(rule, TiersRule) and rule.measure == "number":
        value = rule.maximum if rule.maximum is not None else rule.minimum + 3
        return [fmt(value, decimal_comma=True)]
    if isinstance(rule, PerOccurrenceRule):
        return ["1"]
    if isinstance(rule, DirectPointsRule):
        return [fmt(min(item.maximum, rule.step * 2), decimal_comma=True)]
    return ["9", "10"]  # a ratio: achieved, then total


async def answer_shown(user, item: Item) -> None:
    """Answer the item on screen with buttons or typed numbers; wait for the bot to move on."""
    rule = item.rule
    if isinstance(rule, YesNoRule):
        user.press(f"✅ {rule.yes_label}")
        await user.wait_for_reply()
    elif isinstance(rule, ChoiceRule):
        user.press(rule.options[0].label)
        await user.wait_for_reply()
    elif isinstance(rule, AllOfRule):
        for _ in rule.conditions:
            user.press(t("common.yes", "vi"))
            await user.wait_for_reply()
    else:
        for value in typed_answer(item):
            user.send_text(value)
            await user.wait_for_reply()


async def complete(user, criteria: BlockCriteria) -> int:
    """Answer every self-scored item from the screen shown, giving evidence where the bot asks for it.
    Returns how many items were answered."""
    answered = 0
    evidence_prompt = t("assess.need_evidence", "vi")
    for _ in range(3 * len(sequence(criteria))):
        item = shown(user, criteria)
        if item is None:
            break
        await answer_shown(user, item)
        answered += 1
        if evidence_prompt in (screen(user).text or ""):
            user.send_text(REFERENCE)
            await user.wait_for_reply()
            onward = t("button.next_unanswered", "vi")
            if screen(user).find_button(text=onward) is None:
                onward = t("button.final_review", "vi")  # nothing left to answer
            user.press(onward)
            await user.wait_for_reply()
    return answered


def expected_points(item: Item, block: str) -> Decimal:
    """What the helper's answers score by the item's own rule."""
    rule = item.rule
    if isinstance(rule, YesNoRule):
        return rule.score({"yes": True}, item.maximum, block)
    if isinstance(rule, ChoiceRule):
        return rule.score({"option": rule.options[0].code}, item.maximum, block)
    if isinstance(rule, AllOfRule):
        return rule.score({"conditions": {c.code: True for c in rule.conditions}}, item.maximum, block)
    values = typed_answer(item)
    key_sets = [i.key for i in rule.inputs()]
    parsed = rule.parse(dict(zip(key_sets, values)))
    points = rule.score(parsed, item.maximum, block)
    return points if points is not None else Decimal(0)


class ZaloPerson:
    """A Zalo emulator user typing to the bot; each step waits until the runner has handled the update (an
    event, with a generous ceiling) and returns what the bot sent meanwhile."""

    def __init__(self, server, runner, user_id: str, name: str) -> None:  # noqa: ANN001 - emulator, ZaloRunner
        self.user = server.user(user_id, name)
        self.server = server
        self.handled = 0
        self._changed = asyncio.Condition()
        original = runner.bot.handle_zalo_update

        async def counted(update: dict) -> None:
            await original(update)
            async with self._changed:
                self.handled += 1
                self._changed.notify_all()

        runner.bot.handle_zalo_update = counted  # the poller calls it for each update

    async def _wait(self, before: int) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.handled > before), 30)

    async def send(self, text: str) -> list:
        """The bot's messages (texts and photos) in answer to ``text``."""
        before, seen = self.handled, len(self.user.received)
        await self.user.send_text(text)
        await self._wait(before)
        return self.user.received[seen:]

    async def say(self, text: str) -> list[str]:
        return [m.text for m in await self.send(text)]

    async def photo(self, data: bytes) -> list[str]:
        before, seen = self.handled, len(self.user.received)
        await self.user.send_image(data, mime_type="image/png")
        await self._wait(before)
        return [m.text for m in self.user.received[seen:]]


@asynccontextmanager
async def zalo_bot(engine, evidence, *, key: str, contact: str):  # noqa: ANN001 - an Engine, a Path
    """The Zalo emulator, parbot's web pages (signed links) and the Zalo runner polling the emulator:
    yields (emulator, runner, the pages' public URL)."""
    store = EvidenceStore(evidence)
    pages = web.AppRunner(build_app(Deps(settings=Settings(_env_file=None, PARBOT_LINK_SECRET=key), engine=engine,
                                         store=store)))
    await pages.setup()
    await web.TCPSite(pages, "127.0.0.1", 0).start()
    public = f"http://127.0.0.1:{pages.addresses[0][1]}"
    try:
        async with ZaloEmulatorServer() as server:
            settings = Settings(_env_file=None, PARBOT_ZALO_BOT_TOKEN=server.token,
                                PARBOT_ZALO_API_BASE=server.base_url, PARBOT_PUBLIC_URL=public,
                                PARBOT_LINK_SECRET=key, PARBOT_EVIDENCE_DIR=str(evidence), PARBOT_ADMIN_CONTACT=contact)
            runner = ZaloRunner(Deps(settings=settings, engine=engine, store=store))
            await runner.start()
            try:
                yield server, runner, public
            finally:
                await runner.stop()
    finally:
        await pages.cleanup()
