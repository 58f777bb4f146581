"""Read-modify-write paths under real concurrency: N threads at once, on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from decimal import Decimal

import pytest
from sqlmodel import select

from appraisal_fixtures import COUNCIL, CRITERIA, IN_EXPLANATION, PERIOD, SELF, T0, YEAR, person
from callers import ADMIN, person_caller

from parbot.core import appraisal_state
from parbot.core.errors import DomainError
from parbot.core.model import Answer, Block, Score, Unit, UnitStage
from parbot.core.permissions import Grant, Role
from parbot.core.services import appraisal, assessment, channels, people, periods, units
from parbot.core.services.scores import put_score
from parbot.core.services.tabular import Row
from parbot.storage.tables import OutboxRow
from parbot.storage.uow import SqlUnitOfWork

NOW = datetime(2020, 12, 1, 1, 0, tzinfo=timezone.utc)
ACCOUNTS = 10


def _officer_invite(engine) -> str:
    uow = SqlUnitOfWork(engine)
    with uow:
        uow.blocks.upsert(Block("so", "Sở"))
        uow.units.upsert(Unit("SNV", "Sở Nội vụ", "so"))
        uow.commit()
    code, _ = people.create_invite(uow, caller=ADMIN, role="officer", expires_in=timedelta(days=1), now=NOW,
                                   unit_code="SNV")
    return code


def test_ten_accounts_on_one_code_at_once_give_exactly_one_role(engine):
    code = _officer_invite(engine)
    ids = [1000 + n for n in range(ACCOUNTS)]
    results = _together([lambda telegram_id=telegram_id: people.accept_invite(
        SqlUnitOfWork(engine), code, telegram_id=telegram_id, chat_id=telegram_id, name=f"p{telegram_id}", now=NOW)
        for telegram_id in ids])
    granted = [telegram_id for telegram_id, result in zip(ids, results) if not isinstance(result, Exception)]
    refused = [result.code for result in results if isinstance(result, DomainError)]
    assert len(granted) == 1 and refused == ["invite.used"] * (ACCOUNTS - 1)
    with SqlUnitOfWork(engine) as uow:
        holders = uow.roles.holders("officer", "SNV")
    assert [p.telegram_id for p in holders] == granted


def test_one_account_sending_its_code_five_times_at_once_joins_once(engine):
    code = _officer_invite(engine)
    results = _together([lambda: people.accept_invite(SqlUnitOfWork(engine), code, telegram_id=1000, chat_id=1000,
                                                      name="p", now=NOW)
                         for _ in range(5)])
    # A repeated /start is no error: every message is told it joined, and one of them added the role.
    assert not any(isinstance(r, BaseException) for r in results), results
    assert sorted(added for _, _, added in results) == [False] * 4 + [True]
    with SqlUnitOfWork(engine) as uow:
        assert [p.telegram_id for p in uow.people.list()] == [1000]
        assert [p.telegram_id for p in uow.roles.holders("officer", "SNV")] == [1000]


# ---- a second channel: account codes (/kenh) and invitations accepted on Zalo --------------------------------

LINK_KEY = "a-concurrency-link-key"


def _member(engine, code: str, channel: str, account: str):
    """A person who joined with ``code`` on ``channel`` (Telegram: the account is the id), and the caller."""
    if channel == "telegram":
        person = people.accept_invite(SqlUnitOfWork(engine), code, telegram_id=int(account), chat_id=int(account),
                                      name=f"p{account}", now=NOW)[0]
    else:
        person = people.accept_invite_account(SqlUnitOfWork(engine), code, channel=channel, account_id=account,
                                              chat_id=account, name=f"p{account}", language="vi", now=NOW)[0]
    return person, person_caller(SqlUnitOfWork(engine), person.id)


def _link(engine, code: str, channel: str, account: str):
    return channels.link_account(SqlUnitOfWork(engine), code, channel=channel, account_id=account, chat_id=account,
                                 name=f"p{account}", key=LINK_KEY, now=NOW)


def _accounts(engine, channel: str) -> list[tuple[int, str]]:
    with SqlUnitOfWork(engine) as uow:
        return sorted((a.person_id, a.account_id) for p in uow.people.list()
                      for a in uow.channel_accounts.of_person(p.id) if a.channel == channel)


@pytest.mark.parametrize("joined,other", [("telegram", "zalo"), ("zalo", "telegram")])
def test_five_accounts_on_one_account_code_at_once_link_exactly_one(engine, joined, other):
    """An account code is good for one account: five accounts of the other channel sending it at once end with
    exactly one linked, the others told the person holds one there already."""
    person, caller = _member(engine, _officer_invite(engine), joined, "700")
    code = channels.link_code(SqlUnitOfWork(engine), caller=caller, channel=other, key=LINK_KEY, now=NOW)
    accounts = [str(800 + n) for n in range(5)]
    results = _together([lambda account=account: _link(engine, code, other, account) for account in accounts])
    linked = [account for account, result in zip(accounts, results) if not isinstance(result, Exception)]
    refused = [result.code if isinstance(result, DomainError) else repr(result)
               for result in results if isinstance(result, Exception)]
    assert len(linked) == 1 and refused == ["channel.already_held"] * 4, results
    assert _accounts(engine, other) == [(person.id, linked[0])]
    with SqlUnitOfWork(engine) as uow:
        assert len(uow.people.list()) == 1
        if other == "telegram":
            assert uow.people.get(person.id).telegram_id == int(linked[0])


@pytest.mark.parametrize("channel", ["zalo", "telegram"])
def test_one_account_sending_two_peoples_codes_at_once_is_linked_to_one(engine, channel):
    """Two people's account codes sent at once from one account: it ends linked to one of them, the other told
    the account is taken (never a crash, never the account under two people)."""
    joined = "telegram" if channel == "zalo" else "zalo"
    codes = []
    for n in range(2):
        _, caller = _member(engine, _officer_invite(engine), joined, str(700 + n))
        codes.append(channels.link_code(SqlUnitOfWork(engine), caller=caller, channel=channel, key=LINK_KEY, now=NOW))
    results = _together([lambda code=code: _link(engine, code, channel, "900") for code in codes])
    linked = [result[0].id for result in results if not isinstance(result, Exception)]
    refused = [result.code if isinstance(result, DomainError) else repr(result)
               for result in results if isinstance(result, Exception)]
    assert len(linked) == 1 and refused == ["channel.account_taken"], results
    assert _accounts(engine, channel) == [(linked[0], "900")]
    if channel == "telegram":
        with SqlUnitOfWork(engine) as uow:
            assert [p.id for p in uow.people.list() if p.telegram_id == 900] == linked


def test_ten_zalo_accounts_on_one_invitation_at_once_give_exactly_one_role(engine):
    code = _officer_invite(engine)
    accounts = [f"z-{n}" for n in range(ACCOUNTS)]
    results = _together([lambda account=account: people.accept_invite_account(
        SqlUnitOfWork(engine), code, channel="zalo", account_id=account, chat_id=account, name=account,
        language="vi", now=NOW) for account in accounts])
    granted = [account for account, result in zip(accounts, results) if not isinstance(result, Exception)]
    refused = [result.code for result in results if isinstance(result, DomainError)]
    assert len(granted) == 1 and refused == ["invite.used"] * (ACCOUNTS - 1), results
    with SqlUnitOfWork(engine) as uow:
        (holder,) = uow.roles.holders("officer", "SNV")
        assert len(uow.people.list()) == 1  # the refused accounts left no person behind
    assert _accounts(engine, "zalo") == [(holder.id, granted[0])]


def test_one_zalo_account_accepting_two_invitations_at_once_is_one_person_with_both_roles(engine):
    codes = [_officer_invite(engine)]
    codes.append(people.create_invite(SqlUnitOfWork(engine), caller=ADMIN, role="unit_leader", unit_code="SNV",
                                      expires_in=timedelta(days=1), now=NOW)[0])
    results = _together([lambda code=code: people.accept_invite_account(
        SqlUnitOfWork(engine), code, channel="zalo", account_id="z-1", chat_id="z-1", name="Lan", language="vi",
        now=NOW) for code in codes])
    assert not any(isinstance(r, Exception) for r in results), results
    assert [added for _, _, added in results] == [True, True]
    with SqlUnitOfWork(engine) as uow:
        (person,) = uow.people.list()
        assert sorted(g.role.value for g in uow.roles.grants(person.id)) == ["officer", "unit_leader"]
    assert _accounts(engine, "zalo") == [(person.id, "z-1")]


def test_one_zalo_account_sending_an_account_code_and_an_invitation_at_once_is_one_persons(engine):
    """A Telegram member's account code and an invitation typed from one new Zalo account at once: whichever
    comes first, the account ends under one person and nothing crashes (the invitation then joins the person
    the code linked, or the code is told the account is taken)."""
    person, caller = _member(engine, _officer_invite(engine), "telegram", "700")
    code = channels.link_code(SqlUnitOfWork(engine), caller=caller, channel="zalo", key=LINK_KEY, now=NOW)
    invitation = people.create_invite(SqlUnitOfWork(engine), caller=ADMIN, role="unit_leader", unit_code="SNV",
                                      expires_in=timedelta(days=1), now=NOW)[0]
    linked, joined = _together([lambda: _link(engine, code, "zalo", "z-1"), lambda: people.accept_invite_account(
        SqlUnitOfWork(engine), invitation, channel="zalo", account_id="z-1", chat_id="z-1", name="Lan",
        language="vi", now=NOW)])
    assert not isinstance(joined, Exception), joined
    owner = joined[0].id
    if isinstance(linked, Exception):
        assert isinstance(linked, DomainError) and linked.code == "channel.account_taken", linked
    else:
        assert linked[0].id == owner == person.id
    assert _accounts(engine, "zalo") == [(owner, "z-1")]
    with SqlUnitOfWork(engine) as uow:
        assert [g.role.value for g in uow.roles.grants(owner) if g.role.value == "unit_leader"] == ["unit_leader"]


# ---- a unit's stage row: submission, answers, approval, appraisal rounds ----------------------------------

def _province(engine, tmp_path, codes: list[str], approval: bool = False, submitted_at=None) -> SqlUnitOfWork:
    """The small criteria set of the appraisal tests for block `so` units ``codes``, each completely
    self-assessed (and submitted at ``submitted_at`` when given)."""
    uow = SqlUnitOfWork(engine)
    (tmp_path / "t.yaml").write_text(CRITERIA, encoding="utf-8")
    (tmp_path / "period.yaml").write_text(PERIOD + f"leader_approval_required: {str(approval).lower()}\n",
                                          encoding="utf-8")
    period = periods.create_from_file(uow, caller=ADMIN, path=tmp_path / "period.yaml")
    rows = [Row(n, {"code": c, "name": f"Sở {c}", "block": "so", "parent": ""}) for n, c in enumerate(codes, 2)]
    units.import_units(uow, caller=ADMIN, header=["code", "name", "block", "parent"], rows=rows)
    with uow:
        for code in codes:
            for item, text in SELF.items():
                na = text == "na"
                points = None if na else Decimal(text)
                uow.answers.put(period.id, Answer(unit_code=code, item_code=item, value={} if na else {"points": text},
                                                  not_applicable=na, points=points, explanation="Đã có báo cáo"))
                put_score(uow, period, Score(unit_code=code, item_code=item, source="self", points=points,
                                             not_applicable=na, by="person:0"), "person:0")
            uow.stages.put(period.id, UnitStage(unit_code=code, submitted_at=submitted_at))
        uow.commit()
    return uow


def _together(jobs: list) -> list:
    """Run each job in its own thread, all released at once; returns each job's result or DomainError."""
    start = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index: int) -> None:
        start.wait(timeout=60)
        try:
            results[index] = jobs[index]()
        except Exception as error:  # noqa: BLE001 - the test asserts on what each was told, crashes included
            results[index] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    return results


STAGE_ACTIONS = ("approval_void", "approve", "submit")  # a changed answer voids the approval
SUBMITTING = datetime(2021, 1, 10, 3, 0, tzinfo=timezone.utc)  # the self-assessment window is open


def test_submit_change_and_approve_at_once_end_as_each_was_told(engine, tmp_path):
    codes = [f"S{n:02}" for n in range(10)]
    uow = _province(engine, tmp_path, codes, approval=True)
    officer_a, officer_b, leader = (person_caller(uow, person(uow, 500 + n, *(Grant(role, c) for c in codes)))
                                    for n, role in enumerate((Role.OFFICER, Role.OFFICER, Role.UNIT_LEADER)))
    with uow:
        period = uow.periods.get(YEAR)
        for code in codes:  # approved already: the changed answer voids it, the leader may approve again
            uow.stages.put(period.id, UnitStage(unit_code=code, approved_at=SUBMITTING, approved_by=leader.person_id))
        uow.commit()
    jobs = []
    for code in codes:
        jobs += [lambda c=code: assessment.submit(SqlUnitOfWork(engine), caller=officer_a, unit_code=c,
                                                  now=SUBMITTING)[1],
                 lambda c=code: assessment.record_answer(SqlUnitOfWork(engine), caller=officer_b, unit_code=c,
                                                         item_code="1.1", raw={"points": "1.5"},
                                                         now=SUBMITTING).changed,
                 lambda c=code: assessment.approve(SqlUnitOfWork(engine), caller=leader, unit_code=c,
                                                   now=SUBMITTING)[1]]
    results = _together(jobs)
    with uow:
        stages = uow.stages.for_period(period.id)
        answers = {c: uow.answers.get(period.id, c, "1.1").value for c in codes}
        logs = {c: [a.action for a in uow.audit.query(period.id, c) if a.action in STAGE_ACTIONS] for c in codes}
    for n, code in enumerate(codes):
        told = dict(zip(("submit", "approval_void", "approve"), results[3 * n:3 * n + 3]))
        log = logs[code]
        assert {action for action, result in told.items() if result is True} == set(log), (code, told, log)
        # Replaying the audit in order (the row lock makes it the order of the commits) gives the final state.
        approved, submitted = True, False
        for action in log:
            assert not submitted, (code, log)  # a submitted self-assessment changes no more
            assert action != "submit" or approved, (code, log)  # the period asks for the leader's approval
            approved = {"approval_void": False, "approve": True}.get(action, approved)
            submitted = submitted or action == "submit"
        assert (stages[code].submitted_at is not None, stages[code].approved_at is not None) == (
            submitted, approved), (code, told, log)
        assert answers[code] == ({"points": "1.5"} if told["approval_void"] is True else {"points": "2"}), (code, told)


APPRAISERS = 4


def test_closing_round_one_while_appraisers_work_closes_every_unit_and_loses_no_points(engine, tmp_path):
    codes = [f"S{n:02}" for n in range(24)]
    uow = _province(engine, tmp_path, codes, submitted_at=T0)
    person(uow, 600, *(Grant(Role.OFFICER, c) for c in codes))  # receives each unit's round-1 notice
    councils = [person_caller(uow, person(uow, 700 + n, COUNCIL)) for n in range(APPRAISERS)]

    def appraise(council, mine: list[str]):
        work, outcomes = SqlUnitOfWork(engine), []
        for code in mine:
            outcomes.append((code, appraisal.appraise(work, caller=council, unit_code=code, item_code="1.1",
                                                      points="1.5", reason="Kế hoạch ban hành chậm", year=YEAR,
                                                      now=T0)))
            outcomes.append((code, appraisal.appraise(work, caller=council, unit_code=code, item_code="1.2",
                                                      year=YEAR, now=T0)))
        return outcomes

    jobs = [lambda: appraisal.close_round(SqlUnitOfWork(engine), caller=ADMIN, round_no=1, force=True, year=YEAR,
                                          now=T0)]
    jobs += [lambda n=n: appraise(councils[n], codes[n::APPRAISERS]) for n in range(APPRAISERS)]
    summary, *outcomes = _together(jobs)
    assert not any(isinstance(result, Exception) for result in outcomes), outcomes
    assert sorted(summary.closed) == codes
    with uow:
        period = uow.periods.get(YEAR)
        stages = uow.stages.for_period(period.id)
        scores = {(s.unit_code, s.item_code): s for s in uow.scores.for_period(period.id) if s.source == "appraised"}
        notices = {row.payload["unit"]: row.payload for row in uow.session.exec(select(OutboxRow))
                   if row.kind == "appraisal_round1"}
    assert [c for c in codes if not appraisal_state.of(stages[c]).closed_at(1)] == []
    for code, outcome in (pair for result in outcomes for pair in result):
        kept = scores[(code, outcome.item_code)]
        assert (kept.points, kept.appraisal_round) == (outcome.points, outcome.round), (code, outcome)
    # Each notice tells what round 1 closed with: item 1.1 lowered exactly when it was appraised in round 1.
    round1 = {code for code, outcome in (pair for result in outcomes for pair in result)
              if outcome.item_code == "1.1" and outcome.round == 1}
    assert sorted(notices) == codes
    assert {c for c, payload in notices.items() if any(x["item"] == "1.1" for x in payload["lowered"])} == round1


def test_two_contests_of_one_unit_at_once_are_both_kept(engine, tmp_path):
    codes = [f"S{n:02}" for n in range(12)]
    uow = _province(engine, tmp_path, codes, submitted_at=T0)
    officer, leader = (person_caller(uow, person(uow, 800 + n, *(Grant(role, c) for c in codes)))
                       for n, role in enumerate((Role.OFFICER, Role.UNIT_LEADER)))
    appraisal.close_round(uow, caller=ADMIN, round_no=1, force=True, year=YEAR, now=T0)
    jobs = [lambda c=code, who=who, item=item: appraisal.contest(
                SqlUnitOfWork(engine), caller=who, unit_code=c, item_code=item, text=f"Giải trình {item}", year=YEAR,
                now=IN_EXPLANATION)
            for code in codes for who, item in ((officer, "1.1"), (leader, "1.2"))]
    results = _together(jobs)
    assert not any(isinstance(result, Exception) for result in results), results
    with uow:
        stages = uow.stages.for_period(uow.periods.get(YEAR).id)
    assert {c: sorted(x.item_code for x in appraisal_state.of(stages[c]).contests) for c in codes} == {
        c: ["1.1", "1.2"] for c in codes}


def test_two_deadline_sweeps_at_once_close_each_unit_once(engine, tmp_path):
    codes = [f"S{n:02}" for n in range(24)]
    uow = _province(engine, tmp_path, codes, submitted_at=T0)
    person(uow, 600, *(Grant(Role.OFFICER, c) for c in codes))
    sweeps = _together([lambda: appraisal.close_due_rounds(SqlUnitOfWork(engine), now=IN_EXPLANATION)] * 2)
    assert not any(isinstance(result, Exception) for result in sweeps), sweeps
    closed = [code for summaries in sweeps for summary in summaries for code in summary.closed]
    assert sorted(closed) == codes  # one sweep closed each unit, the other found it closed
    with uow:
        period = uow.periods.get(YEAR)
        closes = [a.unit_code for a in uow.audit.query(period.id) if a.action == "close_round"]
    assert sorted(closes) == codes
