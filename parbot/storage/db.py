"""Engines and schema upgrades. SQLite gets WAL, a busy timeout and foreign keys on every connection."""
from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
READER_OPTION = "parbot_reader"  # execution option: begin a deferred SQLite transaction


def _create_private(engine: Engine) -> None:
    """Create the SQLite file readable by its owner only (it holds names, chat ids and answers); SQLite gives
    its -wal and -shm files the same mode. An existing file keeps the mode its owner chose."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:
        pass  # it exists, or SQLite reports the unusable path when it connects


def make_engine(url: str, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI types
            # Let SQLAlchemy drive transactions, so BEGIN IMMEDIATE below is the one that counts.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(connection) -> None:  # noqa: ANN001
            # Take the write lock at the start: read-then-write transactions never deadlock on upgrade. A unit
            # of work begun as a reader (SqlUnitOfWork.reading) leaves it free for the others.
            reader = connection.get_execution_options().get(READER_OPTION)
            connection.exec_driver_sql("BEGIN" if reader else "BEGIN IMMEDIATE")

        _create_private(engine)
        return engine
    return sa.create_engine(url, echo=echo, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    """Apply every migration (idempotent). Commands that need the schema call this first."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
