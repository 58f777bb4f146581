"""Regenerate the initial migration from the tables (development only, until the first release).

Run: python -m parbot.storage.regenerate_initial_migration
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from .db import MIGRATIONS, alembic_config, make_engine

INITIAL = "0001"


def main() -> None:
    for old in (MIGRATIONS / "versions").glob(f"{INITIAL}_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'empty.db'}")
        config = alembic_config(str(engine.url))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.revision(config, message="initial schema", autogenerate=True, rev_id=INITIAL)
    print("regenerated", next((MIGRATIONS / "versions").glob(f"{INITIAL}_*.py")))


if __name__ == "__main__":
    main()
