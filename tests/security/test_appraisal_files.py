"""The "re-send files" button (verb pe) follows the area assignments: a provincial appraiser does not receive
the files of an area only Sở Tài chính appraises; Sở Tài chính does."""
from __future__ import annotations

import pytest
from appraisal_fixtures import COUNCIL, T0, YEAR, build, person
from callers import person_caller

from parbot.core.errors import DomainError
from parbot.core.model import Evidence
from parbot.core.permissions import Grant, Role
from parbot.core.services import appraisal as ap
from parbot.storage.uow import SqlUnitOfWork


@pytest.fixture
def uow(engine, tmp_path):
    work = SqlUnitOfWork(engine)
    build(work, tmp_path)
    with work:
        period_id = work.periods.current().id
        for item in ("1.1", "2.1"):  # area 1: the council's; area 2: Sở Tài chính's (appraisal_fixtures.PERIOD)
            work.evidence.add(period_id, Evidence(id=None, unit_code="SNV", item_code=item, kind="file",
                                                  sha256=item.replace(".", "") * 32, stored_path="x", size=3,
                                                  file_name=f"{item}.pdf"))
        work.commit()
    return work


def test_files_of_another_bodys_area_are_refused(uow):
    council = person_caller(uow, person(uow, 1, COUNCIL))
    with pytest.raises(DomainError, match="appraisal.area_not_assigned") as info:
        ap.evidence_files(uow, caller=council, unit_code="SNV", item_code="2.1", year=YEAR, now=T0)
    assert info.value.params == {"unit": "SNV", "area": "2"}
    assert [e.file_name for e in ap.evidence_files(uow, caller=council, unit_code="SNV", item_code="1.1",
                                                   year=YEAR, now=T0)] == ["1.1.pdf"]


def test_the_assigned_body_receives_them(uow):
    finance = person_caller(uow, person(uow, 2, Grant(Role.OFFICER, "STC"), COUNCIL))
    assert [e.file_name for e in ap.evidence_files(uow, caller=finance, unit_code="SNV", item_code="2.1",
                                                   year=YEAR, now=T0)] == ["2.1.pdf"]
