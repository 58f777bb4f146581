"""What the demo and the training sandbox share: a sample province in a fresh database, and the real bot
(built as `parbot bot run` builds it) polling the in-process Bot API emulator."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from telegram import Update
from telegram.ext import Application

from ..bot.app import build_application, run_post_init, run_post_shutdown
from ..bot.deps import Deps, utc_now
from ..core.period import PeriodConfig, load_period
from ..core.permissions import Caller
from ..core.services import periods, units
from ..core.services.tabular import Row
from ..settings import Settings
from ..storage.db import make_engine, upgrade
from ..storage.evidence_store import EvidenceStore
from ..storage.files import read_table
from ..storage.uow import SqlUnitOfWork
from .emulator import EmulatorServer

SETUP = Caller.admin("cli:sandbox")
SAMPLES = Path(__file__).resolve().parent.parent / "samples"
# The shipped sample provinces: 2020 (departments, districts, communes) and 2025 (two-level local government
# since 1/7/2025: departments and communes). A sample moved to a later year keeps only its structure, so
# training on today's year needs the 2025 one: the 2020 districts and communes ended in 2024.
SAMPLE_2020, SAMPLE_2025 = 2020, 2025
# A small province: enough for every block to have a ranking, small enough to play in seconds.
SAMPLE_UNITS = ("SNV", "STC", "STP", "H01", "H02", "X0101", "X0201")


def sample_period(sample: int = SAMPLE_2020, shift_to: datetime | None = None) -> PeriodConfig:
    """A shipped sample period; with ``shift_to``, every deadline moved by whole days (keeping its time of
    day) so self-assessment opens on that day, and the year assessed moved with them: a trainee must not read
    "năm 2020" above a deadline in 2027."""
    config, problems = load_period(SAMPLES / f"period-{sample}.yaml")
    if config is None:
        raise RuntimeError(f"the shipped sample period does not load: {problems}")
    if shift_to is None:
        return config
    opens = config.deadlines.self_assessment_opens
    delta = timedelta(days=(shift_to.astimezone(opens.tzinfo).date() - opens.date()).days)
    moved = {name: value + delta for name, value in config.deadlines.model_dump().items() if value is not None}
    year = config.year + (moved["self_assessment_opens"].year - opens.year)
    return config.model_copy(update={"year": year, "deadlines": config.deadlines.model_copy(update=moved)})


def sample_units(sample: int = SAMPLE_2020, codes: Iterable[str] | None = SAMPLE_UNITS) -> tuple[list[str], list[Row]]:
    """The sample's units, those of ``codes`` only unless it is None."""
    header, rows = read_table(SAMPLES / f"units-{sample}.csv")
    wanted = None if codes is None else set(codes)
    return header, [r for r in rows if wanted is None or r.get("code") in wanted]


def create_province(folder: Path, config: PeriodConfig, sample: int = SAMPLE_2020,
                    codes: Iterable[str] | None = SAMPLE_UNITS) -> Engine:
    """A new SQLite database in ``folder`` with the shipped criteria sets, the period and the sample's units."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "parbot.db"
    if path.exists():
        raise FileExistsError(f"{path} exists: give an empty folder")
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    periods.save_period(SqlUnitOfWork(engine), caller=SETUP, config=config)
    header, rows = sample_units(sample, codes)
    if sample != SAMPLE_2020:  # a province new to parbot after 2025 holds no record of the units merged away
        rows = [replace(row, values=row.values | {"predecessors": ""}) for row in rows]
    units.import_units(SqlUnitOfWork(engine), caller=SETUP, header=header, rows=rows)
    return engine


def emulator_settings(server: EmulatorServer, folder: Path, **extra: str) -> Settings:
    return Settings(_env_file=None, PARBOT_DATABASE_URL=f"sqlite:///{folder / 'parbot.db'}",
                    TELEGRAM_BOT_TOKEN=server.token, TELEGRAM_API_BASE=server.base_url,
                    PARBOT_EVIDENCE_DIR=str(folder / "evidence"), **extra)


@asynccontextmanager
async def running_bot(settings: Settings, engine: Engine,
                      clock: Callable[[], datetime] = utc_now) -> AsyncIterator[Application]:
    """The Application polling the emulator, started by hand (as run_polling would) with its post-init hooks."""
    deps = Deps(settings=settings, engine=engine, store=EvidenceStore(settings.evidence_dir), clock=clock)
    application = build_application(settings, engine, deps)
    await application.initialize()
    await run_post_init(application)
    await application.start()
    await application.updater.start_polling(poll_interval=0.0, timeout=1, allowed_updates=Update.ALL_TYPES)
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await run_post_shutdown(application)
        await application.shutdown()
