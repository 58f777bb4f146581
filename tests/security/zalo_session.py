"""The authorization matrix's Zalo session: the Zalo runner (parbot/bot/zalo) polling the Zalo emulator, one
Zalo account per role joined by typing its invitation code, and the cases of authz_table.ZALO_TABLE run one at
a time from the same database state (bot_session.Cases). A button verb is an option on view: the chat's
channel_choice names it "1" and the person types "1", as after a screen offered it (an old screen, a removed
member's, another unit's). A case is over when the runner has handled its update, never after a sleep."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from bot_session import GROUP, INPUT_REFUSALS, REFUSALS, Cases, appraisal_period, explanation_round
from callers import ADMIN
from e2e_support import NOW, invite, load_province

from authz_table import GRANTS, ROLES, Entry
from parbot.bot.deps import Deps
from parbot.bot.zalo.runner import CHANNEL, ZaloRunner
from parbot.core.conversation import callbacks
from parbot.core.services import people
from parbot.sandbox.zalo_emulator import ZaloEmulatorServer
from parbot.settings import Settings
from parbot.storage.db import make_engine, upgrade
from parbot.storage.evidence_store import EvidenceStore
from parbot.storage.uow import SqlUnitOfWork

# Zalo's own refusals: a stranger's /start (whom to ask), a command Zalo does not have, and an option whose verb
# only a Telegram handler does (stored before it was no longer offered).
ZALO_REFUSALS = {"zalo.welcome_start", "zalo.unknown_command", "callback.malformed"}
PNG = b"\x89PNG\r\n\x1a\n" + b"anh chup van ban" * 8
GROUP_CHAT = {"id": "zalo-group-1", "chat_type": "GROUP"}


class _Failures(logging.Handler):
    """The runner reports a failed turn in its log (and says "error.unexpected"): a crash of the case."""

    def __init__(self, crashes: list) -> None:
        super().__init__(logging.ERROR)
        self.crashes = crashes

    def emit(self, record: logging.LogRecord) -> None:
        self.crashes.append(record.exc_info[1] if record.exc_info else record.getMessage())


class ZaloMatrix(Cases):
    def __init__(self, server: ZaloEmulatorServer, runner: ZaloRunner, engine, evidence: Path,
                 said: list[str]) -> None:
        super().__init__(engine, evidence, said)
        self.server, self.runner = server, runner
        self.users: dict = {}
        self.sent = self.handled = 0
        self._handled = asyncio.Condition()

    async def start(self) -> None:
        original = self.runner.bot.handle_zalo_update

        async def counted(update: dict) -> None:
            try:
                await original(update)
            finally:
                async with self._handled:
                    self.handled += 1
                    self._handled.notify_all()

        self.runner.bot.handle_zalo_update = counted  # the poller calls it for each update
        for role in ROLES:
            self.users[role] = user = self.server.user(f"zalo-{role}", role)
            if role == "no_role":
                await self.say(user, "/start")  # a stranger who wrote to the bot
            else:
                role_name, unit, block = GRANTS[role]
                await self.say(user, invite(self.engine, role_name, unit, block))
        with SqlUnitOfWork(self.engine) as uow:
            for role, user in self.users.items():
                person = people.identify_account(uow, CHANNEL, user.id).person
                if person is not None:
                    self.person_ids[role] = person.id
        people.remove_member(SqlUnitOfWork(self.engine), caller=ADMIN, who=f"p{self.person_ids['removed']}", now=NOW)
        self.snapshot()

    async def say(self, user, text: str, **content) -> None:
        """Send one update and wait until the runner has handled it (30 s ceiling)."""
        await self._send(user.emulator.user_event(user.id, "message.text.received", text=text, **content))

    async def _send(self, sending) -> None:
        self.sent += 1
        await sending
        async with self._handled:
            await asyncio.wait_for(self._handled.wait_for(lambda: self.handled >= self.sent), 30)

    def _bot_sent(self) -> int:
        """What the bot sent, to any chat (one case runs at a time)."""
        return sum(call in ("sendMessage", "sendPhoto") for call in self.server.emulator.calls)

    async def run(self, entry: Entry, role: str, where: str) -> str | None:
        slots = self.prepare(entry, role, where)
        user = self.users[role]
        place = {"chat": GROUP_CHAT} if where == GROUP else {}
        sent = self._bot_sent()
        if entry.kind == "command":
            await self.say(user, " ".join([f"/{entry.name}", *[slots.get(a, a) for a in entry.args]]), **place)
        elif entry.kind == "verb":
            data = callbacks.encode(self.tag, entry.name, *[slots.get(a, a) for a in entry.args])
            with SqlUnitOfWork(self.engine) as uow:
                uow.channel_choices.put(CHANNEL, GROUP_CHAT["id"] if where == GROUP else user.id, {"1": data})
                uow.commit()
            await self.say(user, "1", **place)
        elif entry.send == "file":  # Zalo carries photos only
            url = user.emulator.store_image(PNG + entry.name.encode(), "image/png")
            await self._send(user.emulator.user_event(user.id, "message.image.received", photo_url=url, caption="",
                                                      **place))
        else:
            await self.say(user, entry.text, **place)
        visible = self._bot_sent() > sent  # to the person or, were a group answered, to the group
        refusals = (INPUT_REFUSALS if entry.kind == "input" else REFUSALS) | ZALO_REFUSALS
        return self.verdict(entry, role, where, visible, refusals)


@pytest.fixture
async def zalo_matrix_for(database_url, tmp_path, said):
    """On SQLite and PostgreSQL (conftest's database_url): the same cases, a fresh database per phase."""
    running = []
    failures = _Failures([])
    log = logging.getLogger("parbot.zalo")
    log.addHandler(failures)

    async def make(phase: str) -> ZaloMatrix:
        evidence = tmp_path / "evidence"
        engine = make_engine(database_url)
        upgrade(engine)
        load_province(engine, approval=True)
        store = EvidenceStore(evidence)
        if phase in ("appraisal", "explanation"):
            appraisal_period(engine, store)
        if phase == "explanation":
            explanation_round(engine)
        server = await ZaloEmulatorServer().__aenter__()
        settings = Settings(_env_file=None, PARBOT_DATABASE_URL=database_url,
                            PARBOT_ZALO_BOT_TOKEN=server.token, PARBOT_ZALO_API_BASE=server.base_url,
                            PARBOT_EVIDENCE_DIR=str(evidence), PARBOT_ADMIN_CONTACT="Sở Nội vụ")
        runner = ZaloRunner(Deps(settings=settings, engine=engine, store=store))
        await runner.start()
        running.append((server, runner, engine))
        matrix = ZaloMatrix(server, runner, engine, evidence, said)
        failures.crashes = matrix.crashes
        await matrix.start()
        return matrix

    yield make
    log.removeHandler(failures)
    for server, runner, engine in running:
        await runner.stop()
        await server.__aexit__(None, None, None)
        engine.dispose()
