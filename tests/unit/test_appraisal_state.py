"""The appraisal record: one typed layout written, the first (untyped) layout still read."""
from datetime import datetime, timedelta, timezone

import pytest

from parbot.core import appraisal_state, reminders
from parbot.core.model import Contest, UnitStage

AT = datetime(2026, 1, 20, 17, tzinfo=timezone(timedelta(hours=7)))
FIRST_LAYOUT = {"round1_closed_at": AT.isoformat(), "round1_closed_by": "admin",
                "contests": {"1.2": {"text": "Đã gửi báo cáo", "by": "person:7", "at": (AT + timedelta(days=2)).isoformat(),
                                     "evidence": [4, 9], "settled_by": "person:3",
                                     "settled_at": (AT + timedelta(days=9)).isoformat()},
                             "1.1": {"text": "Kế hoạch", "by": "person:7", "at": (AT + timedelta(days=1)).isoformat()}}}


def test_the_first_layout_is_read_as_typed_state():
    state = appraisal_state.of(UnitStage("SNV", state={"appraisal": FIRST_LAYOUT, "other": 1}))
    assert (state.closed_at(1), state.closed_at(2), state.round, state.in_explanation_round) == (AT, None, 2, True)
    assert state.contest("1.2") == Contest("1.2", "Đã gửi báo cáo", "person:7", AT + timedelta(days=2), (4, 9),
                                           "person:3", AT + timedelta(days=9))
    assert [c.item_code for c in state.open_contests] == ["1.1"]


def test_written_state_carries_its_version_keeps_other_flags_and_reads_back():
    stage = UnitStage("SNV", state={"appraisal": FIRST_LAYOUT, "other": 1})
    state = appraisal_state.of(stage).closing(2, AT + timedelta(days=10), "admin")
    written = appraisal_state.with_state(stage, state)
    assert written.state["appraisal"]["version"] == appraisal_state.VERSION and written.state["other"] == 1
    assert appraisal_state.of(written) == state and state.round is None
    assert stage.state["appraisal"] is FIRST_LAYOUT  # the stage read is not changed


def test_a_new_contest_of_an_item_replaces_its_earlier_one():
    state = appraisal_state.parse(FIRST_LAYOUT)
    again = state.with_contest(Contest("1.1", "Bổ sung", "person:8", AT + timedelta(days=3)))
    assert [(c.item_code, c.text) for c in again.contests] == [("1.2", "Đã gửi báo cáo"), ("1.1", "Bổ sung")]


def test_an_unknown_version_is_refused_rather_than_read_as_open_rounds():
    with pytest.raises(ValueError, match="version"):
        appraisal_state.parse({"version": 99, "closed": [], "contests": []})


def test_reminders_read_the_explanation_stage_from_either_layout():
    for raw in (FIRST_LAYOUT, appraisal_state.dump(appraisal_state.parse(FIRST_LAYOUT))):
        stage = UnitStage("SNV", state={"appraisal": raw})
        assert reminders.expected("explanation", stage)
        assert reminders.submitted_at("explanation", stage) == AT + timedelta(days=1)
