"""A 2020 commune period with an officer of X1 who has a chat, for the signed-link tests."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from callers import ADMIN, person_caller

from parbot.core.model import Unit
from parbot.core.period import Deadlines, PeriodConfig
from parbot.core.services import people, periods

KEY = "a-test-signing-key-of-some-length"
OPENS = datetime(2020, 12, 1, 1, 0, tzinfo=timezone.utc)
CLOSES = datetime(2021, 1, 15, 10, 0, tzinfo=timezone.utc)
NOW = OPENS + timedelta(days=3)
PDF = b"%PDF-1.4\n% minh chung\n"


@pytest.fixture
def world(uow):
    config = PeriodConfig(year=2020, criteria={"xa": "2020-xa.yaml"},
                          deadlines=Deadlines(self_assessment_opens=OPENS, self_assessment_closes=CLOSES))
    periods.save_period(uow, caller=ADMIN, config=config)
    with uow:
        for code in ("X1", "X2"):
            uow.units.upsert(Unit(code, f"Xã {code}", "xa"))
        uow.commit()
    code, _ = people.create_invite(uow, caller=ADMIN, role="officer", expires_in=timedelta(days=30), now=OPENS,
                                   unit_code="X1")
    person = people.accept_invite(uow, code, telegram_id=100, chat_id=5100, name="Lan", now=OPENS)[0]
    return uow, person_caller(uow, person.id)
