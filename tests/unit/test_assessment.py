"""The self-assessment service: grants, calendar, idempotent answers, evidence, explanation, submission."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from callers import ADMIN, person_caller

from parbot.core.errors import DomainError, NotFound, PermissionDenied
from parbot.core.model import Unit
from parbot.core.period import Deadlines, PeriodConfig
from parbot.core.rules import AnswerError
from parbot.core.services import assessment as svc
from parbot.core.services import people, periods
from parbot.storage.evidence_store import EvidenceStore

OPENS = datetime(2020, 12, 1, 1, 0, tzinfo=timezone.utc)
CLOSES = datetime(2021, 1, 15, 10, 0, tzinfo=timezone.utc)
NOW = OPENS + timedelta(days=3)


@pytest.fixture
def world(uow):
    """The 2020 commune set, two communes, an officer and a leader of X1, an officer of X2: their callers."""
    config = PeriodConfig(year=2020, criteria={"xa": "2020-xa.yaml"},
                          deadlines=Deadlines(self_assessment_opens=OPENS, self_assessment_closes=CLOSES),
                          leader_approval_required=True)
    periods.save_period(uow, caller=ADMIN, config=config)
    with uow:
        for code in ("X1", "X2"):
            uow.units.upsert(Unit(code, f"Xã {code}", "xa"))
        uow.commit()
    who = {}
    for name, role, unit in (("officer", "officer", "X1"), ("leader", "unit_leader", "X1"), ("other", "officer", "X2")):
        code, _ = people.create_invite(uow, caller=ADMIN, role=role, expires_in=timedelta(days=30), now=OPENS,
                                       unit_code=unit)
        person_id = people.accept_invite(uow, code, telegram_id=len(who) + 100, chat_id=None, name=name,
                                          now=OPENS)[0].id
        who[name] = person_caller(uow, person_id)
    return uow, who


def criteria(uow):
    with uow:
        return uow.periods.current().criteria_for("xa")


def test_answer_scores_commits_and_repeats_change_nothing(world):
    uow, who = world
    outcome = svc.record_answer(uow, caller=who["officer"], unit_code="X1", item_code="1.1.1", raw={"option": "late"},
                                now=NOW)
    assert outcome.changed and outcome.view.answer.points == criteria(uow).items["1.1.1"].rule.score(
        {"option": "late"}, criteria(uow).items["1.1.1"].maximum, "xa")
    assert not svc.record_answer(uow, caller=who["officer"], unit_code="X1", item_code="1.1.1", raw={"option": "late"},
                                 now=NOW).changed
    with uow:
        audit = uow.audit.query(item_code="1.1.1")
        score = uow.scores.get(uow.periods.current().id, "X1", "1.1.1", "self")
    assert [(a.action, a.old, a.new) for a in audit] == [("answer", None, "0.5")]
    assert score.points == outcome.view.answer.points and score.by == f"person:{who['officer'].person_id}"


def test_grants_decide_whose_unit(world):
    uow, who = world
    with pytest.raises(PermissionDenied):
        svc.record_answer(uow, caller=who["other"], unit_code="X1", item_code="1.1.1", raw={"option": "late"}, now=NOW)
    with pytest.raises(PermissionDenied):
        svc.item_view(uow, caller=who["other"], unit_code="X1", position=0, now=NOW)
    with pytest.raises(PermissionDenied):  # the leader views but does not answer
        svc.record_answer(uow, caller=who["leader"], unit_code="X1", item_code="1.1.1", raw={"option": "late"}, now=NOW)
    assert svc.overview(uow, caller=who["leader"], unit_code="X1", now=NOW).ws.read_only == "not_officer"
    with pytest.raises(NotFound):
        svc.overview(uow, caller=who["officer"], unit_code="NOPE", now=NOW)
    assert [u.code for u in svc.my_units(uow, caller=who["officer"])] == ["X1"]


def test_survey_items_not_applicable_and_bad_answers(world):
    uow, who = world
    survey = next(i for i in criteria(uow).items.values() if i.is_survey)
    with pytest.raises(DomainError, match="assess.survey_item"):
        svc.record_answer(uow, caller=who["officer"], unit_code="X1", item_code=survey.code, raw={}, now=NOW)
    with pytest.raises(DomainError, match="assess.na_not_allowed"):
        svc.record_answer(uow, caller=who["officer"], unit_code="X1", item_code="1.1.1", raw=None, now=NOW,
                          not_applicable=True)
    assert svc.record_answer(uow, caller=who["officer"], unit_code="X1", item_code="1.3.2", raw=None, now=NOW,
                             not_applicable=True).view.answer.not_applicable
    with pytest.raises(AnswerError, match="numerator_exceeds_denominator"):
        svc.record_answer(uow, caller=who["officer"], unit_code="X1", item_code="1.1.4",
                          raw={"numerator": "5", "denominator": "4"}, now=NOW)
    with uow:
        assert "1.1.4" not in uow.answers.for_unit(uow.periods.current().id, "X1")


@pytest.mark.parametrize("when,reason", [(OPENS - timedelta(minutes=1), "not_open"),
                                         (CLOSES + timedelta(seconds=1), "closed")])
def test_calendar_makes_it_read_only(world, when, reason):
    uow, who = world
    assert svc.overview(uow, caller=who["officer"], unit_code="X1", now=when).ws.read_only == reason
    with pytest.raises(DomainError, match=f"assess.{reason}"):
        svc.record_answer(uow, caller=who["officer"], unit_code="X1", item_code="1.1.1", raw={"option": "late"},
                          now=when)


def test_evidence_files_dedupe_and_explanations(world, tmp_path):
    uow, who = world
    store = EvidenceStore(tmp_path / "ev")
    svc.record_answer(uow, caller=who["officer"], unit_code="X1", item_code="1.1.1", raw={"option": "on_time"}, now=NOW)
    over = svc.overview(uow, caller=who["officer"], unit_code="X1", now=NOW)
    assert over.needs_evidence(criteria(uow).items["1.1.1"])
    view, added = svc.add_evidence_file(uow, caller=who["officer"], store=store, unit_code="X1", item_code="1.1.1",
                                        data=b"pdf", file_name="kh.pdf", mime_type="application/pdf", now=NOW)
    assert added and not view.overview.needs_evidence(view.item) and store.read(view.evidence[0].sha256) == b"pdf"
    assert not svc.add_evidence_file(uow, caller=who["officer"], store=store, unit_code="X1", item_code="1.1.1",
                                     data=b"pdf", file_name="b.pdf", mime_type=None, now=NOW)[1]
    assert list((tmp_path / "ev").rglob(".incoming-*")) == []
    with pytest.raises(DomainError, match="assess.answer_first"):
        svc.set_explanation(uow, caller=who["officer"], unit_code="X1", item_code="1.1.2", text="Chưa ban hành văn bản",
                            now=NOW)
    svc.record_answer(uow, caller=who["officer"], unit_code="X1", item_code="1.1.3", raw={"yes": "n"}, now=NOW)
    view = svc.set_explanation(uow, caller=who["officer"], unit_code="X1", item_code="1.1.3",
                               text="Văn bản đang trình ký", now=NOW)
    assert not view.overview.needs_evidence(view.item)
    with pytest.raises(DomainError, match="evidence.reference_length"):
        svc.add_reference(uow, caller=who["officer"], unit_code="X1", item_code="1.1.3", text="ab", now=NOW)


def answer_all(uow, officer):
    for item in svc.sequence(criteria(uow)):
        raw = {"yes": "y", "option": getattr(item.rule, "options", [None])[0] and item.rule.options[0].code,
               "conditions": {c.code: True for c in getattr(item.rule, "conditions", [])},
               "numerator": "1", "denominator": "2", "value": "0", "count": "0", "points": "0"}
        svc.record_answer(uow, caller=officer, unit_code="X1", item_code=item.code, raw=raw, now=NOW)
        if item.evidence == "required":
            svc.add_reference(uow, caller=officer, unit_code="X1", item_code=item.code,
                              text="15/KH-UBND ngày 10/01/2020", now=NOW)


def test_submission_needs_completeness_and_approval_and_locks(world):
    uow, who = world
    with pytest.raises(DomainError, match="assess.incomplete"):
        svc.submit(uow, caller=who["officer"], unit_code="X1", now=NOW)
    answer_all(uow, who["officer"])
    with pytest.raises(DomainError, match="assess.approval_needed"):
        svc.submit(uow, caller=who["officer"], unit_code="X1", now=NOW)
    assert svc.approve(uow, caller=who["leader"], unit_code="X1", now=NOW)[1]
    # A changed answer voids the approval.
    svc.record_answer(uow, caller=who["officer"], unit_code="X1", item_code="1.1.1", raw={"option": "late"}, now=NOW)
    assert svc.overview(uow, caller=who["officer"], unit_code="X1", now=NOW).ws.stage.approved_at is None
    svc.approve(uow, caller=who["leader"], unit_code="X1", now=NOW)
    over, done = svc.submit(uow, caller=who["officer"], unit_code="X1", now=NOW)
    assert done and over.ws.read_only == "submitted"
    assert svc.submit(uow, caller=who["officer"], unit_code="X1", now=NOW)[1] is False
    with pytest.raises(DomainError, match="assess.submitted"):
        svc.record_answer(uow, caller=who["officer"], unit_code="X1", item_code="1.1.1", raw={"option": "none"},
                          now=NOW)


def test_navigation(world):
    uow, who = world
    items = svc.sequence(criteria(uow))
    assert all(not i.is_survey for i in items)
    view = svc.area_start(uow, caller=who["officer"], unit_code="X1", area_index=0, now=NOW)
    assert view.item == items[0] and view.previous is None and view.next == items[1] and view.index == 1
    svc.record_answer(uow, caller=who["officer"], unit_code="X1", item_code=items[0].code, raw={"option": "on_time"},
                      now=NOW)
    over = svc.overview(uow, caller=who["officer"], unit_code="X1", now=NOW)
    assert over.next_unanswered() == items[1] and over.next_unanswered(items[-1]) == items[1]
