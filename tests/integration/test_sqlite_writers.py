"""SQLite writers of one process queue on a lock for the file (not on SQLite's sleeping busy handler): held from
BEGIN IMMEDIATE to the end of the transaction, never by a reader, and handed to the next writer at once."""
from __future__ import annotations

import threading

from parbot.core.model import Block
from parbot.storage.db import _writer_lock, make_engine, upgrade
from parbot.storage.uow import SqlUnitOfWork


def test_a_writer_holds_the_queue_until_its_transaction_ends(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(engine)
    queue = _writer_lock(str(tmp_path / "w.db"))
    uow = SqlUnitOfWork(engine)
    try:
        with uow.reading():
            uow.blocks.list()
            assert not queue.locked()
        with uow:
            uow.blocks.upsert(Block("so", "Sở"))
            assert queue.locked()
            uow.commit()
            assert not queue.locked()
        with uow:
            uow.blocks.upsert(Block("xa", "Xã"))
            assert queue.locked()
        assert not queue.locked()  # left without commit: rolled back
        with uow:
            assert [b.code for b in uow.blocks.list()] == ["so"]

        # A second writer, in another thread, starts once the first has committed and sees its write.
        entered, seen = threading.Event(), []

        def second() -> None:
            with SqlUnitOfWork(engine) as other:
                entered.set()
                seen.extend(b.code for b in other.blocks.list())

        with uow:
            uow.blocks.upsert(Block("huyen", "Huyện"))
            thread = threading.Thread(target=second)
            thread.start()
            uow.commit()
        thread.join(timeout=60)
        assert entered.is_set() and "huyen" in seen and not queue.locked()
    finally:
        engine.dispose()


def test_the_queue_is_per_database_file(tmp_path):
    assert _writer_lock(str(tmp_path / "a.db")) is _writer_lock(str(tmp_path / "a.db"))
    assert _writer_lock(str(tmp_path / "a.db")) is not _writer_lock(str(tmp_path / "b.db"))
