"""Evidence must show something: a reference or explanation of blanks and invisible characters, or an empty
file, never satisfies "evidence required" — refused when typed, and ignored if such a record is stored."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from callers import ADMIN, person_caller

from parbot.core.errors import DomainError
from parbot.core.model import Evidence, Unit
from parbot.core.period import Deadlines, PeriodConfig
from parbot.core.services import assessment as svc
from parbot.core.services import people, periods
from parbot.i18n import error_text
from parbot.storage.evidence_store import EvidenceStore

OPENS = datetime(2020, 12, 1, 1, 0, tzinfo=timezone.utc)
NOW = OPENS + timedelta(days=3)
ITEM = "1.1.1"  # evidence required in the 2020 commune set
BLANKS = ["\u200b" * 12, "\u3164" * 12, "\u2800" * 12, "\u00a0\u3000\u2003" * 4, "\u115f\u1160\uffa0" * 4,
          "\u034f\u0301" * 6, "\u200d\u2060\ufeff" * 4, "\t\n " * 4]


@pytest.fixture
def officer(uow):
    config = PeriodConfig(year=2020, criteria={"xa": "2020-xa.yaml"},
                          deadlines=Deadlines(self_assessment_opens=OPENS, self_assessment_closes=OPENS + timedelta(days=40)))
    periods.save_period(uow, caller=ADMIN, config=config)
    with uow:
        uow.units.upsert(Unit("X1", "Xã X1", "xa"))
        uow.commit()
    code, _ = people.create_invite(uow, caller=ADMIN, role="officer", expires_in=timedelta(days=30), now=OPENS,
                                   unit_code="X1")
    person = people.accept_invite(uow, code, telegram_id=100, chat_id=None, name="Lan", now=OPENS)[0]
    caller = person_caller(uow, person.id)
    svc.record_answer(uow, caller=caller, unit_code="X1", item_code=ITEM, raw={"option": "on_time"}, now=NOW)
    return caller


def needs_evidence(uow, caller) -> bool:
    over = svc.overview(uow, caller=caller, unit_code="X1", now=NOW)
    return over.needs_evidence(over.ws.period.criteria_for("xa").items[ITEM]) and ITEM in over.progress.missing_evidence


@pytest.mark.parametrize("text", BLANKS, ids=lambda t: f"U+{ord(t[0]):04X}")
def test_invisible_references_and_explanations_are_refused(uow, officer, text):
    for service in (svc.add_reference, svc.set_explanation):
        with pytest.raises(DomainError) as info:
            service(uow, caller=officer, unit_code="X1", item_code=ITEM, text=text, now=NOW)
        assert info.value.code == "text.invisible" and "ký tự ẩn" in error_text(info.value, "vi")
    with uow:
        assert uow.evidence.for_unit(uow.periods.current().id, "X1") == []
    assert needs_evidence(uow, officer)


def test_a_zero_byte_file_is_refused(uow, officer, tmp_path):
    with pytest.raises(DomainError, match="evidence.empty"):
        svc.add_evidence_file(uow, caller=officer, store=EvidenceStore(tmp_path), unit_code="X1", item_code=ITEM,
                              data=b"", file_name="empty.pdf", mime_type="application/pdf", now=NOW)
    assert needs_evidence(uow, officer)


@pytest.mark.parametrize("record", [
    Evidence(id=None, unit_code="X1", item_code=ITEM, kind="file", sha256="e3b0c442" * 8, stored_path="e3/b0/x",
             size=0, mime_type="application/pdf", file_name="empty.pdf"),
    Evidence(id=None, unit_code="X1", item_code=ITEM, kind="reference", reference="\u3164\u2800\u200b"),
], ids=["empty-file", "blank-reference"])
def test_stored_records_that_show_nothing_do_not_count(uow, officer, record):
    with uow:
        uow.evidence.add(uow.periods.current().id, record)
        uow.commit()
    assert needs_evidence(uow, officer)


def test_a_readable_reference_still_counts(uow, officer):
    svc.add_reference(uow, caller=officer, unit_code="X1", item_code=ITEM, text="\u3164 15/KH-UBND", now=NOW)
    assert not needs_evidence(uow, officer)
