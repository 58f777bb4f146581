"""Engines and schema upgrades. SQLite gets WAL, a busy timeout and foreign keys on every connection."""
from __future__ import annotations

import os
import sqlite3
import threading
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


BUSY_SECONDS = 30
_writer_locks: dict[str, threading.Lock] = {}
_writer_locks_guard = threading.Lock()


def _writer_lock(database: str) -> threading.Lock:
    with _writer_locks_guard:
        return _writer_locks.setdefault(os.path.abspath(database), threading.Lock())


class _QueuedWriters(sqlite3.Connection):
    """A connection whose writers of this process queue on a lock for the database file before ``BEGIN
    IMMEDIATE``, released once COMMIT or ROLLBACK is done. SQLite's own busy handler polls with sleeps that grow
    to 100 ms, so under load the write lock sat free while waiters slept and late comers overtook them; here
    the next writer starts as soon as the previous one ends. Other processes still meet SQLite's busy timeout."""

    writer_lock: threading.Lock | None = None

    def begin_writing(self, database: str) -> None:
        lock = _writer_lock(database)
        # Bounded like the busy timeout: a second writer in one thread falls back to SQLite's waiting, as before.
        if lock.acquire(timeout=BUSY_SECONDS):
            self.writer_lock = lock

    def _end_writing(self) -> None:
        lock, self.writer_lock = self.writer_lock, None
        if lock is not None:
            lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._end_writing()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._end_writing()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._end_writing()


def make_engine(url: str, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, echo=echo, connect_args={"timeout": BUSY_SECONDS, "check_same_thread": False,
                                                                "factory": _QueuedWriters})
        database = engine.url.database
        queued = bool(database) and database != ":memory:" and not database.startswith("file:")

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI types
            # Let SQLAlchemy drive transactions, so BEGIN IMMEDIATE below is the one that counts.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(connection) -> None:  # noqa: ANN001
            # Take the write lock at the start: read-then-write transactions never deadlock on upgrade. A unit
            # of work begun as a reader (SqlUnitOfWork.reading) leaves it free for the others.
            reader = connection.get_execution_options().get(READER_OPTION)
            if not reader and queued:
                connection.connection.dbapi_connection.begin_writing(database)
            try:
                connection.exec_driver_sql("BEGIN" if reader else "BEGIN IMMEDIATE")
            except BaseException:
                connection.connection.dbapi_connection.rollback()  # ends nothing in SQLite; frees the queue
                raise

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
