"""Survey import: items or components, points or weighted answer counts, all rows or none."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, strategies as st


from appraisal_fixtures import YEAR, build  # noqa: E402

from parbot.core.errors import DomainError, PermissionDenied, ValidationFailed  # noqa: E402
from parbot.core.permissions import Caller, Grant, Role  # noqa: E402
from parbot.core.services.survey import distribute, import_survey, parse_weights  # noqa: E402
from parbot.core.services.tabular import Row  # noqa: E402
from parbot.storage.db import make_engine, upgrade  # noqa: E402
from parbot.storage.uow import SqlUnitOfWork  # noqa: E402

ADMIN = Caller.admin("cli:survey")


@pytest.fixture
def uow(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    upgrade(engine)
    work = SqlUnitOfWork(engine)
    build(work, tmp_path)
    yield work
    engine.dispose()


def rows(header, *records):
    return header, [Row(n, dict(zip(header, r))) for n, r in enumerate(records, start=2)]


def survey_points(uow, unit):
    with uow:
        period = uow.periods.get(YEAR)
        return {s.item_code: s.points for s in uow.scores.for_period(period.id, [unit]) if s.source == "survey"}


def test_points_per_item_and_per_component(uow):
    header, data = rows(["unit", "item", "points"], ["SNV", "3.1.1", "1,5"], ["SNV", "3.1.2", "1"],
                        ["STC", "3", "2"], ["X1", "3.1", "2.5"])
    assert import_survey(uow, caller=ADMIN, header=header, rows=data, year=YEAR) == (4, 6)
    assert survey_points(uow, "SNV") == {"3.1.1": Decimal("1.5"), "3.1.2": Decimal(1)}
    # 2 points over maxima 2 and 1 → 4/3 and 2/3: cents by largest remainder, adding up to 2.
    assert survey_points(uow, "STC") == {"3.1.1": Decimal("1.33"), "3.1.2": Decimal("0.67")}
    assert survey_points(uow, "X1") == {"3.1.1": Decimal("1.67"), "3.1.2": Decimal("0.83")}
    with uow:
        entry = uow.audit.query(uow.periods.get(YEAR).id, "SNV", "3.1.1")[-1]
    assert (entry.action, entry.source, entry.new, entry.actor) == ("survey", "survey", "1.5", "cli:survey")


def test_answer_counts_with_option_weights(uow):
    header, data = rows(["unit", "item", "count_a", "count_b", "count_c", "count_d"],
                        ["SNV", "3.1.1", "6", "2", "1", "1"], ["SNV", "3.1.2", "0", "0", "0", "5"])
    import_survey(uow, caller=ADMIN, header=header, rows=data, year=YEAR)
    # (6×100 + 2×60 + 1×20 + 1×0) / (100 × 10) = 0.74 of 2 points.
    assert survey_points(uow, "SNV") == {"3.1.1": Decimal("1.48"), "3.1.2": Decimal(0)}
    header, data = rows(["unit", "item", "count_tot", "count_kem"], ["STC", "3", "3", "1"])
    import_survey(uow, caller=ADMIN, header=header, rows=data, year=YEAR, weights=parse_weights("TOT=100, KEM=0"))
    assert survey_points(uow, "STC") == {"3.1.1": Decimal("1.5"), "3.1.2": Decimal("0.75")}


def test_every_bad_row_is_listed_and_nothing_written(uow):
    header, data = rows(["unit", "item", "points", "count_a", "count_d"],
                        ["SNV", "3.1.1", "1", "", ""],     # fine
                        ["SNV", "1.1", "1", "", ""],       # self-assessed item
                        ["SNV", "3.1.2", "1.5", "", ""],   # above the maximum 1
                        ["ZZZ", "3.1.1", "1", "", ""],     # unknown unit
                        ["STC", "3", "", "x", "1"],        # not a count
                        ["STC", "3.1.1", "", "0", "0"],    # no answers
                        ["SNV", "3", "2", "", ""],         # repeats 3.1.1 through its component
                        ["X1", "3.1.1", "1", "1", ""])     # both
    with pytest.raises(ValidationFailed) as refused:
        import_survey(uow, caller=ADMIN, header=header, rows=data, year=YEAR)
    assert refused.value.problems == [
        "row 3: item 1.1 is self-assessed: it takes no survey points",
        "row 4, column “points”: points 1.5 outside 0 … 1 for 3.1.2",
        "row 5: unit 'ZZZ' is not assessed in 2020",
        "row 6: count_a 'x' is not a whole number of answers",
        "row 7: no answers counted",
        "row 8: item 3.1.1 of SNV is already given in row 2",
        "row 9: give points or answer counts, not both",
    ]
    assert survey_points(uow, "SNV") == {}


def test_survey_points_finer_than_the_set_are_refused(uow):
    # The set keeps points at 2 decimals, so a shown total stays the sum of its shown parts.
    header, data = rows(["unit", "item", "points"], ["SNV", "3.1.1", "1.505"])
    with pytest.raises(ValidationFailed) as refused:
        import_survey(uow, caller=ADMIN, header=header, rows=data, year=YEAR)
    assert refused.value.problems == ["row 2, column “points”: points 1.505 have more than 2 decimals, the "
                                      "criteria set's points_decimals"]


def test_refusals_before_reading_rows(uow):
    with pytest.raises(ValidationFailed) as refused:
        import_survey(uow, caller=ADMIN, header=["unit", "item", "count_e"], rows=[], year=YEAR)
    assert refused.value.problems == ["column 'count_e': option E has no weight (weights: A, B, C, D)"]
    with pytest.raises(PermissionDenied):
        import_survey(uow, caller=Caller.person(9, (Grant(Role.APPRAISER, block="so"),)),
                      header=["unit", "item", "points"], rows=[], year=YEAR)
    with pytest.raises(DomainError, match="survey.bad_weights"):
        parse_weights("A=120")


@given(st.decimals(min_value=0, max_value=1000, places=2),
       st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=6))
def test_distribution_adds_up_and_follows_the_maxima(total, maxima):
    parts = distribute(total, [Decimal(m) / 4 for m in maxima])
    assert sum(parts) == total
    for part, m in zip(parts, maxima):
        exact = total * (Decimal(m) / 4) / (sum(Decimal(x) for x in maxima) / 4)
        assert abs(part - exact) < Decimal("0.01")
