"""Publication: completeness, immutable snapshots with a content hash, audited revisions, notices."""
from __future__ import annotations


import pytest
from sqlmodel import select


from appraisal_fixtures import ADMIN, SELF, YEAR, build, person  # noqa: E402

from parbot.core.errors import DomainError, PermissionDenied, ValidationFailed  # noqa: E402
from parbot.core.permissions import Caller, Grant, Role  # noqa: E402
from parbot.core.services import publication as pub  # noqa: E402
from parbot.core.services.results import period_results  # noqa: E402
from parbot.core.services.scores import import_scores  # noqa: E402
from parbot.core.services.tabular import Row  # noqa: E402
from parbot.storage.db import make_engine, upgrade  # noqa: E402
from parbot.storage.tables import OutboxRow, SnapshotRow  # noqa: E402
from parbot.storage.uow import SqlUnitOfWork  # noqa: E402

HEADER = ["unit", "item", "source", "points", "reason"]


@pytest.fixture
def uow(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    upgrade(engine)
    work = SqlUnitOfWork(engine)
    build(work, tmp_path)
    yield work
    engine.dispose()


def fill(uow, units=("SNV", "STC"), survey=True):
    """Appraised points (1.1 lowered for SNV) and survey points for the so units."""
    rows = []
    for unit in units:
        for item, text in SELF.items():
            lowered = unit == "SNV" and item == "1.1"
            rows.append([unit, item, "appraised", "1" if lowered else text,
                         "Thiếu tài liệu" if lowered else ""])
        if survey:
            rows += [[unit, "3.1.1", "survey", "1.5" if unit == "SNV" else "2", ""], [unit, "3.1.2", "survey", "1", ""]]
    import_scores(uow, caller=ADMIN, year=YEAR, header=HEADER,
                  rows=[Row(n, dict(zip(HEADER, r))) for n, r in enumerate(rows, 2)])


def outbox(uow):
    with uow:
        return [(r.kind, r.person_id, r.payload) for r in uow.session.exec(select(OutboxRow).order_by(OutboxRow.id))]


def test_refuses_until_complete_and_lists_what_is_missing(uow):
    fill(uow, units=("SNV",), survey=False)
    with pytest.raises(ValidationFailed) as refused:
        pub.publish(uow, caller=ADMIN, block="so", year=YEAR)
    assert refused.value.problems == ["so: SNV: survey points missing for 2 item(s)",
                                      "so: STC: 4 item(s) not appraised",
                                      "so: STC: survey points missing for 2 item(s)"]
    with pytest.raises(PermissionDenied):
        pub.publish(uow, caller=Caller.person(1, (Grant(Role.PROVINCE_LEADER),)), block="so", year=YEAR)
    with uow:
        assert uow.snapshots.history(uow.periods.get(YEAR).id) == []


def test_publish_freezes_what_results_show_and_queues_notices(uow):
    officer = person(uow, 11, Grant(Role.OFFICER, "SNV"))
    leader = person(uow, 12, Grant(Role.PROVINCE_LEADER))
    fill(uow)
    (snapshot,) = pub.publish(uow, caller=ADMIN, block="so", year=YEAR)
    assert (snapshot.block, snapshot.revision, snapshot.published_by) == ("so", 1, "cli:chair")
    assert snapshot.content_hash == pub.content_hash(snapshot.results)
    _, (live,) = period_results(uow, year=YEAR, block="so")
    frozen = {u["code"]: (u["rank"], u["total"], u["index"]) for u in snapshot.results["units"]}
    assert frozen == {u.unit.code: (u.rank, str(u.total), f"{u.index:.2f}") for u in live.units}
    assert frozen == {"STC": (1, "9", "100.00"), "SNV": (2, "7.5", "83.33")}  # maxima 9 (2.2 not applicable)
    notices = outbox(uow)
    assert [(k, p) for k, p, _ in notices] == [("result_notice", officer), ("ranking", leader)]
    assert (notices[0][2]["code"], notices[0][2]["total"], notices[0][2]["rank"]) == ("SNV", "7.5", 2)
    assert [r["code"] for r in notices[1][2]["rows"]] == ["STC", "SNV"]
    with pytest.raises(DomainError, match="publish.already_published"):
        pub.publish(uow, caller=ADMIN, block="so", year=YEAR)


def test_a_revision_needs_a_reason_and_a_change_and_is_audited(uow):
    fill(uow)
    pub.publish(uow, caller=ADMIN, block="so", year=YEAR)
    with pytest.raises(DomainError, match="publish.reason_required"):
        pub.publish(uow, caller=ADMIN, block="so", revise=True, year=YEAR)
    with pytest.raises(DomainError, match="publish.unchanged"):
        pub.publish(uow, caller=ADMIN, block="so", revise=True, reason="Kiểm tra lại", year=YEAR)
    import_scores(uow, caller=ADMIN, year=YEAR, header=HEADER,
                  rows=[Row(2, dict(zip(HEADER, ["SNV", "1.1", "appraised", "2", ""])))])
    (second,) = pub.publish(uow, caller=ADMIN, block="so", revise=True, reason="Quyết định phúc khảo số 5", year=YEAR)
    assert second.revision == 2
    first, latest = pub.snapshots(uow, year=YEAR, block="so")
    assert first.results["units"][1]["total"] == "7.5" and latest.results["units"][0]["total"] == "9"
    with uow:
        trail = [(e.action, e.old is None, e.reason) for e in uow.audit.query(uow.periods.get(YEAR).id)
                 if e.source == "snapshot:so"]
        rows = uow.session.exec(select(SnapshotRow.revision, SnapshotRow.content_hash)).all()
    assert trail == [("publish", True, None), ("revise", False, "Quyết định phúc khảo số 5")]
    assert sorted(r[0] for r in rows) == [1, 2] and rows[0][1] != rows[1][1]


def test_canonical_json_hash_ignores_decimal_spelling(uow):
    fill(uow)
    _, (result,) = period_results(uow, year=YEAR, block="so", with_items=True)
    data = pub.canonical(result)
    assert pub.content_hash(data) == pub.content_hash(dict(reversed(list(data.items()))))
    assert data["units"][0]["items"][0] == {"code": "1.1", "area": "1", "self": "2", "appraised": "2", "points": "2",
                                            "maximum": "2", "not_applicable": False, "reason": None}

