"""One person on Telegram and Zalo (core/services/channels.py): an account code shown in one channel links
the account on the other to the same person; the choice of channels; `parbot members list` shows them."""
from __future__ import annotations

from datetime import timedelta

import pytest
from callers import ADMIN
from test_zalo_people import NOW, accept, invite, province  # noqa: F401 - the fixture

from parbot.core.errors import DomainError
from parbot.core.links import ACCOUNT_CODE
from parbot.core.permissions import Caller
from parbot.core.services import channels, people

KEY = "a-unit-test-link-key"


def caller_of(uow, person) -> Caller:
    with uow:
        return Caller.person(person.id, uow.roles.grants(person.id))


def link(uow, code: str, channel: str, account: str, at=NOW):
    return channels.link_account(uow, code, channel=channel, account_id=account, chat_id=account, name="Lan",
                                 key=KEY, now=at)


def test_a_zalo_person_links_telegram_and_is_known_there(province):
    person = accept(province, invite(province))[0]
    caller = caller_of(province, person)
    assert channels.channels_of(province, caller=caller) == channels.Channels(("zalo",), ("zalo",))
    code = channels.link_code(province, caller=caller, channel="telegram", key=KEY, now=NOW)
    assert ACCOUNT_CODE.match(code) and len(code) <= 64  # a Telegram deep-link payload
    with pytest.raises(DomainError) as caught:  # a code for Telegram does not link a Zalo account
        link(province, code, "zalo", "z-999")
    assert caught.value.code == "channel.code_invalid"
    linked, added = link(province, code, "telegram", "5151")
    assert added and linked.id == person.id and linked.telegram_id == 5151
    assert people.identify(province, 5151).person.id == person.id
    assert link(province, code, "telegram", "5151")[1] is False  # the same account again: nothing to do
    assert channels.channels_of(province, caller=caller).held == ("telegram", "zalo")
    info = channels.choose(province, caller=caller, channels={"telegram"}, now=NOW)
    assert info.chosen == ("telegram",)


def test_codes_expire_and_a_removed_member_or_someone_elses_account_is_refused(province):
    person = people.accept_invite(province, invite(province), telegram_id=4242, chat_id=4242, name="Minh", language="vi", now=NOW)[0]
    accept(province, invite(province), account="z-taken")
    code = channels.link_code(province, caller=caller_of(province, person), channel="zalo", key=KEY, now=NOW)
    for account, at, error in (("z-1", NOW + channels.CODE_TTL, "channel.code_expired"),
                               ("z-taken", NOW, "channel.account_taken")):
        with pytest.raises(DomainError) as caught:
            link(province, code, "zalo", account, at)
        assert caught.value.code == error
    people.remove_member(province, caller=ADMIN, who="4242", now=NOW)
    with pytest.raises(DomainError) as caught:
        link(province, code, "zalo", "z-1", NOW + timedelta(minutes=1))
    assert caught.value.code == "channel.code_invalid"


def test_a_person_cannot_choose_a_channel_they_do_not_hold(province):
    person = people.accept_invite(province, invite(province), telegram_id=4343, chat_id=4343, name="Hoa", language="vi", now=NOW)[0]
    with pytest.raises(DomainError) as caught:
        channels.choose(province, caller=caller_of(province, person), channels={"zalo"}, now=NOW)
    assert caught.value.code == "channel.not_held"


def test_members_list_shows_each_persons_channels_and_where_notices_go(province, cli):
    person = people.accept_invite(province, invite(province), telegram_id=4444, chat_id=4444, name="Minh", language="vi", now=NOW)[0]
    caller = caller_of(province, person)
    link(province, channels.link_code(province, caller=caller, channel="zalo", key=KEY, now=NOW), "zalo", "z-44")
    channels.choose(province, caller=caller, channels={"zalo"}, now=NOW)
    code, out, _ = cli("members", "list")
    row = next(line for line in out.splitlines() if "Minh" in line)
    assert code == 0 and "telegram, zalo" in row and row.rstrip(" │|").endswith("zalo")
