"""The period and its criteria sets are cached per process by content: a turn reuses the parsed objects, and
a changed period (saved here or written by another process) is seen by the next transaction."""
from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa
from callers import ADMIN

from parbot.core.period import PeriodConfig
from parbot.core.services import periods
from parbot.storage import uow as uow_module
from tests.conftest import DATA

SET = (DATA / "binhduong-2017.yaml").read_text(encoding="utf-8")
PERIOD = (DATA / "binhduong-2017-period.yaml").read_text(encoding="utf-8")


@pytest.fixture
def parses(monkeypatch):
    """How often stored YAML and stored period configs are parsed."""
    counts = {"criteria": 0, "config": 0}
    parse = uow_module.parse_criteria_set

    def counting_parse(*args, **kwargs):
        counts["criteria"] += 1
        return parse(*args, **kwargs)

    class CountingConfig(PeriodConfig):
        @classmethod
        def model_validate_json(cls, *args, **kwargs):
            counts["config"] += 1
            return PeriodConfig.model_validate_json(*args, **kwargs)

    monkeypatch.setattr(uow_module, "parse_criteria_set", counting_parse)
    monkeypatch.setattr(uow_module, "PeriodConfig", CountingConfig)
    return counts


def _write(tmp_path, *, version: int, title: str, tie_rule: str = "competition"):
    """A period file naming a set of its own: a title never seen makes a content hash new to this process."""
    (tmp_path / "set.yaml").write_text(
        SET.replace("year: 2017\n", f"year: 2017\nversion: {version}\n", 1).replace(
            "title: Bình Dương 2017", f"title: {title}", 1), encoding="utf-8")
    (tmp_path / "period.yaml").write_text(
        PERIOD.replace("binhduong-2017.yaml", "set.yaml").replace("tie_rule: competition", f"tie_rule: {tie_rule}"),
        encoding="utf-8")
    return tmp_path / "period.yaml"


def _current(uow):
    with uow:
        return periods.get_period(uow, None)


def test_an_unchanged_period_is_reused_without_parsing(uow, tmp_path, parses):
    title = f"Bộ thử {uuid.uuid4().hex}"
    periods.create_from_file(uow, caller=ADMIN, path=_write(tmp_path, version=1, title=title))
    first = _current(uow)
    parses.update(criteria=0, config=0)
    again = [_current(uow) for _ in range(3)]
    with uow:
        by_year = uow.periods.get(2017)
    assert all(p is first for p in again) and by_year is first
    assert first.criteria_sets["huyen"].spec.title.startswith(title)
    assert parses == {"criteria": 0, "config": 0}


def test_a_saved_change_is_seen_by_the_next_transaction(uow, tmp_path, parses):
    periods.create_from_file(uow, caller=ADMIN, path=_write(tmp_path, version=1, title=f"Cũ {uuid.uuid4().hex}"))
    before = _current(uow)
    new_title = f"Mới {uuid.uuid4().hex}"
    periods.create_from_file(uow, caller=ADMIN, path=_write(tmp_path, version=2, title=new_title, tie_rule="dense"))
    after = _current(uow)
    assert after.criteria_sets["huyen"].spec.title.startswith(new_title) and after.criteria_sets["huyen"].spec.version == 2
    assert after.config.tie_rule != before.config.tie_rule and after.config.tie_rule == "dense"
    # The set saved was parsed from its file: storing it never makes the process parse its YAML again.
    assert parses["criteria"] == 0
    parses.update(config=0)
    assert _current(uow) is after and parses["config"] == 0


def test_a_change_written_by_another_process_is_seen(uow, engine, tmp_path, parses):
    periods.create_from_file(uow, caller=ADMIN, path=_write(tmp_path, version=1, title=f"Bộ {uuid.uuid4().hex}"))
    before = _current(uow)
    config = before.config.model_dump(mode="json") | {"tie_rule": "dense"}
    with engine.begin() as connection:  # what another process's `parbot period update` leaves behind
        connection.execute(sa.text("UPDATE period SET config = :config WHERE year = 2017"),
                           {"config": json.dumps(config)})
    parses.update(config=0)
    after = _current(uow)
    assert after.config.tie_rule == "dense" and after.criteria_sets == before.criteria_sets
    assert parses["config"] == 1
