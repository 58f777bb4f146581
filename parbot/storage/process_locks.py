"""Locks one process holds for its life: who polls, who sends. PostgreSQL: a session advisory lock on a
connection kept open (it ends with the connection, so with the process); SQLite: an exclusive ``flock`` on a
file beside the database (released by the kernel when the process dies). And the sweep's lock, held for one
transaction."""
from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

Release = Callable[[], None]
SWEEP_LOCK = 0x70617262_00000001  # advisory lock keys ("parb" …)
SENDER_LOCK = 0x70617262_00000002
POLLING_LOCK = 0x70617262_00000003


def try_advisory_lock(engine: Engine, key: int) -> Release | None:
    """PostgreSQL: the lock taken (its release), or None when another session holds it."""
    connection = engine.connect()
    if not connection.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
        connection.close()
        return None
    connection.commit()
    return connection.close


def sqlite_lock_path(engine: Engine, purpose: str) -> Path | None:
    """``<database>.<purpose>.lock``; None for an in-memory database or another dialect."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database).resolve().with_name(f"{Path(database).name}.{purpose}.lock")


def try_file_lock(path: Path) -> Release | None:
    """The flock taken (its release; the file names the holder's pid), or None when another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return lambda: os.close(fd)


def try_transaction_lock(session: Session, key: int) -> bool:
    """PostgreSQL: the advisory lock taken until this transaction ends, or False when another holds it. Other
    databases: True (one process is assumed, which the sender's file lock enforces)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar())


class SenderAlreadyRunning(RuntimeError):
    pass


class SenderLock:
    """Who may send. SQLite: the ``sender`` file lock, refused at once when held (``acquire_sqlite``).
    PostgreSQL: the advisory lock, tried again by ``held`` until this process becomes the sender."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._release: Release | None = None

    def acquire_sqlite(self) -> None:
        path = sqlite_lock_path(self.engine, "sender")
        if path is None:
            return
        self._release = try_file_lock(path)
        if self._release is None:
            raise SenderAlreadyRunning(f"another parbot process is sending from {self.engine.url.database} "
                                       f"(lock {path}); run one bot per SQLite file")

    def held(self) -> bool:
        """PostgreSQL: try to become (or stay) the sending process."""
        if self.engine.dialect.name != "postgresql" or self._release is not None:
            return True
        self._release = try_advisory_lock(self.engine, SENDER_LOCK)
        return self._release is not None

    def release(self) -> None:
        if self._release is not None:
            self._release()
            self._release = None
