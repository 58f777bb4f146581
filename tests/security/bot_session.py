"""A bot session for the security tests: the real Application on the Bot API emulator with one person per role
(tests/security/authz_table.py), a group holding them all, and cases run one at a time from the same database
state (Cases restores it before each case, on SQLite and PostgreSQL) — see test_authz_matrix.py."""
from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from callers import ADMIN
from e2e_support import NOW, QUIET, SAMPLES, RunningBot, invite, load_province
from emulator_fixtures import emulator_server  # noqa: F401 - a fixture

from authz_table import GRANTS, OTHER, ROLES, UNITS, Entry
from parbot.core.conversation import appraise as appraise_flow
from parbot.core.conversation import assess as assess_flow
from parbot.core.conversation import callbacks, engine, views
from parbot.core.conversation import turn as engine_turn
from parbot.core.conversation.state import ChatState
from parbot.bot import report_replies
from parbot.bot.handlers.common import Turn
from parbot.bot.zalo import runner as zalo_runner
from parbot.core.model import Evidence, UnitStage
from parbot.core.period import AppraisalAssignment, Deadlines, PeriodConfig
from parbot.core.permissions import Caller, Grant, Role
from parbot.core.rules import AllOfRule, YesNoRule
from parbot.core.services import appraisal, people, periods
from parbot.core.services.assessment import current_tag, sequence
from parbot.core.services.scores import import_scores
from parbot.settings import Settings
from parbot.storage.db import make_engine, upgrade
from parbot.storage.files import read_table
from parbot.storage.uow import SqlUnitOfWork

GROUP = "group"
# What a turn says when it refuses who or where: the catalog keys and error codes recorded during the case.
REFUSALS = {"permission.denied", "unit.not_found", "appraisal.area_not_assigned", "appraisal.no_areas",
            "onboarding.no_role", "onboarding.private_only", "assess.no_unit", "explain.none", "appraisal.none",
            "reports.ranking.none"}
# Typed text or a file for a unit the person may only view is answered with the read-only notice (which
# screens also show as a banner, where it is no refusal).
INPUT_REFUSALS = REFUSALS | {"assess.readonly.not_officer"}
USER_IDS = {role: 9100 + n for n, role in enumerate(ROLES)}
PDF = b"%PDF-1.4 van ban kiem chung"


def appraisal_period(engine, store) -> None:
    """Round 1 open: SNV, X0101 and X0201 submitted their sample self scores (with a file on 1.1.4 of SNV);
    Sở Tài chính appraises the departments' area 6."""
    config = PeriodConfig(
        year=2020, criteria={"so": "2020-so.yaml", "huyen": "2020-huyen.yaml", "xa": "2020-xa.yaml"},
        deadlines=Deadlines(self_assessment_opens=NOW - timedelta(days=30),
                            self_assessment_closes=NOW - timedelta(days=20),
                            appraisal_round1_closes=NOW + timedelta(days=1), explanation_closes=NOW + timedelta(days=3),
                            appraisal_round2_closes=NOW + timedelta(days=5)),
        appraisal=[AppraisalAssignment(areas=["so:6"], appraiser_units=["STC"])], reminders=QUIET)
    periods.save_period(SqlUnitOfWork(engine), caller=ADMIN, config=config)
    header, rows = read_table(SAMPLES / "scores-2020.csv")
    mine = [r for r in rows if r.get("source") == "self" and r.get("unit") in ("SNV", "X0101", "X0201")]
    import_scores(SqlUnitOfWork(engine), caller=ADMIN, year=2020, header=header, rows=mine)
    with SqlUnitOfWork(engine) as uow:
        period = uow.periods.get(2020)
        for unit in ("SNV", "X0101", "X0201"):
            uow.stages.put(period.id, UnitStage(unit_code=unit, submitted_at=NOW - timedelta(days=21)))
        blob = store.put(PDF)
        uow.evidence.add(period.id, Evidence(id=None, unit_code="SNV", item_code="1.1.4", kind="file",
                                             sha256=blob.sha256, stored_path=blob.path, size=blob.size,
                                             mime_type="application/pdf", file_name="1.1.4.pdf"))
        uow.commit()


def first_of_area_1(criteria):
    """IT: each appraiser's own area (area 6 of the departments is Sở Tài chính's alone)."""
    return next(i for i in sequence(criteria) if i.area_code == "1")


def explanation_round(engine) -> None:
    """Round 1 closed after the provincial council lowered SNV's item IT (with a reason)."""
    with SqlUnitOfWork(engine) as uow:
        item = first_of_area_1(uow.periods.current().criteria_for("so"))
    council = Caller(actor="test:council", grants=(Grant(Role.APPRAISER, block="so"),))
    appraisal.appraise(SqlUnitOfWork(engine), caller=council, unit_code="SNV", item_code=item.code, points="0",
                       reason="Không có văn bản", now=NOW)
    appraisal.close_round(SqlUnitOfWork(engine), caller=ADMIN, round_no=1, force=True, now=NOW)


def _reflected(engine) -> sa.MetaData:
    metadata = sa.MetaData()
    metadata.reflect(engine)
    return metadata


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def fingerprint(engine, evidence: Path) -> dict:
    """Every table's rows but the chat's state (where a chat waits), the inbox (which records every incoming
    update, refused or not: parbot/bot/inbox.py) and the options a Zalo chat has on view, and the evidence
    folder's files: what a refused action must leave unchanged."""
    tables = sorted(set(sa.inspect(engine).get_table_names()) - {"chat_state", "inbox", "channel_choice",
                                                                 "alembic_version"})
    with engine.connect() as connection:
        found = {t: sorted(map(repr, connection.execute(sa.text(f'SELECT * FROM "{t}"')))) for t in tables}
    return {t: (len(rows), hash(tuple(rows))) for t, rows in found.items()} | {"files": tuple(files_under(evidence))}


class Cases:
    """What the Telegram and Zalo sessions share: the people's ids, the database baseline restored before each
    case, the fingerprint a refused case must leave unchanged, and the verdict on one case.

    The baseline: on SQLite a copy of the file (SQLite's backup API, both ways); on PostgreSQL a copy of every
    table in schema ``baseline``, put back in one transaction (every table emptied, then refilled, in foreign-key
    order). Ids a case drew from a sequence are not given back: the rows are the baseline's, ids and all."""

    def __init__(self, engine, evidence: Path, said: list[str]) -> None:
        self.engine, self.evidence, self.said = engine, evidence, said
        self.person_ids: dict[str, int] = {}
        self.crashes: list[BaseException] = []
        if engine.dialect.name == "sqlite":
            self.db_path = Path(engine.url.database)
            self.baseline = self.db_path.with_name("baseline.db")
        else:
            self.tables = [f'"{t.name}"' for t in _reflected(engine).sorted_tables if t.name != "alembic_version"]

    def snapshot(self) -> None:
        """The state every case starts from (restored before each): after the people joined."""
        with SqlUnitOfWork(self.engine) as uow:
            self.tag = current_tag(uow)
            self.period = uow.periods.current()
        if self.engine.dialect.name == "sqlite":
            with closing(sqlite3.connect(self.db_path)) as live, closing(sqlite3.connect(self.baseline)) as copy:
                live.backup(copy)
        else:
            with self.engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA IF EXISTS baseline CASCADE"))
                connection.execute(sa.text("CREATE SCHEMA baseline"))
                for table in self.tables:
                    connection.execute(sa.text(f"CREATE TABLE baseline.{table} AS TABLE public.{table}"))
        self.files = self._files()
        self.unchanged = self.fingerprint()

    def restore(self) -> None:
        if self.engine.dialect.name == "sqlite":
            with closing(sqlite3.connect(self.baseline)) as copy, \
                    closing(sqlite3.connect(self.db_path, timeout=30)) as live:
                copy.backup(live)
        else:
            with self.engine.begin() as connection:
                for table in reversed(self.tables):  # DELETE: TRUNCATE costs ~100 ms for these small tables
                    connection.execute(sa.text(f"DELETE FROM public.{table}"))
                for table in self.tables:
                    connection.execute(sa.text(f"INSERT INTO public.{table} SELECT * FROM baseline.{table}"))
        for path in set(self._files()) - set(self.files):
            (self.evidence / path).unlink()

    def _files(self) -> list[str]:
        return files_under(self.evidence)

    def fingerprint(self) -> dict:
        return fingerprint(self.engine, self.evidence)

    def slots(self, unit_code: str) -> dict[str, str]:
        with SqlUnitOfWork(self.engine) as uow:
            block = uow.units.get(unit_code).block
        items = sequence(self.period.criteria_for(block))
        first = {kind: next(i for i in items if test(i)) for kind, test in (
            ("YN", lambda i: isinstance(i.rule, YesNoRule)), ("AO", lambda i: isinstance(i.rule, AllOfRule)),
            ("TY", lambda i: views.typed(i) and len(i.rule.inputs()) == 2))}
        item = first_of_area_1(self.period.criteria_for(block))
        return {k: str(v.position) for k, v in first.items()} | {
            "IT": item.code, "AR": item.area_code, "U": unit_code, "HELD": "y" * len(first["AO"].rule.conditions)}

    def _values(self, unit_code: str, slots: dict[str, str]) -> dict[str, str]:
        """The first count of the typed (ratio) item, as if typed already: the next text completes it."""
        with SqlUnitOfWork(self.engine) as uow:
            block = uow.units.get(unit_code).block
        item = next(i for i in self.period.criteria_for(block).items.values() if str(i.position) == slots["TY"])
        return {item.rule.inputs()[0].key: "9"}

    def _fill(self, value, slots: dict[str, str]):
        if isinstance(value, dict):  # a chat state: its slot is a number
            return {k: int(self._fill(v, slots)) if k == "slot" else self._fill(v, slots) for k, v in value.items()}
        if isinstance(value, str):
            return slots.get(value, value)  # VALUES gives a dict
        return value

    def prepare(self, entry: Entry, role: str, where: str) -> dict[str, str]:
        """Restore the baseline, and for a typed input put the chat in the state that waits for it; the slots."""
        self.restore()
        unit = UNITS[role][1 if where == OTHER else 0]
        slots = self.slots(unit)
        slots["VALUES"] = self._values(unit, slots)
        if entry.kind == "input" and role in self.person_ids:
            # Through the engine's ChatState, which ignores keys it does not know: such a key would make the
            # case test nothing, so the table may use only its fields.
            filled = self._fill(entry.state, slots)
            assert set(filled) <= set(ChatState.model_fields), f"{entry.key}: not chat state fields"
            state = ChatState.model_validate(filled).dump()
            with SqlUnitOfWork(self.engine) as uow:
                uow.chat_states.put(self.person_ids[role], state)
                uow.commit()
        self.said.clear()
        self.crashes.clear()
        return slots

    def verdict(self, entry: Entry, role: str, where: str, visible: bool, refusals: set[str]) -> str | None:
        """None when the case went as the table says, else what happened: a refusal (one of ``refusals`` said,
        or nothing visible) must have written nothing."""
        refused = not visible or bool(refusals & set(self.said))
        expected = where != GROUP and where in entry.allow.get(role, ())
        if self.crashes:
            return f"crashed: {self.crashes[0]!r}"
        if refused == expected:
            said = (sorted(set(self.said) & refusals) or "nothing visible") if refused else self.said[-3:]
            return f"{'refused' if refused else 'allowed'} ({said}), the table says {'allowed' if expected else 'refused'}"
        if refused:
            after = self.fingerprint()
            changed = [k for k in self.unchanged if self.unchanged[k] != after[k]]
            if changed:
                return f"refused but wrote: {changed}"
        return None


class Matrix(Cases):
    """One Telegram bot session: the people of every role, a group holding them all, the cases run one by one."""

    def __init__(self, server, running: RunningBot, engine, evidence: Path, said: list[str]):
        super().__init__(engine, evidence, said)
        self.server, self.running = server, running
        self.users: dict = {}
        self.handled = 0
        self._handled = asyncio.Condition()

    # ---- the session -------------------------------------------------------------------------------------

    async def start(self) -> None:
        application = self.running.application
        processor = application.update_processor
        process = processor.do_process_update

        async def counted(update, coroutine):
            try:
                await process(update, coroutine)
            finally:
                async with self._handled:
                    self.handled += 1
                    self._handled.notify_all()

        processor.do_process_update = counted

        async def crashed(update, context):
            self.crashes.append(context.error)

        application.add_error_handler(crashed)
        for role, user_id in USER_IDS.items():
            user = self.server.create_user(user_id, role, language_code="vi")
            self.users[role] = user
            if role == "no_role":
                user.send_command("start")  # a stranger who wrote to the bot: something to press a forged button on
            else:
                role_name, unit, block = GRANTS[role]
                user.send_command("start", invite(self.engine, role_name, unit, block))
            await self.settle()
        with SqlUnitOfWork(self.engine) as uow:
            for role, user_id in USER_IDS.items():
                person = uow.people.by_telegram_id(user_id)
                if person is not None:
                    self.person_ids[role] = person.id
        people.remove_member(SqlUnitOfWork(self.engine), caller=ADMIN, who=str(USER_IDS["removed"]), now=NOW)
        self.group = self.server.emulator.create_group("Tổ CCHC", [u.id for u in self.users.values()])
        await self.settle()
        self.hello = self.users["admin"].bot_messages(self.group)[-1]
        self.snapshot()

    async def settle(self) -> None:
        """Wait until the bot has handled every update the emulator has queued (30 s ceiling)."""
        pushed = self.server.emulator._next_update_id - 100_000_001  # update ids count up from there
        async with self._handled:
            await asyncio.wait_for(self._handled.wait_for(lambda: self.handled >= pushed), 30)

    # ---- one case ----------------------------------------------------------------------------------------

    async def run(self, entry: Entry, role: str, where: str) -> str | None:
        """Run one case; None when it went as the table says, else what happened."""
        slots = self.prepare(entry, role, where)
        user = self.users[role]
        chat = self.group if where == GROUP else user.chat
        mark = chat.version
        query = None
        if entry.kind == "command":
            user.send_command(entry.name, *[slots.get(a, a) for a in entry.args], chat=chat)
        elif entry.kind == "verb":
            data = callbacks.encode(self.tag, entry.name, *[slots.get(a, a) for a in entry.args])
            query = (self.server.emulator.post_callback(user.user, self.hello, data) if where == GROUP
                     else user.forge_callback(data))
        elif entry.send == "file":
            user.send_document(PDF + entry.name.encode(), "kiem-chung.pdf", "application/pdf", chat=chat)
        else:
            user.send_text(entry.text, chat=chat)
        await self.settle()
        # A press is always answered (with an alert when refused); a screen shown again may not change.
        visible = bool(user.changed_since(mark, chat)) or (query is not None and query.answered)
        return self.verdict(entry, role, where, visible, INPUT_REFUSALS if entry.kind == "input" else REFUSALS)


@pytest.fixture
def said(monkeypatch) -> list[str]:
    """The catalog keys and error codes the bot's turns use, in order: the handlers still in parbot/bot and the
    conversation engine's turns (its refusals, the flows' messages and screens)."""
    keys: list[str] = []
    text, error = Turn.t, Turn.error

    def record_text(self, key, **params):
        keys.append(key)
        return text(self, key, **params)

    def record_error(self, domain_error):
        keys.append(domain_error.code)
        return error(self, domain_error)

    def recording(translate):
        def record(key, *args, **params):
            keys.append(key)
            return translate(key, *args, **params)
        return record

    def recording_error(explain):
        def record(domain_error, *args, **params):
            keys.append(domain_error.code)
            return explain(domain_error, *args, **params)
        return record

    monkeypatch.setattr(Turn, "t", record_text)
    monkeypatch.setattr(Turn, "error", record_error)
    # The engine, its turn and flows, the screens (read-only notices among them), the Zalo runner and both
    # channels' /ranking and /result (report_replies) translate through i18n.t.
    for module in (engine, engine_turn, assess_flow, appraise_flow, views, zalo_runner, report_replies):
        monkeypatch.setattr(module, "t", recording(module.t))
    for module in (engine_turn, report_replies):
        monkeypatch.setattr(module, "error_text", recording_error(module.error_text))
    return keys


@pytest.fixture
async def matrix_for(emulator_server, database_url, tmp_path, said):  # noqa: F811 - the fixture imported above
    """On SQLite and PostgreSQL (conftest's database_url): the same cases, a fresh database per phase."""
    running = []

    async def make(phase: str) -> Matrix:
        evidence = tmp_path / "evidence"
        engine = make_engine(database_url)
        upgrade(engine)
        load_province(engine, approval=True)
        settings = Settings(_env_file=None, PARBOT_DATABASE_URL=database_url,
                            TELEGRAM_BOT_TOKEN=emulator_server.token, TELEGRAM_API_BASE=emulator_server.base_url,
                            PARBOT_EVIDENCE_DIR=str(evidence), PARBOT_ADMIN_CONTACT="Sở Nội vụ")
        bot = await RunningBot(settings, engine).start()
        running.append((bot, engine))
        if phase in ("appraisal", "explanation"):
            appraisal_period(engine, bot.deps.store)
        if phase == "explanation":
            explanation_round(engine)
        matrix = Matrix(emulator_server, bot, engine, evidence, said)
        await matrix.start()
        return matrix

    yield make
    for bot, database in running:
        await bot.stop()
        database.dispose()


