"""Appraisal through the real bot: two appraisers share a department's areas, round 1 lowers items, the unit
contests two, round 2 settles them; district councils see only their communes; officers and forged buttons
cannot appraise; publication refuses while incomplete and then freezes what `parbot results` shows."""
from __future__ import annotations

from datetime import timedelta

import pytest
from e2e_support import QUIET, NOW, SAMPLES, invite, join
from sqlmodel import Session, select

from parbot.core.conversation.callbacks import encode
from parbot.core.decimals import fmt
from parbot.core.errors import ValidationFailed
from parbot.core.model import UnitStage
from parbot.core.period import AppraisalAssignment, Deadlines, PeriodConfig
from parbot.core.permissions import Caller
from parbot.core.services import appraisal as ap
from parbot.core.services import periods, publication
from parbot.core.services.assessment import current_tag
from parbot.core.services.results import period_results
from parbot.core.services.scores import import_scores
from parbot.core.services.tabular import Row
from parbot.i18n import t
from parbot.storage.files import read_table
from parbot.storage.tables import EvidenceRow, OutboxRow, ScoreRow
from parbot.storage.uow import SqlUnitOfWork

pytestmark = pytest.mark.e2e
ADMIN = Caller.admin("cli:chair")
SO_UNITS = ("SNV", "STC", "STP", "SKH", "STT", "SYT", "SGD", "SNN")


def setup_period(engine) -> None:
    """Self-assessment over; SNV and the communes X0101 (H01) and X0201 (H02) submitted their sample self
    scores; Sở Tài chính appraises the departments' area 6."""
    config = PeriodConfig(
        year=2020, criteria={"so": "2020-so.yaml", "huyen": "2020-huyen.yaml", "xa": "2020-xa.yaml"},
        deadlines=Deadlines(self_assessment_opens=NOW - timedelta(days=30), self_assessment_closes=NOW - timedelta(days=20),
                            appraisal_round1_closes=NOW + timedelta(days=1), explanation_closes=NOW + timedelta(days=3),
                            appraisal_round2_closes=NOW + timedelta(days=5)),
        appraisal=[AppraisalAssignment(areas=["so:6"], appraiser_units=["STC"])], reminders=QUIET)
    periods.save_period(SqlUnitOfWork(engine), caller=ADMIN, config=config)
    header, rows = read_table(SAMPLES / "scores-2020.csv")
    mine = [r for r in rows if r.get("source") == "self" and r.get("unit") in ("SNV", "X0101", "X0201")]
    import_scores(SqlUnitOfWork(engine), caller=ADMIN, year=2020, header=header, rows=mine)
    with SqlUnitOfWork(engine) as uow:
        period = uow.periods.get(2020)
        for unit in ("SNV", "X0101", "X0201"):
            uow.stages.put(period.id, UnitStage(unit_code=unit, submitted_at=NOW - timedelta(days=21)))
        uow.commit()


def appraised(engine, unit: str) -> dict:
    with Session(engine) as session:
        return {s.item_code: s for s in session.exec(select(ScoreRow).where(
            ScoreRow.unit_code == unit, ScoreRow.source == "appraised"))}


def self_points(engine, unit: str, item: str):
    with Session(engine) as session:
        return session.exec(select(ScoreRow.points).where(ScoreRow.unit_code == unit, ScoreRow.item_code == item,
                                                          ScoreRow.source == "self")).one()


async def press(user, data: str):
    user.press(callback_data=data)
    return await user.wait_for_reply()


async def open_item(user, tag: str, area: str, item: str):
    """From an item or the unit's screen: open the area, then walk its items with "next" until the item shows."""
    if user.last_bot_message.find_button(callback_data=encode(tag, "pa", "SNV", area)) is None:
        await press(user, encode(tag, "pu", "SNV"))  # back to the unit
    (shown,) = await press(user, encode(tag, "pa", "SNV", area))
    while not shown.text.startswith(f"SNV · {item}. "):
        user.press(t("appraisal.button.next", "vi"))
        (shown,) = await user.wait_for_reply()
    return shown


async def lower(user, tag: str, item: str, points: str, reason: str) -> None:
    await open_item(user, tag, item.split(".")[0], item)
    await press(user, encode(tag, "pp", "SNV", item))
    user.send_text(points)
    (prompt,) = await user.wait_for_reply()
    assert prompt.text == t("appraisal.prompt.reason", "vi")
    user.send_text(reason)
    await user.wait_for_reply()


async def test_two_rounds_with_explanations_then_publication(bot, emulator_server, engine):
    setup_period(engine)
    tag = current_tag(SqlUnitOfWork(engine))
    def member(user_id, name, role, unit=None, block=None):
        user = emulator_server.create_user(user_id, name, language_code="vi")
        user.send_command("start", invite(engine, role, unit, block))
        return user

    council = member(8001, "Hội đồng tỉnh", "appraiser", block="so")
    await council.wait_for_reply()
    finance = member(8002, "Sở Tài chính", "officer", "STC")
    await finance.wait_for_reply()
    finance.send_command("start", invite(engine, "appraiser", None, "so"))
    await finance.wait_for_reply()
    district = member(8003, "Hội đồng H01", "appraiser", "H01", "xa")
    await district.wait_for_reply()
    officer = await join(emulator_server, engine, 8004, "Lan", "officer", "SNV")

    # The council sees SNV with the areas no field department holds; area 6 is Sở Tài chính's.
    council.send_command("appraise")
    (listing,) = await council.wait_for_reply()
    assert listing.find_button(callback_data=encode(tag, "pu", "SNV")) is not None
    (screen,) = await press(council, encode(tag, "pu", "SNV"))
    assert screen.find_button(callback_data=encode(tag, "pa", "SNV", "1")) is not None
    assert screen.find_button(callback_data=encode(tag, "pa", "SNV", "6")) is None
    (item_screen,) = await press(council, encode(tag, "pa", "SNV", "1"))
    assert item_screen.text.startswith("SNV · 1.1.1.")

    # Round 1: the council lowers 1.1.4, accepts the rest of every area of its own; finance lowers 6.2.
    await lower(council, tag, "1.1.4", "0", "Không có kế hoạch CCHC năm")
    await press(council, encode(tag, "pr", "SNV", "1"))
    for area in ("2", "3", "4", "5", "7", "T", "D"):
        await press(council, encode(tag, "pa", "SNV", area))
        await press(council, encode(tag, "pr", "SNV", area))
    finance.send_command("appraise")
    await finance.wait_for_reply()
    await press(finance, encode(tag, "pu", "SNV"))
    await lower(finance, tag, "6.2", "1", "Chưa công khai dự toán")
    await press(finance, encode(tag, "pr", "SNV", "6"))
    scores = appraised(engine, "SNV")
    assert scores["1.1.4"].points == 0 and scores["1.1.4"].by == "person:1"
    assert scores["6.2"].reason == "Chưa công khai dự toán" and scores["6.2"].by != scores["1.1.4"].by
    assert len(scores) == 38  # every self-scored item (34 in areas, 4 bonus or deduction), no survey item

    # A focal officer cannot appraise, not even with a forged button; nor can the council touch area 6.
    before = appraised(engine, "SNV")
    query = officer.forge_callback(encode(tag, "pk", "SNV", "1.1.1"))
    await officer.wait_for_answer(query)
    assert query.show_alert and query.text == t("error.permission.denied", "vi")
    query = council.forge_callback(encode(tag, "pk", "SNV", "6.1.1"))
    await council.wait_for_answer(query)
    assert query.text == t("error.appraisal.area_not_assigned", "vi", unit="SNV", area="6")
    assert appraised(engine, "SNV") == before

    # A district council appraises only its own communes.
    district.send_command("appraise")
    (communes,) = await district.wait_for_reply()
    codes = {b["callback_data"].split(":")[2] for row in communes.inline_keyboard for b in row
             if b["callback_data"].split(":")[1] == "pu"}
    with SqlUnitOfWork(engine) as uow:
        assert codes == {u.code for u in uow.units.list(block="xa", year=2020) if u.parent_code == "H01"}
    assert "X0201" not in codes
    query = district.forge_callback(encode(tag, "pk", "X0201", "1.1"))
    await district.wait_for_answer(query)
    assert query.text == t("error.permission.denied", "vi")

    # Round 1 closes: the officer's notice lists the two lowered items with their reasons.
    ap.close_round(SqlUnitOfWork(engine), caller=ADMIN, round_no=1, block="so", force=True, year=2020)
    with Session(engine) as session:
        (notice,) = session.exec(select(OutboxRow).where(OutboxRow.kind == "appraisal_round1")).all()
    assert [(i["item"], i["reason"]) for i in notice.payload["lowered"]] == [
        ("1.1.4", "Không có kế hoạch CCHC năm"), ("6.2", "Chưa công khai dự toán")]
    # The bot's own outbox sender delivers it; wait for it so later replies are not interleaved with it.
    header = t("notice.round1", "vi", unit="SNV", name="Sở Nội vụ", total="", maximum="", index="").split("\n")[0]
    delivered = await officer.wait_for_reply(timeout=10, until=lambda msgs: any(
        (m.text or "").startswith(header) for m in msgs))
    assert any("Không có kế hoạch CCHC năm" in (m.text or "") for m in delivered)

    # The unit contests both, with a file for one of them.
    officer.send_command("explain")
    (choices,) = await officer.wait_for_reply()
    assert [row[0]["callback_data"] for row in choices.inline_keyboard] == [
        encode(tag, "xi", "SNV", "1.1.4"), encode(tag, "xi", "SNV", "6.2")]
    for item, text in (("1.1.4", "Kế hoạch 12/KH-SNV ban hành ngày 05/01/2020"), ("6.2", "Dự toán đã công khai")):
        await press(officer, encode(tag, "xi", "SNV", item))
        officer.send_text(text)
        (saved,) = await officer.wait_for_reply()
        assert saved.text == t("explain.saved", "vi", code=item)
    officer.send_document(b"%PDF-1.4 cong khai du toan", "cong-khai.pdf", "application/pdf")
    (saved,) = await officer.wait_for_reply()
    assert saved.text == t("explain.file_saved", "vi", code="6.2")
    with Session(engine) as session:
        assert [e.item_code for e in session.exec(select(EvidenceRow).where(EvidenceRow.purpose == "explanation"))] \
            == ["6.2"]

    # Round 2: contested items come first; the council accepts 1.1.4, finance keeps 6.2.
    council.send_command("appraise")
    await council.wait_for_reply()
    (screen,) = await press(council, encode(tag, "pu", "SNV"))
    assert screen.inline_keyboard[0][0]["callback_data"] == encode(tag, "pi", "SNV", "1.1.4")
    await press(council, encode(tag, "pi", "SNV", "1.1.4"))
    await press(council, encode(tag, "pk", "SNV", "1.1.4"))
    finance.send_command("appraise")
    await finance.wait_for_reply()
    await press(finance, encode(tag, "pu", "SNV"))
    await press(finance, encode(tag, "pi", "SNV", "6.2"))
    await press(finance, encode(tag, "pg", "SNV", "6.2"))
    ap.close_round(SqlUnitOfWork(engine), caller=ADMIN, round_no=2, block="so", year=2020)
    final = appraised(engine, "SNV")
    assert final["1.1.4"].points == self_points(engine, "SNV", "1.1.4") and final["1.1.4"].appraisal_round == 2
    assert final["6.2"].points == 1

    # Publication: refused while other departments and the survey are missing, then frozen.
    with pytest.raises(ValidationFailed) as refused:
        publication.publish(SqlUnitOfWork(engine), caller=ADMIN, block="so", year=2020)
    assert "so: SNV: survey points missing for 6 item(s)" in refused.value.problems
    assert "so: STC: 34 item(s) not appraised" in refused.value.problems
    header, rows = read_table(SAMPLES / "scores-2020.csv")
    rest = [r for r in rows if r.get("unit") in SO_UNITS and (r.get("unit") != "SNV" or r.get("source") == "survey")]
    import_scores(SqlUnitOfWork(engine), caller=ADMIN, year=2020, header=header,
                  rows=[Row(r.line, r.values) for r in rest])
    (snapshot,) = publication.publish(SqlUnitOfWork(engine), caller=ADMIN, block="so", year=2020)
    _, (live,) = period_results(SqlUnitOfWork(engine), year=2020, block="so")
    assert [(u["code"], u["total"], u["index"], u["rank"]) for u in snapshot.results["units"]] == [
        (u.unit.code, fmt(u.total), f"{u.index:.2f}", u.rank) for u in live.units]
