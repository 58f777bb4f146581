"""Invitations (hashed, single use, expiring, revocable), binding, members, and their audit rows."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from callers import ADMIN, person_caller

from parbot.core.errors import DomainError, NotFound, PermissionDenied
from parbot.core.permissions import Caller, Grant, Role
from parbot.core.services import people
from parbot.core.services.people import parse_duration
from parbot.storage.tables import InviteRow
from sqlmodel import Session, select

NOW = datetime(2020, 12, 1, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def province(uow):
    from parbot.core.model import Block, Unit

    with uow:
        uow.blocks.upsert(Block("so", "Sở"))
        uow.units.upsert(Unit("SNV", "Sở Nội vụ", "so"))
        uow.commit()
    return uow


def test_codes_are_letters_and_digits_so_a_command_line_never_takes_one_for_an_option(province):
    codes = [people.create_invite(province, caller=ADMIN, role="officer", expires_in=timedelta(days=1), now=NOW,
                                  unit_code="SNV")[0] for _ in range(100)]
    assert all(len(c) == 16 and c.isascii() and c.isalnum() for c in codes) and len(set(codes)) == 100


def test_code_is_stored_only_as_its_hash(province, engine):
    code, invite = people.create_invite(province, caller=ADMIN, role="officer", expires_in=timedelta(days=14), now=NOW,
                                        unit_code="SNV")
    assert len(code) == 16 and code.isascii() and code.isalnum()
    with Session(engine) as session:
        row = session.exec(select(InviteRow)).one()
    assert row.code_hash == hashlib.sha256(code.encode()).hexdigest() and code not in row.code_hash
    assert invite.expires_at == NOW + timedelta(days=14) and invite.status(NOW) == "active"


@pytest.mark.parametrize("role,unit,block,error", [
    ("officer", None, None, "invite.unit_required"), ("admin", "SNV", None, "invite.scope_not_allowed"),
    ("appraiser", None, None, "invite.scope_required"), ("chief", None, None, "invite.unknown_role")])
def test_scopes_are_validated(province, role, unit, block, error):
    with pytest.raises(DomainError) as caught:
        people.create_invite(province, caller=ADMIN, role=role, expires_in=timedelta(days=1), now=NOW, unit_code=unit,
                             block=block)
    assert caught.value.code == error


def test_unknown_unit_is_refused(province):
    with pytest.raises(NotFound):
        people.create_invite(province, caller=ADMIN, role="officer", expires_in=timedelta(days=1), now=NOW,
                             unit_code="NOPE")


def test_accept_binds_once_and_is_idempotent_for_the_same_person(province):
    code, _ = people.create_invite(province, caller=ADMIN, role="officer", expires_in=timedelta(days=1), now=NOW,
                                   unit_code="SNV")
    person, grant, added = people.accept_invite(province, code, telegram_id=42, chat_id=42, name="Lan", username="lan",
                                                language="en", now=NOW)
    assert (grant, added, person.language) == (Grant(Role.OFFICER, "SNV"), True, "en")
    assert people.accept_invite(province, code, telegram_id=42, chat_id=42, name="Lan", username="lan", language="en",
                                now=NOW)[2] is False
    with pytest.raises(DomainError, match="invite.used"):
        people.accept_invite(province, code, telegram_id=43, chat_id=43, name="Minh", now=NOW)
    assert people.identify(province, 42).grants == (Grant(Role.OFFICER, "SNV"),)
    assert people.identify(province, 43).person is None


def test_expired_revoked_and_unknown_codes(province):
    code, _ = people.create_invite(province, caller=ADMIN, role="officer", expires_in=timedelta(hours=1), now=NOW,
                                   unit_code="SNV")
    with pytest.raises(DomainError, match="invite.expired"):
        people.accept_invite(province, code, telegram_id=42, chat_id=42, name="Lan", now=NOW + timedelta(hours=1))
    other, invite = people.create_invite(province, caller=ADMIN, role="officer", expires_in=timedelta(days=1), now=NOW,
                                         unit_code="SNV")
    assert people.revoke_invite(province, caller=ADMIN, code_or_id=f"#{invite.id}", now=NOW).status(NOW) == "revoked"
    with pytest.raises(DomainError, match="invite.revoked"):
        people.accept_invite(province, other, telegram_id=42, chat_id=42, name="Lan", now=NOW)
    with pytest.raises(DomainError, match="invite.unknown"):
        people.accept_invite(province, "not-a-code", telegram_id=42, chat_id=42, name="Lan", now=NOW)


def test_revoke_by_code_hint_and_used_invites_cannot_be_revoked(province):
    code, _ = people.create_invite(province, caller=ADMIN, role="officer", expires_in=timedelta(days=1), now=NOW,
                                   unit_code="SNV")
    people.accept_invite(province, code, telegram_id=42, chat_id=42, name="Lan", now=NOW)
    with pytest.raises(DomainError, match="invite.already_used"):
        people.revoke_invite(province, caller=ADMIN, code_or_id=code[:6], now=NOW)
    with pytest.raises(NotFound):
        people.revoke_invite(province, caller=ADMIN, code_or_id="#999", now=NOW)


def test_members_list_remove_and_audit(province):
    code, _ = people.create_invite(province, caller=ADMIN, role="officer", expires_in=timedelta(days=1), now=NOW,
                                   unit_code="SNV")
    people.accept_invite(province, code, telegram_id=42, chat_id=42, name="Lan", username="lan", now=NOW)
    assert [(p.telegram_id, g.role) for p, g in people.list_members(province)] == [(42, Role.OFFICER)]
    assert people.remove_member(province, caller=ADMIN, who="@lan", now=NOW) == 1
    assert people.list_members(province) == [] and people.identify(province, 42).grants == ()
    with pytest.raises(NotFound):
        people.remove_member(province, caller=ADMIN, who="42", now=NOW)
    with province:
        actions = [a.action for a in province.audit.query()]
    assert actions == ["invite", "member_join", "member_remove"]


def test_only_an_administrator_invites_revokes_or_removes_members(province):
    code, invite = people.create_invite(province, caller=ADMIN, role="officer", expires_in=timedelta(days=1), now=NOW,
                                        unit_code="SNV")
    person, _, _ = people.accept_invite(province, code, telegram_id=42, chat_id=42, name="Lan", username="lan", now=NOW)
    officer = person_caller(province, person.id)
    province_leader = Caller.person(7, (Grant(Role.PROVINCE_LEADER),))  # province-wide, yet no administrator
    for caller in (officer, province_leader):
        with pytest.raises(PermissionDenied):
            people.create_invite(province, caller=caller, role="officer", expires_in=timedelta(days=1), now=NOW,
                                 unit_code="SNV")
        with pytest.raises(PermissionDenied):
            people.revoke_invite(province, caller=caller, code_or_id=f"#{invite.id}", now=NOW)
        with pytest.raises(PermissionDenied):
            people.remove_member(province, caller=caller, who="@lan", now=NOW)
    assert [(i.id, i.status(NOW)) for i in people.list_invites(province)] == [(invite.id, "used")]
    assert people.identify(province, 42).grants == (Grant(Role.OFFICER, "SNV"),)
    with province:
        assert [a.action for a in province.audit.query()] == ["invite", "member_join"]


def test_durations_and_languages(province):
    assert parse_duration("14d") == timedelta(days=14) and parse_duration("30m") == timedelta(minutes=30)
    for bad in ("", "0d", "14", "2w"):
        with pytest.raises(DomainError):
            parse_duration(bad)
    code, _ = people.create_invite(province, caller=ADMIN, role="officer", expires_in=timedelta(days=1), now=NOW,
                                   unit_code="SNV")
    person, _, _ = people.accept_invite(province, code, telegram_id=42, chat_id=42, name="Lan", now=NOW)
    people.set_language(province, caller=person_caller(province, person.id), language="en")
    assert people.identify(province, 42).language == "en"
    with pytest.raises(DomainError, match="lang.unknown"):
        people.set_language(province, caller=person_caller(province, person.id), language="fr")


def test_cli_invite_and_members(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PARBOT_BOT_USERNAME", "cchc_tinh_bot")  # the link needs the bot's username
    assert cli("framework", "import", "2020-so.yaml")[0] == 0
    (tmp_path / "u.csv").write_text("code,name,block\nSNV,Sở Nội vụ,so\n", encoding="utf-8")
    assert cli("units", "import", str(tmp_path / "u.csv"))[0] == 0
    code_, out, _ = cli("invite", "create", "--role", "officer", "--unit", "SNV", "--expires", "7d")
    assert code_ == 0 and "https://t.me/cchc_tinh_bot?start=" in out
    code = out.split("?start=")[1].split()[0]
    assert cli("invite", "list")[1].count(code[:6]) == 1
    assert cli("invite", "revoke", code)[0] == 0
    assert "đã thu hồi" in cli("invite", "list")[1]  # the status in words, not the code
    assert cli("invite", "create", "--role", "admin", "--unit", "SNV")[0] == 1
    assert cli("members", "remove", "12345")[0] == 1


def test_writing_again_after_blocking_makes_a_person_reachable(province):
    uow = province
    with uow:
        person = uow.people.ensure(4242, 4242, "Bình", None, "vi")
        uow.people.mark_unreachable(person.id, "Forbidden: bot was blocked by the user")
        uow.commit()
    assert uow_person(uow, person.id).unreachable_at is not None
    people.identify(uow, 4242)
    assert uow_person(uow, person.id).unreachable_at is None


def uow_person(uow, person_id):
    with uow:
        return uow.people.get(person_id)
