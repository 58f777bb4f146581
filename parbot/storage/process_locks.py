"""Locks one process holds for its life: who polls, who sends. PostgreSQL: a session advisory lock on a
connection kept open (it ends with the connection, so with the process); SQLite: an exclusive ``flock`` on a
file beside the database (released by the kernel when the process dies)."""
from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

Release = Callable[[], None]


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
