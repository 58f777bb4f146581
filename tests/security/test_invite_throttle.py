"""Wrong invitation codes are throttled per Telegram account: 5 within 15 minutes, then a pause that even a
good code does not break, with a message saying when to retry; other accounts are not affected."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from callers import ADMIN

from parbot.core.errors import DomainError
from parbot.core.model import Block, Unit
from parbot.core.services import people
from parbot.i18n import error_text

NOW = datetime(2021, 1, 10, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def province(uow):
    with uow:
        uow.blocks.upsert(Block("so", "Sở"))
        uow.units.upsert(Unit("SNV", "Sở Nội vụ", "so"))
        uow.commit()
    return uow


def good_code(uow) -> str:
    return people.create_invite(uow, caller=ADMIN, role="officer", expires_in=timedelta(days=1), now=NOW,
                                unit_code="SNV")[0]


def accept(uow, code, telegram_id, now, throttle):
    return people.accept_invite(uow, code, telegram_id=telegram_id, chat_id=telegram_id, name="Lan", now=now,
                                throttle=throttle)


def test_five_wrong_codes_pause_the_account_until_the_first_is_fifteen_minutes_old(province):
    throttle, code = people.CodeThrottle(), good_code(province)
    for minute in range(5):
        with pytest.raises(DomainError, match="invite.unknown"):
            accept(province, f"Guess{minute:011d}", 42, NOW + timedelta(minutes=minute), throttle)
    with pytest.raises(DomainError, match="throttle.invite") as info:
        accept(province, code, 42, NOW + timedelta(minutes=6), throttle)  # a good code is refused too, unused
    assert info.value.params["retry_at"] == NOW + timedelta(minutes=15)
    message = error_text(info.value, "vi", "Asia/Ho_Chi_Minh")
    assert "thử lại sau 09:15 10/01/2021" in message, message
    assert "09:15 10/01/2021" in error_text(info.value, "en", "Asia/Ho_Chi_Minh")

    assert accept(province, good_code(province), 43, NOW + timedelta(minutes=6), throttle)[2]  # another account
    assert accept(province, code, 42, NOW + timedelta(minutes=15), throttle)[2]  # the pause is over


def test_a_good_code_in_between_does_not_reset_the_count_and_old_failures_age_out(province):
    throttle = people.CodeThrottle()
    for minute in (0, 1, 2, 3):
        with pytest.raises(DomainError):
            accept(province, "NoSuchCode", 42, NOW + timedelta(minutes=minute), throttle)
    accept(province, good_code(province), 42, NOW + timedelta(minutes=4), throttle)
    with pytest.raises(DomainError, match="invite.unknown"):
        accept(province, "NoSuchCode", 42, NOW + timedelta(minutes=5), throttle)
    with pytest.raises(DomainError, match="throttle.invite"):
        accept(province, "NoSuchCode", 42, NOW + timedelta(minutes=6), throttle)
    with pytest.raises(DomainError, match="invite.unknown"):  # the failure of minute 0 is 15 minutes old
        accept(province, "NoSuchCode", 42, NOW + timedelta(minutes=15), throttle)
