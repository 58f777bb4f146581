"""End-to-end support: the 2020 sample province, the real Application started by hand, invitations.

A module of its own (not conftest.py): test modules import from it, and several conftest modules would make
`from conftest import ...` depend on which one Python imported first."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from callers import ADMIN
from sqlmodel import Session, select

from parbot.bot.app import build_application, run_post_init, run_post_shutdown
from parbot.core.period import Deadlines, PeriodConfig, ReminderPolicy
from parbot.core.services import people, periods, units
from parbot.settings import Settings
from parbot.storage.files import read_table
from parbot.storage.uow import SqlUnitOfWork

# These tests await the bot's replies to what a person does; reminders and digests due at the wall clock's
# hour would arrive in between. Reminders have their own end-to-end tests (test_reminders_e2e.py).
QUIET = ReminderPolicy(enabled=False)
SAMPLES = Path(__file__).resolve().parents[1] / "parbot" / "samples"
NOW = datetime.now(timezone.utc)


def load_province(engine, *, approval: bool = False, opens: datetime | None = None,
                  closes: datetime | None = None, reminders: ReminderPolicy = QUIET,
                  leaders_see_block_ranking: bool = False) -> None:
    """The 2020 sample units with the shipped 2020 sets; the self-assessment window is open now."""
    config = PeriodConfig(
        year=2020, criteria={"so": "2020-so.yaml", "huyen": "2020-huyen.yaml", "xa": "2020-xa.yaml"},
        deadlines=Deadlines(self_assessment_opens=opens or NOW - timedelta(days=1),
                            self_assessment_closes=closes or NOW + timedelta(days=10)),
        leader_approval_required=approval, reminders=reminders, leaders_see_block_ranking=leaders_see_block_ranking)
    periods.save_period(SqlUnitOfWork(engine), caller=ADMIN, config=config)
    header, rows = read_table(SAMPLES / "units-2020.csv")
    units.import_units(SqlUnitOfWork(engine), caller=ADMIN, header=header, rows=rows)


class RunningBot:
    """The Application started by hand (initialize, start, polling) with the post_init hooks called."""

    def __init__(self, settings: Settings, engine) -> None:
        self.settings, self.engine = settings, engine
        self.application = None

    async def start(self) -> "RunningBot":
        self.application = build_application(self.settings, self.engine)
        await self.application.initialize()
        await run_post_init(self.application)
        await self.application.start()
        await self.application.updater.start_polling(poll_interval=0.0, timeout=1)
        return self

    async def stop(self) -> None:
        if self.application is not None:
            await self.application.updater.stop()
            await self.application.stop()
            await run_post_shutdown(self.application)
            await self.application.shutdown()
            self.application = None

    @property
    def deps(self):
        return self.application.bot_data["deps"]


def invite(engine, role: str, unit: str | None = None, block: str | None = None) -> str:
    code, _ = people.create_invite(SqlUnitOfWork(engine), caller=ADMIN, role=role, unit_code=unit, block=block,
                                   expires_in=timedelta(days=14), now=NOW)
    return code


async def join(server, engine, user_id: int, name: str, role: str, unit: str | None = None, *,
               language_code: str = "vi"):
    """A simulated person who accepts an invitation; returns once the bot shows its first screen."""
    user = server.create_user(user_id, name, language_code=language_code)
    user.send_command("start", invite(engine, role, unit))
    await user.wait_for_reply(until=lambda msgs: any(m.inline_keyboard for m in msgs) or role not in
                              ("officer", "unit_leader"))
    return user


ITEM_LINE = re.compile(r"^(\S+)\. ", re.M)


def shown_item(message, codes) -> str | None:
    """The code of the item a message shows (its line "<code>. <name>")."""
    for code in ITEM_LINE.findall(message.text or ""):
        if code in codes:
            return code
    return None


def rows(engine, model, **where):
    """Table rows matching ``column=value`` filters: what the database holds after the chat."""
    with Session(engine) as session:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return list(session.exec(query))
