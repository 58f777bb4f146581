"""CPU of a typed answer's writes, without the bot: one transaction reads and writes the chat state, an answer,
its score and an audit row, then the unit's answers, as a turn does (SQLite file; foreign keys off, so no period is set up).

    python benchmarks/writes.py [--transactions 1000] [--repeats 5]

Prints the CPU milliseconds per transaction of each repeat and their minimum (the least disturbed by other
work on the machine). Compare two commits by running it in each.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timezone
from decimal import Decimal

import sqlalchemy as sa

from parbot.core.model import Answer, AuditEntry, Score
from parbot.storage.db import make_engine, upgrade
from parbot.storage.uow import SqlUnitOfWork


def turn(engine: sa.Engine, item: str, points: int, now: datetime) -> None:
    with SqlUnitOfWork(engine) as uow:
        state = uow.chat_states.get(1)
        uow.answers.get(1, "X01", item)
        uow.answers.put(1, Answer(unit_code="X01", item_code=item, value={"yes": points % 2 == 0}, not_applicable=False,
                                  points=Decimal(points), answered_at=now))
        uow.scores.get(1, "X01", item, "self")
        uow.scores.put_many(1, [Score("X01", item, "self", Decimal(points), at=now)])
        uow.audit.add(AuditEntry(actor="person:1", action="answer", period_id=1, unit_code="X01", item_code=item,
                                 old=str(points - 1), new=str(points), at=now))
        uow.answers.for_unit(1, "X01")
        uow.chat_states.put(1, {**state, "item": item})
        uow.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/writes.db")
        upgrade(engine)
        sa.event.listen(engine, "connect", lambda connection, _record: connection.execute("PRAGMA foreign_keys=OFF"))
        engine.dispose()  # the next connections get the pragma
        now = datetime.now(timezone.utc)
        each = []
        for repeat in range(args.repeats):
            start = time.process_time()
            for i in range(args.transactions):
                turn(engine, f"I{i % 50}", repeat, now)
            each.append((time.process_time() - start) * 1000 / args.transactions)
        engine.dispose()
    print("CPU ms per transaction:", " ".join(f"{ms:.3f}" for ms in each), f"(min {min(each):.3f})")


if __name__ == "__main__":
    main()
