"""The administrative imports and the period are written only by an administrator: anyone else is refused before
anything is read or written, whatever their role (the same input then succeeds for an administrator)."""
from __future__ import annotations

import pytest
from appraisal_fixtures import ADMIN, COUNCIL, YEAR, build

from parbot.core.errors import PermissionDenied
from parbot.core.period import load_period
from parbot.core.permissions import Caller, Grant, Role
from parbot.core.services import periods, scores, units
from parbot.core.services.tabular import Row
from parbot.storage.db import make_engine, upgrade
from parbot.storage.uow import SqlUnitOfWork

NOT_ADMINISTRATORS = {
    "officer": Caller.person(1, (Grant(Role.OFFICER, "SNV"),)),
    "unit leader": Caller.person(2, (Grant(Role.UNIT_LEADER, "SNV"),)),
    "appraiser": Caller.person(3, (COUNCIL,)),
    "province leader": Caller.person(4, (Grant(Role.PROVINCE_LEADER),)),
    "no role": Caller.person(5, ()),
}
refused_for_each = pytest.mark.parametrize("caller", NOT_ADMINISTRATORS.values(), ids=NOT_ADMINISTRATORS.keys())


@pytest.fixture
def uow(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'admin.db'}")
    upgrade(engine)
    work = SqlUnitOfWork(engine)
    build(work, tmp_path)
    yield work
    engine.dispose()


def stored(uow):
    """What the refused writes could have touched: scores, units, periods and the audit."""
    with uow:
        period = uow.periods.get(YEAR)
        return (sorted(uow.scores.for_period(period.id), key=lambda s: (s.unit_code, s.item_code, s.source)),
                [(u.code, u.name, u.block, u.parent_code) for u in uow.units.list()],
                period.config, uow.periods.get(YEAR + 1), len(uow.audit.query()))


@refused_for_each
def test_only_an_administrator_imports_scores(uow, caller):
    header = ["unit", "item", "source", "points", "reason"]
    rows = [Row(2, dict(zip(header, ["SNV", "1.1", "appraised", "1.5", "Kế hoạch ban hành chậm"])))]
    before = stored(uow)
    with pytest.raises(PermissionDenied):
        scores.import_scores(uow, caller=caller, year=YEAR, header=header, rows=rows)
    assert stored(uow) == before
    assert scores.import_scores(uow, caller=ADMIN, year=YEAR, header=header, rows=rows) == (1, 1)


@refused_for_each
def test_only_an_administrator_imports_units(uow, caller):
    header = ["code", "name", "block", "parent"]
    rows = [Row(2, {"code": "X4", "name": "Xã Tân Mỹ", "block": "xa", "parent": "H02"})]
    before = stored(uow)
    with pytest.raises(PermissionDenied):
        units.import_units(uow, caller=caller, header=header, rows=rows)
    assert stored(uow) == before
    assert units.import_units(uow, caller=ADMIN, header=header, rows=rows) == (1, 0)


@refused_for_each
def test_only_an_administrator_saves_a_period(uow, tmp_path, caller):
    config, _ = load_period(tmp_path / "period.yaml")  # the one build() saved
    changed = config.model_copy(update={"leader_approval_required": True})
    following = config.model_copy(update={"year": YEAR + 1})
    before = stored(uow)
    for attempt in (changed, following):
        with pytest.raises(PermissionDenied):
            periods.save_period(uow, caller=caller, config=attempt, base=tmp_path)
    assert stored(uow) == before
    assert periods.save_period(uow, caller=ADMIN, config=changed, base=tmp_path).config.leader_approval_required
