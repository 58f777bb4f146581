"""Appraisal: who appraises which areas, reasons, rounds, the explanation round and its notices."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select


from appraisal_fixtures import (ADMIN, AFTER_EXPLANATION, COUNCIL, COUNCIL_XA, H01_COUNCIL,  # noqa: E402
                                IN_EXPLANATION, T0, YEAR, build, person)
from callers import person_caller  # noqa: E402

from parbot.core import appraisal_state  # noqa: E402
from parbot.core.errors import DomainError, PermissionDenied, ValidationFailed  # noqa: E402
from parbot.core.permissions import Grant, Role  # noqa: E402
from parbot.core.results import NA  # noqa: E402
from parbot.core.services import appraisal as ap  # noqa: E402
from parbot.core.services.results import period_results  # noqa: E402
from parbot.storage.db import make_engine, upgrade  # noqa: E402
from parbot.storage.tables import OutboxRow  # noqa: E402
from parbot.storage.uow import SqlUnitOfWork  # noqa: E402


@pytest.fixture
def uow(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    upgrade(engine)
    work = SqlUnitOfWork(engine)
    build(work, tmp_path, submit=("SNV", "STC", "X1", "X2", "X3"))
    yield work
    engine.dispose()


def caller(uow, telegram_id, *grants):
    return person_caller(uow, person(uow, telegram_id, *grants))


def audit(uow, unit, item=None):
    with uow:
        period = uow.periods.get(YEAR)
        return uow.audit.query(period.id, unit, item)


def outbox(uow):
    with uow:
        return [row.model_copy() for row in uow.session.exec(select(OutboxRow).order_by(OutboxRow.id))]


def test_areas_follow_the_period_assignment_and_never_the_own_unit(uow):
    with uow:
        period = uow.periods.get(YEAR)
        snv, stc, x1 = (uow.units.get(c, YEAR) for c in ("SNV", "STC", "X1"))
    so, xa = period.criteria_for("so"), period.criteria_for("xa")
    field_dept = [Grant(Role.OFFICER, "STC"), COUNCIL, COUNCIL_XA]
    assignments = period.config.appraisal
    assert ap.appraisable_areas([COUNCIL], snv, so, assignments) == ("1",)
    assert ap.appraisable_areas(field_dept, snv, so, assignments) == ("2",)
    assert ap.appraisable_areas(field_dept, stc, so, assignments) == ()  # its own unit
    # "so:2" names block so only: for communes area 2 stays with the general council.
    assert ap.appraisable_areas([H01_COUNCIL], x1, xa, assignments) == ("1", "2")
    assert ap.appraisable_areas([Grant(Role.OFFICER, "SNV")], snv, so, assignments) == ()
    assert ap.appraisable_areas([COUNCIL], snv, so, []) == ("1", "2")  # no assignments: every area


def test_accept_or_set_points_with_a_reason_when_they_differ(uow):
    council = caller(uow, 1, COUNCIL)
    accepted = ap.appraise(uow, caller=council, unit_code="SNV", item_code="1.2", year=YEAR, now=T0)
    assert (accepted.points, accepted.changed, accepted.round) == (Decimal(1), True, 1)
    with pytest.raises(DomainError, match="appraisal.invalid") as refused:
        ap.appraise(uow, caller=council, unit_code="SNV", item_code="1.1", points="1.5", year=YEAR, now=T0)
    assert "reason" in refused.value.params["problem"]
    with pytest.raises(DomainError) as too_high:
        ap.appraise(uow, caller=council, unit_code="SNV", item_code="1.1", points="2.5", reason="x", year=YEAR, now=T0)
    assert "maximum" in too_high.value.params["problem"]
    lowered = ap.appraise(uow, caller=council, unit_code="SNV", item_code="1.1", points="1,5",
                          reason="  Kế hoạch ban hành chậm ", year=YEAR, now=T0)
    assert lowered.points == Decimal("1.5")
    entry = audit(uow, "SNV", "1.1")[-1]
    assert (entry.actor, entry.source, entry.old, entry.new, entry.reason) == (
        council.actor, "appraised:round1", None, "1.5", "Kế hoạch ban hành chậm")
    # The same points as the unit gave itself need no reason, and keep none.
    same = ap.appraise(uow, caller=council, unit_code="SNV", item_code="1.1", points="2", year=YEAR, now=T0)
    assert same.changed
    assert audit(uow, "SNV", "1.1")[-1].reason is None


def test_who_may_appraise_what(uow):
    council, h01 = caller(uow, 1, COUNCIL), caller(uow, 2, H01_COUNCIL)
    finance = caller(uow, 3, Grant(Role.OFFICER, "STC"), COUNCIL)
    officer = caller(uow, 4, Grant(Role.OFFICER, "SNV"))
    with pytest.raises(PermissionDenied):
        ap.appraise(uow, caller=officer, unit_code="SNV", item_code="1.1", year=YEAR, now=T0)
    with pytest.raises(PermissionDenied):  # a commune of another district
        ap.appraise(uow, caller=h01, unit_code="X3", item_code="1.1", year=YEAR, now=T0)
    assert ap.appraise(uow, caller=h01, unit_code="X1", item_code="2.1", year=YEAR, now=T0).changed
    with pytest.raises(DomainError, match="appraisal.area_not_assigned"):
        ap.appraise(uow, caller=council, unit_code="SNV", item_code="2.1", year=YEAR, now=T0)  # Sở Tài chính's area
    with pytest.raises(DomainError, match="appraisal.no_areas"):
        ap.appraise(uow, caller=finance, unit_code="STC", item_code="2.1", year=YEAR, now=T0)  # its own unit
    assert ap.appraise(uow, caller=finance, unit_code="SNV", item_code="2.2", year=YEAR, now=T0).points is NA
    with pytest.raises(DomainError, match="appraisal.survey_item"):
        ap.appraise(uow, caller=council, unit_code="SNV", item_code="3.1.1", points="1", reason="x", year=YEAR, now=T0)
    with pytest.raises(DomainError, match="appraisal.not_submitted"):
        ap.appraise(uow, caller=caller(uow, 5, Grant(Role.APPRAISER, block="huyen")), unit_code="H01", item_code="1.1",
                    year=YEAR, now=T0)
    assert [o.code for o in ap.list_units(uow, caller=h01, year=YEAR, now=T0)] == ["X1", "X2"]


def test_two_appraisers_sharing_an_item_leave_both_values_in_the_audit(uow):
    first, second = caller(uow, 1, COUNCIL), caller(uow, 2, COUNCIL)
    ap.appraise(uow, caller=first, unit_code="SNV", item_code="1.1", points="1", reason="Thiếu tài liệu", year=YEAR,
                now=T0)
    outcome = ap.appraise(uow, caller=second, unit_code="SNV", item_code="1.1", points="1.5", reason="Có một phần",
                          year=YEAR, now=T0)
    assert (outcome.replaced_by, outcome.replaced_value) == (first.actor, "1")
    trail = [(e.actor, e.old, e.new) for e in audit(uow, "SNV", "1.1") if e.source == "appraised:round1"]
    assert trail == [(first.actor, None, "1"), (second.actor, "1", "1.5")]


def test_accept_the_rest_of_an_area_and_progress(uow):
    council = caller(uow, 1, COUNCIL)
    ap.appraise(uow, caller=council, unit_code="SNV", item_code="1.1", points="1", reason="Thiếu", year=YEAR, now=T0)
    done = ap.accept_rest(uow, caller=council, unit_code="SNV", area_code="1", year=YEAR, now=T0)
    assert [o.item_code for o in done] == ["1.2"]
    view = ap.unit_view(uow, caller=council, unit_code="SNV", year=YEAR, now=T0)
    area1 = next(a for a in view.areas if a.code == "1")
    assert [(i.item.code, i.appraised.points) for i in area1.items] == [("1.1", Decimal(1)), ("1.2", Decimal(1))]
    assert view.status == "in_appraisal"
    overview = {o.code: o for o in ap.list_units(uow, caller=council, year=YEAR, now=T0)}
    assert (overview["SNV"].mine_appraised, overview["SNV"].mine_total, overview["SNV"].appraised) == (2, 2, 2)
    assert overview["STC"].status == "submitted"


def _appraise_all(uow, council, finance, unit="SNV"):
    ap.appraise(uow, caller=council, unit_code=unit, item_code="1.1", points="1", reason="Kế hoạch ban hành chậm",
                year=YEAR, now=T0)
    ap.appraise(uow, caller=council, unit_code=unit, item_code="1.2", points="0", reason="Không có báo cáo quý",
                year=YEAR, now=T0)
    ap.accept_rest(uow, caller=finance, unit_code=unit, area_code="2", year=YEAR, now=T0)


def test_round1_notice_writes_lowered_points_with_the_decimal_comma(uow):
    from parbot.bot.handlers.appraise import render_round1
    from parbot.bot.sender import RenderContext
    from parbot.storage.outbox_sender_repo import OutboxItem

    council, finance = caller(uow, 1, COUNCIL), caller(uow, 2, Grant(Role.OFFICER, "STC"), COUNCIL)
    officer = caller(uow, 3, Grant(Role.OFFICER, "SNV"))
    ap.appraise(uow, caller=council, unit_code="SNV", item_code="1.1", points="1,25", reason="Chậm", year=YEAR, now=T0)
    ap.appraise(uow, caller=council, unit_code="SNV", item_code="1.2", points="0", reason="Thiếu", year=YEAR, now=T0)
    ap.accept_rest(uow, caller=finance, unit_code="SNV", area_code="2", year=YEAR, now=T0)
    ap.close_round(uow, caller=ADMIN, round_no=1, block="so", force=True, year=YEAR, now=T0)
    (notice,) = [r for r in outbox(uow) if r.kind == "appraisal_round1" and r.person_id == officer.person_id]
    with uow:
        text = render_round1(RenderContext(uow=uow, now=T0, tz="Asia/Ho_Chi_Minh"), OutboxItem(
            id=1, key="k", person_id=officer.person_id, chat_id=1, kind="appraisal_round1", payload=notice.payload,
            status="pending", attempts=0, not_before=T0)).text
    # It read "2 → 1.25" with the decimal point, and the provisional total too (4.25/6).
    assert "• 1.1. Kế hoạch CCHC: 2 → 1,25 (Chậm)" in text.splitlines()
    assert "Tổng điểm tạm tính: 4,25/6 (70,83%)" in text.splitlines()


def test_round1_close_queues_the_lowered_items_then_contests_and_round2(uow):
    council, finance = caller(uow, 1, COUNCIL), caller(uow, 2, Grant(Role.OFFICER, "STC"), COUNCIL)
    officer = caller(uow, 3, Grant(Role.OFFICER, "SNV"))
    leader = caller(uow, 4, Grant(Role.UNIT_LEADER, "SNV"))
    _appraise_all(uow, council, finance)
    with pytest.raises(ValidationFailed) as incomplete:
        ap.close_round(uow, caller=ADMIN, round_no=1, block="so", year=YEAR, now=T0)
    assert incomplete.value.problems == ["STC: not appraised: 1.1, 1.2, 2.1, 2.2"]
    with pytest.raises(PermissionDenied):
        ap.close_round(uow, caller=council, round_no=1, block="so", force=True, year=YEAR, now=T0)
    summary = ap.close_round(uow, caller=ADMIN, round_no=1, block="so", force=True, year=YEAR, now=T0)
    assert summary.closed == ("SNV", "STC") and summary.notices == 3  # STC's officer is the finance appraiser
    notices = [r for r in outbox(uow) if r.kind == "appraisal_round1" and r.payload["unit"] == "SNV"]
    assert sorted(r.person_id for r in notices) == sorted([officer.person_id, leader.person_id])
    payload = notices[0].payload
    assert [(i["item"], i["self"], i["appraised"], i["reason"]) for i in payload["lowered"]] == [
        ("1.1", "2", "1", "Kế hoạch ban hành chậm"), ("1.2", "1", "0", "Không có báo cáo quý")]
    _, blocks = period_results(uow, year=YEAR, block="so")
    snv = next(u for u in blocks[0].units if u.unit.code == "SNV")
    assert payload["total"] == "4" == str(snv.total)  # 1 + 0 + 3 + na; no survey yet
    again = ap.close_round(uow, caller=ADMIN, round_no=1, block="so", force=True, year=YEAR, now=T0)
    assert again.notices == 0  # idempotent
    from parbot.bot.handlers.appraise import render_round1
    from parbot.bot.sender import RenderContext
    from parbot.storage.outbox_sender_repo import OutboxItem

    with uow:
        text = render_round1(RenderContext(uow=uow, now=T0, tz="Asia/Ho_Chi_Minh"), OutboxItem(
            id=1, key="k", person_id=officer.person_id, chat_id=1, kind="appraisal_round1", payload=payload,
            status="pending", attempts=0, not_before=T0)).text
    assert text.splitlines()[1:] == [
        # 4 of 6: the survey (max 3) is not known at round 1, so it is out of the maximum (it was 4/9).
        "Tổng điểm tạm tính: 4/6 (66,67%)", "Các mục bị giảm điểm:",
        "• 1.1. Kế hoạch CCHC: 2 → 1 (Kế hoạch ban hành chậm)", "• 1.2. Báo cáo CCHC: 1 → 0 (Không có báo cáo quý)",
        "Đơn vị có thể giải trình bằng lệnh /explain đến 17:00 07/02/2021."]

    # Explanation round: the unit contests two items; appraisers see them first.
    with pytest.raises(PermissionDenied):
        ap.contest(uow, caller=council, unit_code="SNV", item_code="1.1", text="x", year=YEAR, now=IN_EXPLANATION)
    ap.contest(uow, caller=officer, unit_code="SNV", item_code="1.1", text="Kế hoạch 12/KH-SNV ban hành đúng hạn",
               year=YEAR, now=IN_EXPLANATION)
    ap.contest(uow, caller=leader, unit_code="SNV", item_code="1.2", text="Đã gửi báo cáo", year=YEAR,
               now=IN_EXPLANATION)
    assert ap.unit_view(uow, caller=council, unit_code="SNV", year=YEAR,
                        now=IN_EXPLANATION).status == "explanation_open"
    overview = ap.list_units(uow, caller=council, year=YEAR, now=IN_EXPLANATION)
    assert (overview[0].code, overview[0].contested_open) == ("SNV", 2)
    with pytest.raises(DomainError, match="appraisal.explanation_closed"):
        ap.contest(uow, caller=officer, unit_code="SNV", item_code="2.1", text="muộn", year=YEAR, now=AFTER_EXPLANATION)
    view = ap.unit_view(uow, caller=council, unit_code="SNV", year=YEAR, now=AFTER_EXPLANATION)
    assert [i.item.code for i in view.contested] == ["1.1", "1.2"] and view.round == 2
    with pytest.raises(ValidationFailed, match="round_incomplete"):
        ap.close_round(uow, caller=ADMIN, round_no=2, block="so", year=YEAR, now=AFTER_EXPLANATION)
    # The council accepts the self points.
    raised = ap.appraise(uow, caller=council, unit_code="SNV", item_code="1.1", year=YEAR, now=AFTER_EXPLANATION)
    assert (raised.points, raised.round) == (Decimal(2), 2)
    kept = ap.keep(uow, caller=council, unit_code="SNV", item_code="1.2", year=YEAR, now=AFTER_EXPLANATION)
    assert not kept.changed
    assert [e.action for e in audit(uow, "SNV", "1.2")][-2:] == ["contest", "settle"]
    assert ap.unit_view(uow, caller=council, unit_code="SNV", year=YEAR, now=AFTER_EXPLANATION).contested == []
    ap.close_round(uow, caller=ADMIN, round_no=2, block="so", year=YEAR, now=AFTER_EXPLANATION)
    assert ap.unit_view(uow, caller=council, unit_code="SNV", year=YEAR, now=AFTER_EXPLANATION).status == "final"
    with pytest.raises(DomainError, match="appraisal.closed"):
        ap.appraise(uow, caller=council, unit_code="SNV", item_code="1.1", year=YEAR, now=AFTER_EXPLANATION)
    assert [e.source for e in audit(uow, "SNV", "1.1") if e.action == "appraise"] == [
        "appraised:round1", "appraised:round2"]


def test_deadline_sweep_closes_rounds_once(uow):
    from datetime import datetime, timezone

    council, finance = caller(uow, 1, COUNCIL), caller(uow, 2, Grant(Role.OFFICER, "STC"), COUNCIL)
    caller(uow, 3, Grant(Role.OFFICER, "SNV"))
    _appraise_all(uow, council, finance)
    assert ap.close_due_rounds(uow, now=T0) == []
    after = datetime(2021, 2, 1, tzinfo=timezone.utc)
    first = ap.close_due_rounds(uow, now=after)
    assert [s.round for s in first] == [1] and first[0].not_submitted == ("H01", "H02")
    assert first[0].closed == ("SNV", "STC", "X1", "X2", "X3") and first[0].notices == 2  # SNV and STC officers
    again = ap.close_due_rounds(uow, now=after)
    assert again[0].closed == () and again[0].notices == 0


def test_a_refused_contest_file_leaves_nothing_on_disk(uow, tmp_path):
    from parbot.storage.evidence_store import EvidenceStore

    store = EvidenceStore(tmp_path / "evidence")
    officer = caller(uow, 3, Grant(Role.OFFICER, "SNV"))
    ap.close_round(uow, caller=ADMIN, round_no=1, block="so", force=True, year=YEAR, now=T0)
    ap.contest(uow, caller=officer, unit_code="SNV", item_code="1.1", text="Kế hoạch ban hành đúng hạn", year=YEAR,
               now=IN_EXPLANATION)
    refusals = [("1.1", b"%PDF late", AFTER_EXPLANATION, "appraisal.explanation_closed"),
                ("1.2", b"%PDF not contested", IN_EXPLANATION, "appraisal.explanation_closed"),
                ("1.1", b"", IN_EXPLANATION, "evidence.empty")]
    for item, data, when, code in refusals:
        with pytest.raises(DomainError, match=code):
            ap.add_contest_file(uow, caller=officer, store=store, unit_code="SNV", item_code=item, data=data,
                                file_name="kh.pdf", year=YEAR, now=when)
    assert not (tmp_path / "evidence").exists() or not any(p.is_file() for p in (tmp_path / "evidence").rglob("*"))
    ap.add_contest_file(uow, caller=officer, store=store, unit_code="SNV", item_code="1.1", data=b"%PDF on time",
                        file_name="kh.pdf", mime_type="application/pdf", year=YEAR, now=IN_EXPLANATION)
    with uow:
        period = uow.periods.get(YEAR)
        kept = [e for e in uow.evidence.for_unit(period.id, "SNV") if e.purpose == "explanation"]
        state = appraisal_state.of(uow.stages.get(period.id, "SNV"))
    assert [(e.item_code, e.file_name, store.read(e.sha256)) for e in kept] == [("1.1", "kh.pdf", b"%PDF on time")]
    assert state.contest("1.1").evidence_ids == (kept[0].id,)
