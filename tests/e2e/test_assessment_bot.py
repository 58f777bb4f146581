"""The officer's whole self-assessment through the real bot (polling the Bot API emulator)."""
from __future__ import annotations


import pytest
from e2e_support import rows, join
from helpers import complete, expected_points, screen

from parbot.core.decimals import ZERO, fmt
from parbot.core.services.assessment import sequence
from parbot.i18n import t
from parbot.storage.tables import AuditRow, EvidenceRow, ScoreRow, UnitStageRow
from parbot.storage.uow import SqlUnitOfWork

pytestmark = pytest.mark.e2e


def criteria_of(engine, block: str):
    with SqlUnitOfWork(engine) as uow:
        return uow.periods.current().criteria_for(block)


@pytest.mark.parametrize("unit,block", [("SNV", "so"), ("H02", "huyen"), ("X0101", "xa")])
async def test_officer_completes_a_shipped_set_and_submits(bot, emulator_server, engine, unit, block):
    criteria = criteria_of(engine, block)
    officer = await join(emulator_server, engine, 7001, "Lan", "officer", unit)
    officer.press(screen(officer).button_texts[0][0])  # area 1
    await officer.wait_for_reply()
    assert await complete(officer, criteria) == len(sequence(criteria))
    assert screen(officer).text.startswith(t("assess.review.final", "vi"))

    items = sequence(criteria)
    scores = {s.item_code: s for s in rows(engine, ScoreRow, unit_code=unit, source="self")}
    assert set(scores) == {i.code for i in items}
    for item in items:
        assert scores[item.code].points == expected_points(item, block), item.code
    assert len(rows(engine, EvidenceRow, unit_code=unit)) == sum(i.evidence == "required" for i in items)

    officer.send_command("status")
    (status,) = await officer.wait_for_reply()
    total = sum((expected_points(i, block) for i in items), ZERO)
    assert f"{len(items)}/{len(items)}" in status.text and f"{fmt(total, decimal_comma=True)}/" in status.text

    officer.press(t("button.submit", "vi"))
    await officer.wait_for_reply()
    assert t("assess.submit.confirm", "vi") in screen(officer).text
    officer.press(t("button.confirm_submit", "vi"))
    await officer.wait_for_reply()
    assert t("assess.submit.done", "vi") in screen(officer).text
    (stage,) = rows(engine, UnitStageRow, unit_code=unit)
    assert stage.submitted_at is not None

    # Read-only afterwards: an old answer button is refused with the reason, nothing changes.
    before = len(rows(engine, AuditRow))
    query = officer.forge_callback(next(b["callback_data"] for m in officer.bot_messages() for row in m.inline_keyboard
                                        for b in row if b["callback_data"].split(":")[1] == "a"))
    await officer.wait_for_answer(query)
    assert query.text == t("error.assess.submitted", "vi")
    assert len(rows(engine, AuditRow)) == before
