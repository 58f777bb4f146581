"""Who sees which results, the published snapshot replayed for charts, and the chart cache."""
from __future__ import annotations

from datetime import timedelta

import pytest


from appraisal_fixtures import ADMIN, T0, YEAR, build  # noqa: E402
from test_publication import fill  # noqa: E402

from parbot.bot.report_replies import ChartCache, lost_text, ranking_caption  # noqa: E402
from parbot.core.errors import DomainError, PermissionDenied  # noqa: E402
from parbot.core.permissions import Caller, Grant, Role  # noqa: E402
from parbot.core.services import publication as pub  # noqa: E402
from parbot.core.services import reporting  # noqa: E402
from parbot.core.services.results import period_results  # noqa: E402
from parbot.storage.db import make_engine, upgrade  # noqa: E402
from parbot.storage.uow import SqlUnitOfWork  # noqa: E402

LEADER = Caller.person(1, (Grant(Role.PROVINCE_LEADER),))
SNV_LEADER = Caller.person(2, (Grant(Role.UNIT_LEADER, "SNV"),))
SNV_OFFICER = Caller.person(3, (Grant(Role.OFFICER, "SNV"),))


@pytest.fixture
def uow(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    upgrade(engine)
    work = SqlUnitOfWork(engine)
    build(work, tmp_path)
    yield work
    engine.dispose()


def test_a_snapshot_replays_to_the_published_results_with_reasons(uow):
    fill(uow)
    (snapshot,) = pub.publish(uow, caller=ADMIN, block="so", year=YEAR)
    with uow:
        block = reporting.block_from_snapshot(uow.periods.get(YEAR), snapshot)
    assert pub.content_hash(pub.canonical(block)) == snapshot.content_hash
    view = reporting.unit_result(uow, caller=SNV_OFFICER, unit_code="SNV", year=YEAR)
    assert [(i.code, i.points, i.reason) for i in view.lost] == [("1.1", 1, "Thiếu tài liệu"), ("3.1.1", 1.5, None)]
    text = "\n".join(lost_text(view, "vi", 4096))
    assert "1.1" in text and "Lý do: Thiếu tài liệu" in text and "1.2" not in text


def test_a_result_is_refused_before_publication_and_for_another_unit(uow):
    fill(uow)
    with pytest.raises(DomainError, match="report.not_published"):
        reporting.unit_result(uow, caller=SNV_OFFICER, unit_code="SNV", year=YEAR)
    pub.publish(uow, caller=ADMIN, block="so", year=YEAR)
    assert reporting.unit_result(uow, caller=SNV_OFFICER, unit_code="SNV", year=YEAR).unit.unit.code == "SNV"
    with pytest.raises(PermissionDenied):
        reporting.unit_result(uow, caller=SNV_OFFICER, unit_code="STC", year=YEAR)
    with pytest.raises(PermissionDenied):
        reporting.unit_result(uow, caller=SNV_OFFICER, unit_code="NOPE", year=YEAR)
    assert reporting.unit_result(uow, caller=LEADER, unit_code="STC", year=YEAR).unit.rank == 1


def test_rankings_for_leaders_live_then_published_and_unit_leaders_only_where_allowed(uow):
    fill(uow)
    live = reporting.ranking(uow, caller=LEADER, block="so", year=YEAR)
    assert not live.published and [u.unit.code for u in live.result.units] == ["STC", "SNV"]
    assert "tạm tính" in ranking_caption(live, "vi")
    with pytest.raises(PermissionDenied):
        reporting.ranking(uow, caller=SNV_LEADER, block="so", year=YEAR)  # the period does not allow it
    with pytest.raises(PermissionDenied):
        reporting.ranking(uow, caller=SNV_OFFICER, block="so", year=YEAR)
    (snapshot,) = pub.publish(uow, caller=ADMIN, block="so", year=YEAR)
    done = reporting.ranking(uow, caller=LEADER, block="so", year=YEAR)
    assert done.published and done.key == snapshot.content_hash and done.key != live.key
    with uow:
        period = uow.periods.get(YEAR)
        allowing = period.__class__(period.id, period.year, period.config.model_copy(
            update={"leaders_see_block_ranking": True}), period.criteria_sets)
        assert reporting.ranking_blocks(uow, allowing, SNV_LEADER.grants) == (["so"], False)
        assert reporting.ranking_blocks(uow, period, SNV_LEADER.grants) == ([], False)
        assert reporting.ranking_blocks(uow, period, LEADER.grants) == (period.blocks, True)


def test_progress_counts_need_the_right_role(uow):
    counts = reporting.progress_counts(uow, caller=LEADER, now=T0, year=YEAR)
    assert counts["Sở, ban, ngành"] == {"not_started": 0, "in_progress": 0, "submitted": 2, "late": 0}
    with pytest.raises(PermissionDenied):
        reporting.progress_counts(uow, caller=SNV_LEADER, now=T0 + timedelta(days=1), year=YEAR)


def test_the_chart_cache_renders_once_per_key_and_stays_bounded():
    cache = ChartCache(size=2)
    calls = []

    def render(name):
        return lambda: calls.append(name) or name.encode()

    assert cache.get(("a",), render("a")) == b"a" and cache.get(("a",), render("a")) == b"a"
    cache.get(("b",), render("b"))
    cache.get(("c",), render("c"))  # evicts the least recently used, "a"
    cache.get(("a",), render("a"))
    assert calls == ["a", "b", "c", "a"] and cache.renders == 4


def test_the_report_uses_snapshots_and_marks_unpublished_blocks_provisional(uow):
    fill(uow)
    pub.publish(uow, caller=ADMIN, block="so", year=YEAR)
    period, blocks, provisional, previous = reporting.report_blocks(uow, year=YEAR)
    assert [b.block for b in blocks] == period.blocks and provisional and previous == {}
    _, (live,) = period_results(uow, year=YEAR, block="so", with_items=True)
    assert next(b for b in blocks if b.block == "so") == live
