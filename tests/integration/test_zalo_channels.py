"""A person's accounts on several channels: link, choose where notices go, blocked on one channel only."""
from __future__ import annotations

import pytest
from sqlmodel import Session

from parbot.storage.repos_channels import SqlChannelAccounts
from parbot.storage.tables import PersonRow


@pytest.fixture
def session(engine):
    with Session(engine) as session:
        session.add(PersonRow(telegram_id=42, chat_id=42, name="Lan"))
        session.add(PersonRow(telegram_id=43, chat_id=43, name="Minh"))
        session.commit()
        yield session


def test_one_person_two_channels_and_the_chosen_one(session):
    accounts = SqlChannelAccounts(session)
    assert accounts.link(1, "telegram", "42", "42") and accounts.link(1, "zalo", "z-7", "z-7", "Lan")
    assert not accounts.link(1, "zalo", "z-7", "z-7")  # accepting again changes nothing
    session.commit()
    assert accounts.person_of("zalo", "z-7") == 1 and accounts.person_of("zalo", "z-8") is None
    assert [a.channel for a in accounts.recipients(1)] == ["telegram", "zalo"]
    accounts.choose(1, {"zalo"})
    assert [a.channel for a in accounts.recipients(1)] == ["zalo"]
    with pytest.raises(ValueError):
        accounts.choose(1, {"email"})


def test_an_account_never_speaks_for_two_people(session):
    accounts = SqlChannelAccounts(session)
    accounts.link(1, "zalo", "z-7", "z-7")
    with pytest.raises(ValueError):
        accounts.link(2, "zalo", "z-7", "z-7")


def test_blocked_on_zalo_still_reached_on_telegram(session):
    accounts = SqlChannelAccounts(session)
    accounts.link(1, "telegram", "42", "42")
    accounts.link(1, "zalo", "z-7", "z-7")
    accounts.mark_unreachable("zalo", "z-7", "blocked")
    assert [a.channel for a in accounts.recipients(1)] == ["telegram"]
    accounts.link(1, "zalo", "z-7", "z-7")  # the person writes again: reachable once more
    assert len(accounts.recipients(1)) == 2
