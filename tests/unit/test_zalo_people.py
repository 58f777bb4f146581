"""An invitation code sent on Zalo: the Zalo account becomes a person (without a Telegram id) holding the role."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from callers import ADMIN

from parbot.core.errors import DomainError
from parbot.core.model import Block, Unit
from parbot.core.permissions import Role
from parbot.core.services import people

NOW = datetime(2020, 12, 1, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def province(uow):
    with uow:
        uow.blocks.upsert(Block("so", "Sở"))
        uow.units.upsert(Unit("SNV", "Sở Nội vụ", "so"))
        uow.commit()
    return uow


def invite(uow) -> str:
    return people.create_invite(uow, caller=ADMIN, role="officer", expires_in=timedelta(days=1), now=NOW,
                                unit_code="SNV")[0]


def accept(uow, code: str, account: str = "z-100"):
    return people.accept_invite_account(uow, code, channel="zalo", account_id=account, chat_id=account, name="Lan",
                                        language="vi", now=NOW)


def test_a_zalo_account_joins_and_is_identified_on_zalo_only(province):
    assert people.identify_account(province, "zalo", "z-100").person is None
    person, grant, added = accept(province, invite(province))
    assert added and grant.role is Role.OFFICER and person.telegram_id is None and person.name == "Lan"
    identity = people.identify_account(province, "zalo", "z-100")
    assert identity.person.id == person.id and [g.unit_code for g in identity.grants] == ["SNV"]
    assert people.identify_account(province, "zalo", "z-101").grants == ()
    with province:
        assert [a.channel for a in province.channel_accounts.of_person(person.id)] == ["zalo"]


def test_the_same_code_again_changes_nothing_and_another_account_is_refused(province):
    code = invite(province)
    first = accept(province, code)[0]
    again, _, added = accept(province, code)
    assert again.id == first.id and not added
    with pytest.raises(DomainError) as caught:
        accept(province, code, account="z-200")
    assert caught.value.code == "invite.used"
    assert people.identify_account(province, "zalo", "z-200").person is None


def test_a_second_code_adds_a_role_to_the_same_zalo_person(province):
    first = accept(province, invite(province))[0]
    second, _, added = accept(province, invite(province))
    assert second.id == first.id and not added  # the same grant again: one role row


def test_telegram_accounts_are_identified_as_before(province):
    person = people.accept_invite(province, invite(province), telegram_id=4242, chat_id=4242, name="Minh", now=NOW)[0]
    assert people.identify_account(province, "telegram", "4242").person.id == person.id
    assert people.identify_account(province, "zalo", "4242").person is None


def test_an_unknown_code_is_refused(province):
    with pytest.raises(DomainError) as caught:
        accept(province, "NotACodeAtAll123")
    assert caught.value.code == "invite.unknown"


def test_members_list_shows_a_zalo_person_with_an_empty_telegram_id(province, cli):
    accept(province, invite(province))
    code, out, _ = cli("members", "list")
    assert code == 0 and "Lan" in out and "None" not in out


def test_a_zalo_account_that_blocked_the_bot_and_writes_again_is_reachable_again(province):
    person = accept(province, invite(province))[0]
    with province:
        province.channel_accounts.mark_unreachable("zalo", "z-100", "403: blocked")
        province.commit()
    people.identify_account(province, "zalo", "z-100")
    with province:
        (account,) = province.channel_accounts.of_person(person.id)
    assert account.reachable
