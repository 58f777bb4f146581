"""Simulated people working through the real bot the way a person would: read the screen, press, type, attach.

Used by the demo round; every choice comes from the caller's seeded ``random.Random``, so a seed replays the
same round.
"""
from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Awaitable, Callable
from decimal import Decimal
from types import SimpleNamespace

from ..core.conversation.callbacks import MalformedCallback, decode
from ..core.criteria import BlockCriteria, Item
from ..core.decimals import fmt
from ..core.rules import AllOfRule, ChoiceRule, DirectPointsRule, PerOccurrenceRule, TiersRule, YesNoRule
from ..core.services.assessment import sequence
from ..i18n import t
from .emulator import Message, SimUser
from .zalo_emulator import ZaloSimUser

LANG = "vi"
REFERENCES = ("Kế hoạch số 15/KH-UBND ngày 10/01/2020", "Báo cáo số 212/BC-UBND ngày 05/12/2020",
              "Quyết định số 1045/QĐ-UBND ngày 20/6/2020", "Công văn số 388/UBND-NC ngày 14/9/2020")


@dataclass
class Transcript:
    """What the simulated people did, keyed by chat version, to be merged with the bot's side of the chat."""

    actions: dict[int, list[tuple[int, str]]] = field(default_factory=dict)

    def add(self, user: SimUser, text: str) -> None:
        self.actions.setdefault(user.chat.id, []).append((user.chat.version, text))


def evidence_pdf(unit: str, item: str) -> bytes:
    """A tiny but well-formed PDF standing in for a scanned decision."""
    body = f"parbot demo: evidence of {unit} for item {item}".encode()
    return b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n% " + body + b"\ntrailer<</Root 1 0 R>>\n%%EOF\n"


Settle = Callable[[SimUser], Awaitable[None]]


class Person:
    """A simulated member acting in their private chat; every action waits for the bot's answer: with
    ``settle`` (the bot's "every update of this chat handled"), for the whole answer, however many messages
    it takes and however busy the machine is; the timeout is only a ceiling for a bot that never answers."""

    def __init__(self, user: SimUser, transcript: Transcript, timeout: float = 60.0,
                 settle: Settle | None = None) -> None:
        self.user, self.transcript, self.timeout, self.settle = user, transcript, timeout, settle

    async def await_reply(self, until: Callable[[list[Message]], bool] | None = None) -> list[Message]:
        if self.settle is not None:
            await asyncio.wait_for(self.settle(self.user), self.timeout)
        return await self.user.wait_for_reply(self.timeout, until=until)

    @property
    def name(self) -> str:
        return self.user.user.first_name

    def screen(self) -> Message:
        """The latest bot message with buttons: what the person looks at."""
        return next(m for m in reversed(self.user.bot_messages()) if m.inline_keyboard)

    async def start(self, code: str) -> list[Message]:
        self.transcript.add(self.user, f"/start {code[:4]}…")
        self.user.send_command("start", code)
        return await self.await_reply(until=lambda msgs: any(m.inline_keyboard for m in msgs))

    async def command(self, name: str) -> list[Message]:
        self.transcript.add(self.user, f"/{name}")
        self.user.send_command(name)
        return await self.await_reply()

    async def press(self, text: str | None = None, *, callback_data: str | None = None) -> list[Message]:
        if text is None:
            text = next(b["text"] for m in reversed(self.user.bot_messages()) for row in m.inline_keyboard
                        for b in row if b.get("callback_data") == callback_data)
        self.transcript.add(self.user, f"[{text}]")
        self.user.press(text, callback_data=callback_data)
        return await self.await_reply()

    async def type(self, text: str) -> list[Message]:
        self.transcript.add(self.user, text)
        self.user.send_text(text)
        return await self.await_reply()

    async def attach(self, data: bytes, file_name: str, mime_type: str) -> list[Message]:
        self.transcript.add(self.user, f"📎 {file_name}")
        self.user.send_document(data, file_name, mime_type)
        return await self.await_reply()

    def buttons(self, verb: str) -> list[tuple[dict, tuple[str, ...]]]:
        """Buttons of the current screen with this callback verb, with their arguments."""
        out = []
        for row in self.screen().inline_keyboard:
            for button in row:
                try:
                    callback = decode(button.get("callback_data"))
                except MalformedCallback:
                    continue
                if callback.verb == verb:
                    out.append((button, callback.args))
        return out


@dataclass
class Habits:
    """How one officer behaves: drawn once per unit from the seed."""

    yes_rate: float = 0.85
    not_applicable: bool = False  # answers "Không phát sinh" on the first item that allows it
    typo: bool = False  # types a word instead of a number once, and is asked again
    correction: bool = False  # presses "no" by mistake once, goes back and corrects it
    files: float = 0.5  # share of evidence sent as files (the rest as document references)

    @classmethod
    def draw(cls, rng: random.Random) -> "Habits":
        return cls(yes_rate=rng.choice((0.75, 0.85, 0.95)), not_applicable=rng.random() < 0.5,
                   typo=rng.random() < 0.5, correction=rng.random() < 0.5, files=rng.choice((0.3, 0.6, 0.9)))


class Officer(Person):
    """The unit's focal officer answering the self-assessment."""

    def __init__(self, user: SimUser, transcript: Transcript, unit: str, criteria: BlockCriteria,
                 rng: random.Random, habits: Habits, settle: Settle | None = None) -> None:
        super().__init__(user, transcript, settle=settle)
        self.unit, self.criteria, self.rng, self.habits = unit, criteria, rng, habits
        self.answered: set[str] = set()
        self.counts = {"answers": 0, "files": 0, "references": 0, "not_applicable": 0, "corrections": 0,
                       "typos": 0, "ratios": 0}

    def shown(self) -> Item | None:
        """The item on screen (its line "<code>. <name>")."""
        for line in (self.screen().text or "").splitlines():
            code = line.split(". ", 1)[0]
            if code in self.criteria.items and line.startswith(code + ". "):
                return self.criteria.items[code]
        return None

    def _number(self, spec, item: Item) -> str:
        rule = item.rule
        if isinstance(rule, PerOccurrenceRule):
            return str(self.rng.choice((0, 0, 1, 2)))
        if isinstance(rule, DirectPointsRule):
            steps = int(item.maximum / rule.step)
            return fmt(rule.step * self.rng.randint(max(0, steps - 2), steps), decimal_comma=True)
        if isinstance(rule, TiersRule) and rule.measure == "number":
            low = rule.minimum if rule.minimum is not None else Decimal(0)
            high = rule.maximum if rule.maximum is not None else low + 10
            return str(self.rng.randint(int(low), int(high)))
        return str(self.rng.randint(0, 5))

    def _ratio(self) -> list[str]:
        total = self.rng.randint(12, 240)
        return [str(total - self.rng.randint(0, max(1, total // 10))), str(total)]

    async def _answer(self, item: Item) -> None:
        rule, rng = item.rule, self.rng
        if self.habits.not_applicable and item.not_applicable_allowed:
            self.habits.not_applicable = False
            self.counts["not_applicable"] += 1
            await self.press(t("button.not_applicable", LANG))
        elif isinstance(rule, YesNoRule):
            yes = rng.random() < self.habits.yes_rate
            slip = yes and self.habits.correction  # presses "no" by mistake, then goes back to correct it
            await self.press(f"✅ {rule.yes_label}" if yes and not slip else f"❌ {rule.no_label}")
            if slip and self.shown() is not item and self.buttons("i"):
                self.habits.correction = False
                await self.press(t("button.back", LANG))
                if self.shown() is item:
                    self.counts["corrections"] += 1
                    await self.press(f"✅ {rule.yes_label}")
        elif isinstance(rule, ChoiceRule):
            options = rule.options
            chosen = options[0] if rng.random() < 0.6 else rng.choice(options)
            await self.press(chosen.label)
        elif isinstance(rule, AllOfRule):
            for _ in rule.conditions:
                await self.press(t("common.yes" if rng.random() < self.habits.yes_rate else "common.no", LANG))
        else:
            inputs = rule.inputs()
            values = self._ratio() if [i.key for i in inputs] == ["numerator", "denominator"] else \
                [self._number(spec, item) for spec in inputs]
            if len(values) == 2:
                self.counts["ratios"] += 1
            if self.habits.typo:
                self.habits.typo = False
                self.counts["typos"] += 1
                await self.type("khoảng mười")  # not a number: the bot explains and asks again
            for value in values:
                await self.type(value)
        self.answered.add(item.code)
        self.counts["answers"] += 1

    async def _evidence(self, item: Item) -> None:
        if self.rng.random() < self.habits.files:
            self.counts["files"] += 1
            await self.attach(evidence_pdf(self.unit, item.code), f"{self.unit}-{item.code}-kiem-chung.pdf",
                              "application/pdf")
        else:
            self.counts["references"] += 1
            await self.type(self.rng.choice(REFERENCES))
        onward = t("button.next_unanswered", LANG)
        if self.screen().find_button(text=onward) is None:
            onward = t("button.final_review", LANG)
        await self.press(onward)

    async def open_area(self) -> None:
        """From the area menu, open the area holding the first unanswered item."""
        todo = next(i for i in sequence(self.criteria) if i.code not in self.answered)
        index = next(n for n, area in enumerate(self.criteria.areas) if area.code == todo.area_code)
        button, _ = next((b, args) for b, args in self.buttons("ar") if args[1] == str(index))
        await self.press(callback_data=button["callback_data"])

    async def work(self, limit: int | None = None, on_answer=None) -> None:  # noqa: ANN001 - a callable
        """Answer items from the screen shown, giving evidence where asked, until ``limit`` or all answered."""
        need_evidence = t("assess.need_evidence", LANG)
        done = 0
        while limit is None or done < limit:
            item = self.shown()
            if item is None or item.code in self.answered and need_evidence not in (self.screen().text or ""):
                break
            if item.code not in self.answered:
                await self._answer(item)
                done += 1
                if on_answer:
                    on_answer()
            if need_evidence in (self.screen().text or ""):
                await self._evidence(item)

    async def submit(self) -> None:
        if self.screen().find_button(text=t("button.submit", LANG)) is None:
            await self.press(t("button.final_review", LANG))
        await self.press(t("button.submit", LANG))
        await self.press(t("button.confirm_submit", LANG))

    @property
    def remaining(self) -> int:
        return sum(1 for i in sequence(self.criteria) if i.code not in self.answered)


# ---- the same people on Zalo --------------------------------------------------------------------------------

ZALO_OPTION = re.compile(r"^([0-9]+|[a-z])\. (.+?)(?: \(([^()]+)\))?$")


def zalo_options(text: str, lang: str = LANG) -> dict[str, str]:
    """label -> what to type, from the numbered (or lettered) lines above a Zalo screen's "Trả lời …" line."""
    lines = text.splitlines()
    hints = (t("zalo.reply.numbers", lang, choices=""), t("zalo.reply.letters", lang, choices="").split(",")[0])
    if not lines or not lines[-1].startswith(tuple(h.strip() for h in hints)):
        return {}
    found: dict[str, str] = {}
    for line in reversed(lines[:-1]):
        match = ZALO_OPTION.match(line)
        if match is None:
            break
        found[match.group(2)] = match.group(1)
    return found


@dataclass(frozen=True)
class ZaloScreen:
    """A Zalo text read as a Telegram message: its listed options are its buttons (no callback data)."""

    text: str
    inline_keyboard: list[list[dict]]

    def find_button(self, *, text: str | None = None, callback_data: str | None = None) -> dict | None:
        return next((b for row in self.inline_keyboard for b in row if text is None or b["text"] == text), None)


class ZaloHandled:
    """The updates the Zalo bot has finished (answer sent), per chat: what a simulated Zalo user waits on
    when the bot polls (behind a webhook the platform's post returns once the update is handled)."""

    def __init__(self, bot) -> None:  # noqa: ANN001 - a ZaloBot, or any bot with its handle_zalo_update
        self.counts: Counter[str] = Counter()
        self._changed = asyncio.Condition()
        original = bot.handle_zalo_update

        async def counted(update: dict) -> None:
            try:
                await original(update)
            finally:
                async with self._changed:
                    self.counts[str(update["message"]["chat"]["id"])] += 1
                    self._changed.notify_all()

        bot.handle_zalo_update = counted  # the poller calls it for each update

    async def settle(self, chat: "ZaloChat") -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.counts[chat.id] >= chat.sent)


class ZaloChat:
    """A Zalo emulator user behind the interface ``Person`` drives (a Telegram ``SimUser``'s), so the same
    officer script runs on Zalo: the latest text listing options is the screen, pressing an option types
    its number, a command is typed. ``settle`` (``ZaloHandled.settle``) waits until the bot handled all
    this chat's updates; without it, each send returns once handled (the webhook's way)."""

    def __init__(self, user: ZaloSimUser, settle: Callable[["ZaloChat"], Awaitable[None]] | None = None) -> None:
        self.zalo, self.settle = user, settle
        self.sent = 0
        self._pending: list[asyncio.Future] = []
        self._mark = 0
        self._screens: list[ZaloScreen] = []

    @property
    def id(self) -> str:
        return self.zalo.id

    @property
    def chat(self) -> SimpleNamespace:  # what Transcript reads
        return SimpleNamespace(id=self.id, version=len(self.zalo.received))

    @property
    def user(self) -> SimpleNamespace:  # what Person.name reads
        return SimpleNamespace(first_name=self.zalo.record.display_name)

    def bot_messages(self) -> list[ZaloScreen]:
        received = self.zalo.received
        for message in received[len(self._screens):]:
            options = zalo_options(message.text)
            self._screens.append(ZaloScreen(message.text, [[{"text": label, "key": key}]
                                                           for label, key in reversed(options.items())]))
        return self._screens

    def send_text(self, text: str) -> None:
        self.sent += 1
        self._mark = len(self.zalo.received)
        self._pending.append(asyncio.ensure_future(self.zalo.send_text(text)))

    def send_command(self, command: str, *args: str) -> None:
        self.send_text(" ".join(["/" + command.lstrip("/"), *args]))

    def send_document(self, data: bytes, file_name: str, mime_type: str | None = None) -> None:
        raise ValueError("Zalo carries no documents: files go through the signed upload link")

    def press(self, text: str | None = None, *, callback_data: str | None = None) -> None:
        """Type the number (or letter) of the option so labelled on the latest screen listing options."""
        screen = next(s for s in reversed(self.bot_messages()) if s.inline_keyboard)
        button = screen.find_button(text=text)
        if button is None or callback_data is not None:
            raise ValueError(f"no option {text!r} on the screen (Zalo options have no callback data)")
        self.send_text(button["key"])

    async def wait_for_reply(self, timeout: float = 60.0, *,
                             until: Callable[[list], bool] | None = None) -> list[ZaloScreen]:
        """The bot's texts since the last action, once it handled this chat's updates."""
        pending, self._pending = self._pending, []
        async with asyncio.timeout(timeout):
            await asyncio.gather(*pending)
            if self.settle is not None:
                await self.settle(self)
            if until is not None:
                await self.zalo.emulator.wait_until(lambda: until(self.bot_messages()[self._mark:]), timeout)
        return self.bot_messages()[self._mark:]
