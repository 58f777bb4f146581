"""The SQLite database holds names, chat ids and answers: only its owner may read it."""
from __future__ import annotations

import os
import stat

from parbot.storage.db import make_engine, upgrade


def test_a_new_database_file_and_its_journal_are_private(tmp_path):
    old = os.umask(0o022)  # the usual default, which made the file 0644
    try:
        path = tmp_path / "parbot.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        with engine.connect():  # the WAL and shared-memory files exist while connected
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        engine.dispose()
    finally:
        os.umask(old)
    assert modes["parbot.db"] == 0o600
    assert all(mode == 0o600 for mode in modes.values()), modes


def test_an_existing_database_keeps_the_mode_its_owner_chose(tmp_path):
    path = tmp_path / "parbot.db"
    path.touch(mode=0o640)
    os.chmod(path, 0o640)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
