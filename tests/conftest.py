"""Shared fixtures: a fresh database per test on SQLite (a real file) and, where it runs, PostgreSQL."""
from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

# One matplotlib cache per machine user: building the font cache anew on every run costs seconds.
os.environ.setdefault("MPLCONFIGDIR", str(Path(tempfile.gettempdir()) / f"parbot-mpl-{os.getuid()}"))

POSTGRES_ADMIN_URL = os.environ.get("PARBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _postgres_reason() -> str | None:
    """None when PostgreSQL answers; else why not. CI must never skip: there the absence is an error."""
    try:
        engine = sa.create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not available here"
        # What the server or the socket said (refused, too many clients, no such role), not only the class.
        said = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        return f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc.__class__.__name__}: {said}"


_PG_REASON = _postgres_reason()


def require_postgres() -> None:
    if _PG_REASON is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{_PG_REASON} (CI must run the PostgreSQL tests)")
    pytest.skip(_PG_REASON)


def _fresh_postgres_database() -> tuple[str, callable]:
    name = f"parbot_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path: Path):
    """A URL to an empty database: a SQLite file, then PostgreSQL (a database made for this test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'parbot.db'}"
        return
    require_postgres()
    url, drop = _fresh_postgres_database()
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'parbot.db'}"


@pytest.fixture
def engine(database_url):
    from parbot.storage.db import make_engine, upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def uow(engine):
    from parbot.storage.uow import SqlUnitOfWork

    return SqlUnitOfWork(engine)


@pytest.fixture
def cli(monkeypatch, database_url, tmp_path):
    """Run `parbot …` in-process against the test database; returns (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from parbot.cli.main import app
    from parbot.settings import get_settings

    monkeypatch.setenv("PARBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("PARBOT_EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    yield run
    get_settings.cache_clear()


DATA = Path(__file__).parent / "data"
PUBLISHED = DATA / "published"  # copies of ../shared/par/data tables, with their sources
