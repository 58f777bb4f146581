"""End-to-end fixtures: a SQLite database with the 2020 sample province, the Bot API emulator, and the real
Application exactly as `parbot bot run` builds it, polling the emulator (helpers in tests/e2e_support.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import RunningBot, load_province
from emulator_fixtures import emulator_server  # noqa: F401 - a fixture

from parbot.settings import Settings
from parbot.storage.db import make_engine, upgrade


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "parbot.db"


@pytest.fixture
def engine(db_path):
    engine = make_engine(f"sqlite:///{db_path}")
    upgrade(engine)
    load_province(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(emulator_server, db_path, tmp_path) -> Settings:
    return Settings(_env_file=None, PARBOT_DATABASE_URL=f"sqlite:///{db_path}", TELEGRAM_BOT_TOKEN=emulator_server.token,
                    TELEGRAM_API_BASE=emulator_server.base_url, PARBOT_EVIDENCE_DIR=str(tmp_path / "evidence"),
                    PARBOT_ADMIN_CONTACT="Sở Nội vụ (0274 3822 123)")


@pytest.fixture
async def bot(settings, engine):
    running = await RunningBot(settings, engine).start()
    yield running
    await running.stop()
