"""Read-modify-write paths under real concurrency: N threads at once, on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from callers import ADMIN

from parbot.core.errors import DomainError
from parbot.core.model import Block, Unit
from parbot.core.services import people
from parbot.storage.uow import SqlUnitOfWork

NOW = datetime(2020, 12, 1, 1, 0, tzinfo=timezone.utc)
ACCOUNTS = 10


def test_ten_accounts_on_one_code_at_once_give_exactly_one_role(engine):
    uow = SqlUnitOfWork(engine)
    with uow:
        uow.blocks.upsert(Block("so", "Sở"))
        uow.units.upsert(Unit("SNV", "Sở Nội vụ", "so"))
        uow.commit()
    code, _ = people.create_invite(uow, caller=ADMIN, role="officer", expires_in=timedelta(days=1), now=NOW,
                                   unit_code="SNV")
    start = threading.Barrier(ACCOUNTS)
    granted, refused = [], []

    def join(telegram_id: int) -> None:
        start.wait(timeout=60)
        try:
            people.accept_invite(SqlUnitOfWork(engine), code, telegram_id, telegram_id, f"p{telegram_id}", None,
                                 "vi", NOW)
            granted.append(telegram_id)
        except DomainError as error:
            refused.append(error.code)

    threads = [threading.Thread(target=join, args=(1000 + n,)) for n in range(ACCOUNTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(granted) == 1 and refused == ["invite.used"] * (ACCOUNTS - 1)
    with uow:
        holders = uow.roles.holders("officer", "SNV")
    assert [p.telegram_id for p in holders] == granted
