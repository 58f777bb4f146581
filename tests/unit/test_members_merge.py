"""`parbot members merge`: one person invited twice (once on Telegram, once on Zalo) becomes one person, in one
transaction, audited; conflicting records are refused with the reason and nothing changed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from callers import ADMIN

from parbot.core.conversation.state import Awaiting, ChatState
from parbot.core.errors import DomainError, PermissionDenied
from parbot.core.model import Block, Unit
from parbot.core.permissions import Caller, Grant, Role
from parbot.core.services import channels, people
from parbot.i18n import error_text, t
from parbot.storage.tables import AuditRow, ChannelAccountRow, InviteRow, OutboxRow, PersonRow, RoleRow
from parbot.storage.uow import SqlUnitOfWork

NOW = datetime(2020, 12, 1, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def province(uow):
    with uow:
        uow.blocks.upsert(Block("so", "Sở"))
        for code, name in (("SNV", "Sở Nội vụ"), ("STC", "Sở Tài chính")):
            uow.units.upsert(Unit(code, name, "so"))
        uow.commit()
    return uow


def invite(uow, role: str = "officer", unit: str = "SNV") -> str:
    return people.create_invite(uow, caller=ADMIN, role=role, expires_in=timedelta(days=1), now=NOW,
                                unit_code=unit)[0]


def on_telegram(uow, telegram_id: int, role: str = "officer", unit: str = "SNV"):
    return people.accept_invite(uow, invite(uow, role, unit), telegram_id=telegram_id, chat_id=telegram_id,
                                name="Lan", username=f"lan{telegram_id}", now=NOW)[0]


def on_zalo(uow, account: str, role: str = "officer", unit: str = "SNV"):
    return people.accept_invite_account(uow, invite(uow, role, unit), channel="zalo", account_id=account,
                                        chat_id=account, name="Lan (Zalo)", language="vi", now=NOW)[0]


def waiting(uow, person_id: int, awaiting: Awaiting, seen: int = 0) -> None:
    with uow:
        uow.chat_states.put(person_id, ChatState(awaiting=awaiting, unit="SNV", slot=3, seen=seen).dump())
        uow.commit()


def count(uow, model, **where) -> int:
    with uow:
        query = sa.select(sa.func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return uow.session.execute(query).scalar_one()


def test_a_person_invited_on_telegram_and_on_zalo_becomes_one(province):
    uow = province
    kept = on_telegram(uow, 501)
    gone = on_zalo(uow, "z-1")
    with uow:
        uow.roles.add(gone.id, Grant(Role.UNIT_LEADER, "STC"))  # besides the officer role both hold
        uow.outbox.enqueue(f"2020/self/SNV/p{gone.id}/remind/d1", gone.id, None, "reminder", {"unit": "SNV"})
        uow.commit()
    waiting(uow, kept.id, Awaiting.NOTHING, seen=42)
    waiting(uow, gone.id, Awaiting.EVIDENCE)  # the Zalo chat asked for a file

    merged = people.merge_members(uow, caller=ADMIN, keep="501", other=f"p{gone.id}", now=NOW)

    assert (merged.person.id, merged.channels, merged.grants, merged.pending) == (kept.id, ("zalo",), 1, 1)
    assert people.identify_account(uow, "zalo", "z-1").person.id == kept.id
    identity = people.identify(uow, 501)
    assert set(identity.grants) == {Grant(Role.OFFICER, "SNV"), Grant(Role.UNIT_LEADER, "STC")}
    assert count(uow, RoleRow, person_id=kept.id) == 2  # the officer role both held: once
    with uow:
        assert uow.people.get(gone.id) is None
        state = ChatState.load(uow.chat_states.get(kept.id))
        assert channels.of_person(uow, uow.people.get(kept.id)).held == ("telegram", "zalo")
    assert (state.awaiting, state.slot, state.seen) == (Awaiting.EVIDENCE, 3, 42)  # the chat that waited goes on
    assert count(uow, OutboxRow, person_id=kept.id, status="pending") == 1
    assert count(uow, InviteRow, used_by=gone.id) == 0 and count(uow, InviteRow, used_by=kept.id) == 2
    with uow:
        audits = uow.session.execute(sa.select(AuditRow.actor, AuditRow.old, AuditRow.new)
                                     .where(AuditRow.action == "member_merge")).all()
    assert audits == [(ADMIN.actor, f"person:{gone.id}", f"person:{kept.id}")]


def test_the_telegram_account_moves_to_a_person_who_joined_on_zalo(province):
    uow = province
    kept = on_zalo(uow, "z-2")
    gone = on_telegram(uow, 502, "unit_leader")
    people.merge_members(uow, caller=ADMIN, keep=f"p{kept.id}", other="@lan502", now=NOW)
    identity = people.identify(uow, 502)
    assert identity.person.id == kept.id and identity.person.chat_id == 502 and identity.person.username == "lan502"
    assert set(identity.grants) == {Grant(Role.OFFICER, "SNV"), Grant(Role.UNIT_LEADER, "SNV")}
    assert count(uow, PersonRow, id=gone.id) == 0


def _refused(uow, keep: str, other: str, code: str) -> DomainError:
    before = {model: count(uow, model) for model in (PersonRow, RoleRow, ChannelAccountRow, OutboxRow, AuditRow)}
    with pytest.raises(DomainError) as refused:
        people.merge_members(uow, caller=ADMIN, keep=keep, other=other, now=NOW)
    assert refused.value.code == code
    assert {model: count(uow, model) for model in before} == before  # nothing written
    return refused.value


def test_merging_two_accounts_on_one_channel_is_refused_saying_which(province):
    uow = province
    on_telegram(uow, 503)
    on_telegram(uow, 504)
    error = _refused(uow, "503", "504", "member.merge_channels")
    assert "Telegram" in error_text(error, "vi", "Asia/Ho_Chi_Minh")
    first, second = on_zalo(uow, "z-3"), on_zalo(uow, "z-4")
    text = error_text(_refused(uow, f"p{first.id}", f"p{second.id}", "member.merge_channels"), "vi",
                      "Asia/Ho_Chi_Minh")
    assert text == t("error.member.merge_channels", "vi", keep=f"p{first.id}", other=f"p{second.id}", channels="Zalo")


def test_merging_two_chats_that_both_wait_for_an_answer_is_refused(province):
    uow = province
    kept, gone = on_telegram(uow, 505), on_zalo(uow, "z-5")
    waiting(uow, kept.id, Awaiting.INPUT)
    waiting(uow, gone.id, Awaiting.EXPLANATION)
    _refused(uow, "505", f"p{gone.id}", "member.merge_waiting")
    with uow:
        assert ChatState.load(uow.chat_states.get(gone.id)).awaiting is Awaiting.EXPLANATION


def test_merge_refuses_one_person_twice_an_unknown_one_and_a_non_administrator(province):
    uow = province
    kept = on_telegram(uow, 506)
    _refused(uow, "506", f"p{kept.id}", "member.merge_same")
    _refused(uow, "506", "p999", "member.not_found")
    gone = on_zalo(uow, "z-6")
    with pytest.raises(PermissionDenied):
        people.merge_members(uow, caller=Caller.person(kept.id, [Grant(Role.OFFICER, "SNV")]), keep="506",
                             other=f"p{gone.id}", now=NOW)


def test_members_merge_on_the_command_line_in_vietnamese(cli, database_url):
    from parbot.storage.db import make_engine

    assert cli("db", "upgrade")[0] == 0
    uow = SqlUnitOfWork(make_engine(database_url))
    with uow:
        uow.blocks.upsert(Block("so", "Sở"))
        uow.units.upsert(Unit("SNV", "Sở Nội vụ", "so"))
        uow.commit()
    kept, gone = on_telegram(uow, 507), on_zalo(uow, "z-7", "unit_leader")
    code, out, _ = cli("members", "merge", "507", f"p{gone.id}")
    assert code == 0
    assert out.strip() == t("cli.members.merged", "vi", other=f"p{gone.id}", keep="507", name=kept.name,
                            channels="Zalo", grants=1, pending=0)
    code, _, err = cli("members", "merge", "507", "p999")
    assert code != 0 and "p999" in err
