"""Storage on SQLite (a real file) and PostgreSQL: schema, exactness, all-or-nothing imports, constraints."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from callers import ADMIN
from openpyxl import Workbook
from sqlmodel import SQLModel

from parbot.core.errors import DomainError, ValidationFailed
from parbot.core.model import Score
from parbot.core.services import periods, scores, units
from parbot.i18n import render
from parbot.storage.files import read_table
from tests.conftest import DATA


def test_migrations_match_the_tables(engine):
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                SQLModel.metadata)
    assert diff == [], "run python -m parbot.storage.regenerate_initial_migration"


def test_upgrade_is_idempotent(engine):
    from alembic.script import ScriptDirectory

    from parbot.storage.db import alembic_config, current_revision, upgrade

    upgrade(engine)
    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    assert head is not None and current_revision(engine) == head


def import_units(uow, path):
    header, rows = read_table(path)
    return units.import_units(uow, caller=ADMIN, header=header, rows=rows)


def _setup(uow, tmp_path):
    periods.create_from_file(uow, caller=ADMIN, path=DATA / "binhduong-2017-period.yaml")
    (tmp_path / "u.csv").write_text("code,name,block\nA,Huyện A,huyen\nB,Huyện B,huyen\n", encoding="utf-8")
    import_units(uow, tmp_path / "u.csv")


def test_points_stay_exact_decimals(uow, tmp_path):
    _setup(uow, tmp_path)
    with uow:
        period = uow.periods.get(2017)
        for value, unit in ((Decimal("0.1"), "A"), (Decimal("0.2"), "B")):
            scores.put_score(uow, period, Score(unit, "TD.1", "appraised", value), "test")
        uow.commit()
    with uow:
        stored = uow.scores.for_period(uow.periods.get(2017).id)
    assert sum(s.points for s in stored) == Decimal("0.3")
    assert all(isinstance(s.points, Decimal) for s in stored)


def test_times_come_back_aware_in_utc(uow, tmp_path):
    _setup(uow, tmp_path)
    moment = datetime(2020, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=7)))
    with uow:
        period = uow.periods.get(2017)
        scores.put_score(uow, period, Score("A", "TD.1", "self", Decimal(1), at=moment), "test")
        uow.commit()
    with uow:
        (stored,) = uow.scores.for_period(uow.periods.get(2017).id)
    assert stored.at == moment and stored.at.utcoffset() == timedelta(0)


def test_leaving_without_commit_rolls_back(uow, tmp_path):
    _setup(uow, tmp_path)
    with pytest.raises(RuntimeError):
        with uow:
            scores.put_score(uow, uow.periods.get(2017), Score("A", "TD.1", "self", Decimal(1)), "test")
            raise RuntimeError("crash before commit")
    with uow:
        assert uow.scores.for_period(uow.periods.get(2017).id) == []
        assert uow.audit.query() == []


def test_unit_import_refuses_every_bad_row_and_writes_nothing(uow, tmp_path):
    _setup(uow, tmp_path)
    (tmp_path / "bad.csv").write_text(
        "code,name,block,parent,valid_from,valid_to,predecessors\n"
        "C,Xã C,huyen,A,2020,,\n"  # fine
        "C,Xã C lặp,huyen,,2020,,\n"  # repeated code and year
        "D,,huyen,,,,\n"  # empty name
        "E,Xã E,nowhere,,,,\n"  # unknown block
        "F,Xã F,huyen,ZZ,,,\n"  # unknown parent
        "G,Xã G,huyen,,2021,2020,\n"  # inverted validity
        "H,Xã H,huyen,,,,A;QQ\n"  # unknown predecessor
        "Ý,Xã Ý,huyen,,,,\n", encoding="utf-8")  # non-ASCII code
    with pytest.raises(ValidationFailed) as refused:
        import_units(uow, tmp_path / "bad.csv")
    problems = "\n".join(refused.value.problems)
    for expected in ("row 3, column “code”: code C repeats row 2", "row 4, column “name”: the cell is empty",
                     "row 5, column “block”: block 'nowhere'", "row 6, column “parent”: ZZ",
                     "row 7, column “valid_to”: valid_to 2020 is before valid_from 2021",
                     "row 8, column “predecessors”: QQ", "row 9, column “code”: code 'Ý'"):
        assert expected in problems
    vietnamese = [render(p, "vi") for p in refused.value.problems]
    assert "dòng 3, cột “code”: mã C trùng với dòng 2" in vietnamese and "dòng 4, cột “name”: ô trống" in vietnamese
    with uow:
        assert [u.code for u in uow.units.list()] == ["A", "B"]


def test_units_from_xlsx_with_versions_and_predecessors(uow, tmp_path):
    _setup(uow, tmp_path)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["code", "name", "block", "valid_from", "predecessors"])
    sheet.append(["AB", "Huyện A-B (sáp nhập)", "huyen", 2025, "A;B"])
    workbook.save(tmp_path / "u.xlsx")
    assert import_units(uow, tmp_path / "u.xlsx") == (1, 0)
    with uow:
        merged = uow.units.get("AB")
        assert merged.predecessors == ("A", "B") and merged.valid_from == 2025
        assert [u.code for u in uow.units.list(year=2017)] == ["A", "B"]


def test_changing_a_period_criteria_set_after_scoring_is_refused(uow, tmp_path):
    _setup(uow, tmp_path)
    with uow:
        scores.put_score(uow, uow.periods.get(2017), Score("A", "TD.1", "self", Decimal(1)), "test")
        uow.commit()
    changed = tmp_path / "changed.yaml"
    changed.write_text((DATA / "binhduong-2017.yaml").read_text(encoding="utf-8").replace(
        "code: BD-2017-HUYEN", "code: BD-2017-HUYEN\nversion: 2").replace("step: 0.05", "step: 0.25"), encoding="utf-8")
    (tmp_path / "p.yaml").write_text((DATA / "binhduong-2017-period.yaml").read_text(encoding="utf-8").replace(
        "binhduong-2017.yaml", str(changed)), encoding="utf-8")
    with pytest.raises(DomainError) as refused:
        periods.create_from_file(uow, caller=ADMIN, path=tmp_path / "p.yaml")
    assert refused.value.code == "period.criteria_locked"


def test_same_code_and_version_with_other_content_is_refused(uow, tmp_path):
    _setup(uow, tmp_path)
    edited = tmp_path / "edited.yaml"
    edited.write_text((DATA / "binhduong-2017.yaml").read_text(encoding="utf-8").replace("step: 0.05", "step: 0.25"),
                      encoding="utf-8")
    (tmp_path / "p.yaml").write_text("year: 2018\ncriteria: {huyen: %s}\ndeadlines:\n"
                                     "  self_assessment_opens: 2018-12-01T08:00:00+07:00\n"
                                     "  self_assessment_closes: 2019-01-15T17:00:00+07:00\n" % edited, encoding="utf-8")
    with pytest.raises(DomainError) as refused:
        periods.create_from_file(uow, caller=ADMIN, path=tmp_path / "p.yaml")
    assert refused.value.code == "criteria.version_conflict"


def test_period_file_problems_name_the_line(uow, tmp_path):
    (tmp_path / "p.yaml").write_text("year: 2020\ncriteria: {so: 2020-so.yaml}\ndeadlines:\n"
                                     "  self_assessment_opens: 2020-12-20T08:00:00+07:00\n"
                                     "  self_assessment_closes: 2020-12-01T17:00:00\n"
                                     "colour: red\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as refused:
        periods.create_from_file(uow, caller=ADMIN, path=tmp_path / "p.yaml")
    text = "\n".join(map(str, refused.value.problems))  # Problems, which the CLI renders in the reader's language
    assert "p.yaml:5: deadlines.self_assessment_closes" in text and "time zone" in text
    assert "p.yaml:6: colour: unknown key" in text


def test_outbox_key_is_unique_across_transactions(uow):
    with uow:
        assert uow.outbox.enqueue("2020/self/A/1/remind/2020-12-24", None, 42, "reminder", {})
        uow.commit()
    with uow:
        assert not uow.outbox.enqueue("2020/self/A/1/remind/2020-12-24", None, 42, "reminder", {})
        assert uow.outbox.enqueue("2020/self/A/1/remind/2020-12-27", None, 42, "reminder", {})
        uow.commit()


def test_a_unit_moving_block_keeps_its_earlier_years(uow, tmp_path):
    """Since July 2025 departments merge and move to the new block; 2020's registry must not change."""
    from parbot.core.model import Block

    with uow:
        for code in ("so", "tinh"):
            uow.blocks.upsert(Block(code, code))
        uow.commit()
    (tmp_path / "2020.csv").write_text("code,name,block,valid_from\nSNV,Sở Nội vụ,so,2020\nSKH,Sở KH&ĐT,so,2020\n",
                                       encoding="utf-8")
    (tmp_path / "2025.csv").write_text("code,name,block,valid_from,predecessors\n"
                                       "SNV,Sở Nội vụ,tinh,2025,\nSTC,Sở Tài chính,tinh,2025,SKH\n", encoding="utf-8")
    assert import_units(uow, tmp_path / "2020.csv") == (2, 0)
    assert import_units(uow, tmp_path / "2025.csv") == (2, 0)
    assert import_units(uow, tmp_path / "2025.csv") == (0, 2)  # re-import updates in place
    with uow:
        assert uow.units.get("SNV", 2020).block == "so" and uow.units.get("SNV", 2025).block == "tinh"
        assert [u.code for u in uow.units.list(block="so", year=2020)] == ["SKH", "SNV"]
        assert [u.code for u in uow.units.list(block="tinh", year=2025)] == ["SNV", "STC"]
        assert uow.units.list(block="so", year=2025) == []  # the open 2020 version was closed at 2024
        assert [(v.valid_from, v.valid_to) for v in uow.units.versions("SNV")] == [(2020, 2024), (2025, None)]
