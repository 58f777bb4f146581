"""Bad input, restarts, forged and repeated updates, concurrent officers, groups, languages, invitations."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from callers import ADMIN, person_caller
from e2e_support import rows, NOW, RunningBot, invite, join
from helpers import REFERENCE, screen
from test_appraisal_e2e import open_item, setup_period

from parbot.core.conversation import views
from parbot.core.conversation.callbacks import encode
from parbot.core.services import assessment, people, periods
from parbot.core.services.assessment import period_tag, sequence
from parbot.i18n import t
from parbot.storage.tables import AnswerRow, AuditRow, EvidenceRow, ScoreRow, UnitStageRow
from parbot.storage.uow import SqlUnitOfWork

pytestmark = pytest.mark.e2e
MB = 1024 * 1024


def period(engine):
    with SqlUnitOfWork(engine) as uow:
        return uow.periods.current()


def data(engine, verb: str, *args) -> str:
    return ":".join([period_tag(period(engine)), verb, *map(str, args)])


def item(engine, block: str, code: str):
    return period(engine).criteria_for(block).items[code]


async def goto(user, engine, unit: str, code: str, block: str = "so"):
    """Open an item as its button would (the same callback data the bot puts on its buttons)."""
    user.forge_callback(data(engine, "i", unit, item(engine, block, code).position))
    await user.wait_for_reply()


async def until(predicate, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def answer(engine, unit: str, code: str):
    found = rows(engine, AnswerRow, unit_code=unit, item_code=code)
    return found[0] if found else None


async def test_bad_typed_numbers_are_explained_and_nothing_half_saved(bot, emulator_server, engine):
    officer = await join(emulator_server, engine, 7101, "Lan", "officer", "SNV")
    await goto(officer, engine, "SNV", "1.1.4")  # a ratio: tasks done / tasks planned
    for typed, expected in (("abc", t("error.answer.not_a_number", "vi", value="abc")),
                            ("-3", t("error.answer.below_minimum", "vi", value="-3", minimum="0")),
                            ("2,5", t("error.answer.not_an_integer", "vi", value="2.5"))):
        officer.send_text(typed)
        (reply,) = await officer.wait_for_reply()
        assert reply.text.startswith(expected), reply.text
    officer.send_text("12")
    await officer.wait_for_reply()
    officer.send_text("10")  # 12 done of 10 planned: both counts are asked again
    (reply,) = await officer.wait_for_reply()
    assert t("error.answer.numerator_exceeds_denominator", "vi", numerator="12", denominator="10") in reply.text
    assert answer(engine, "SNV", "1.1.4") is None
    officer.send_text("9")
    await officer.wait_for_reply()
    officer.send_text("10")
    await officer.wait_for_reply()
    saved = answer(engine, "SNV", "1.1.4")
    rule = item(engine, "so", "1.1.4").rule
    assert saved.value == {"numerator": "9", "denominator": "10"}
    assert saved.points == rule.score(saved.value, item(engine, "so", "1.1.4").maximum, "so")

    await goto(officer, engine, "SNV", "2.3")  # points typed directly, at most the item's maximum
    maximum = item(engine, "so", "2.3").maximum
    officer.send_text(str(maximum + 5))
    (reply,) = await officer.wait_for_reply()
    assert t("error.answer.above_maximum", "vi", value=str(maximum + 5), maximum=str(maximum)) in reply.text
    assert answer(engine, "SNV", "2.3") is None

    # An explanation before an answer is refused at the press, before the officer types it (issue 12).
    query = officer.press(t("button.explanation", "vi"))
    await officer.wait_for_answer(query)
    assert query.show_alert and query.text == t("error.assess.answer_first", "vi", item="2.3")
    officer.send_text(str(maximum))
    await officer.wait_for_reply()
    officer.press(t("button.explanation", "vi"))
    await officer.wait_for_reply()
    officer.send_text("ngắn")
    (reply,) = await officer.wait_for_reply()
    assert reply.text == t("error.assess.explanation_length", "vi", minimum=10, maximum=2000, length=4)
    officer.send_text("Chưa có văn bản vì đang chờ ký ban hành")
    await officer.wait_for_reply()
    assert answer(engine, "SNV", "2.3").explanation == "Chưa có văn bản vì đang chờ ký ban hành"

    officer.send_command("nosuchcommand")
    (reply,) = await officer.wait_for_reply()
    assert reply.text == t("onboarding.unknown_command", "vi")


async def test_not_applicable_only_where_allowed(bot, emulator_server, engine):
    officer = await join(emulator_server, engine, 7102, "Lan", "officer", "SNV")
    assert not item(engine, "so", "1.1.1").not_applicable_allowed
    query = officer.forge_callback(data(engine, "a", "SNV", item(engine, "so", "1.1.1").position, "na"))
    await officer.wait_for_answer(query)
    assert query.text == t("error.assess.na_not_allowed", "vi", item="1.1.1")
    await goto(officer, engine, "SNV", "1.3.2")
    officer.press(t("button.not_applicable", "vi"))
    await officer.wait_for_reply()
    saved = answer(engine, "SNV", "1.3.2")
    assert saved.not_applicable and saved.points is None
    (score,) = rows(engine, ScoreRow, unit_code="SNV", item_code="1.3.2")
    assert score.not_applicable and score.points is None


async def test_evidence_files_photos_references_and_the_20_mb_limit(bot, emulator_server, engine):
    officer = await join(emulator_server, engine, 7103, "Lan", "officer", "SNV")
    await goto(officer, engine, "SNV", "1.1.1")
    officer.send_document(b"%PDF-1.4 ke hoach CCHC 2020", "Kế hoạch CCHC.pdf", "application/pdf")
    (reply,) = await officer.wait_for_reply()
    assert reply.text.startswith(t("assess.evidence.file_saved", "vi")) and "Kế hoạch CCHC.pdf" in reply.text
    officer.send_document(b"%PDF-1.4 ke hoach CCHC 2020", "copy.pdf", "application/pdf")
    (reply,) = await officer.wait_for_reply()
    assert reply.text.startswith(t("assess.evidence.duplicate", "vi"))
    from emulator_fixtures import png_bytes
    officer.send_photo(png_bytes())
    await officer.wait_for_reply()
    officer.send_document(b"x", "video.mp4", "video/mp4", declared_size=25 * MB)
    (reply,) = await officer.wait_for_reply()
    assert reply.text == t("assess.evidence.too_big", "vi", size_mb="25")
    stored = rows(engine, EvidenceRow, unit_code="SNV", item_code="1.1.1")
    assert [(e.kind, e.file_name, e.mime_type) for e in stored] == [
        ("file", "Kế hoạch CCHC.pdf", "application/pdf"), ("file", None, "image/jpeg")]
    store = bot.deps.store
    import hashlib
    assert stored[0].sha256 == hashlib.sha256(b"%PDF-1.4 ke hoach CCHC 2020").hexdigest()
    assert store.read(stored[0].sha256) == b"%PDF-1.4 ke hoach CCHC 2020" and stored[0].size == 27
    assert stored[0].sender_id is not None


async def test_restart_mid_conversation_resumes_the_typed_ratio(settings, engine, emulator_server):
    first = await RunningBot(settings, engine).start()
    officer = await join(emulator_server, engine, 7104, "Lan", "officer", "SNV")
    await goto(officer, engine, "SNV", "1.1.4")
    old_screen = screen(officer)
    officer.send_text("9")
    await officer.wait_for_reply()
    await first.stop()

    second = await RunningBot(settings, engine).start()
    try:
        officer.send_text("10")  # the denominator, typed to a new process
        await officer.wait_for_reply()
        assert answer(engine, "SNV", "1.1.4").value == {"numerator": "9", "denominator": "10"}
        officer.press(t("button.back", "vi"), message_id=old_screen.message_id)  # a button from before
        await officer.wait_for_reply()
        assert "\n1.1.3. " in officer.chat.messages[old_screen.message_id].text
    finally:
        await second.stop()


async def test_forged_callbacks_change_nothing(bot, emulator_server, engine):
    officer = await join(emulator_server, engine, 7105, "Lan", "officer", "SNV")
    survey = next(i for i in period(engine).criteria_for("so").items.values() if i.is_survey)
    yes_no = next(i for i in sequence(period(engine).criteria_for("so")) if i.rule.kind == "yes_no")
    cases = {
        data(engine, "a", "STP", yes_no.position, "y"): t("error.permission.denied", "vi"),  # another unit
        data(engine, "i", "STP", yes_no.position): t("error.permission.denied", "vi"),
        data(engine, "a", "SNV", survey.position, "y"): t("error.assess.survey_item", "vi", item=survey.code),
        data(engine, "a", "SNV", 9999, "y"): t("error.item.not_found", "vi", item="9999"),
        data(engine, "a", "SNV", "x1", "y"): t("callback.malformed", "vi"),
        data(engine, "c", "SNV", yes_no.position, "yy"): t("callback.malformed", "vi"),
        "zzzz": t("callback.malformed", "vi"),
        "0000:a:SNV:1:y": t("callback.stale", "vi"),
    }
    for forged, expected in cases.items():
        query = officer.forge_callback(forged)
        await officer.wait_for_answer(query)
        assert query.text == expected, forged
    assert rows(engine, AnswerRow) == [] and rows(engine, ScoreRow) == []
    assert [a.action for a in rows(engine, AuditRow)] == ["invite", "member_join"]


async def test_duplicate_delivery_never_double_applies(bot, emulator_server, engine):
    officer = await join(emulator_server, engine, 7106, "Lan", "officer", "SNV")
    emulator = emulator_server.emulator
    await goto(officer, engine, "SNV", "1.1.3")
    message = screen(officer)
    query = officer.press(message.inline_keyboard[0][0]["text"])
    await officer.wait_for_reply()
    audit = len(rows(engine, AuditRow))
    edits = emulator.method_calls["editMessageText"]
    emulator.push_update("callback_query", {"id": query.id, "from": officer.user.to_api(), "chat_instance": "1",
                                            "message": emulator.message_json(message), "data": query.data})
    await until(lambda: emulator.method_calls["editMessageText"] > edits)
    assert len(rows(engine, AnswerRow, item_code="1.1.3")) == 1 and len(rows(engine, AuditRow)) == audit

    await goto(officer, engine, "SNV", "1.1.4")
    typed = officer.send_text("9")
    await officer.wait_for_reply()
    sent = emulator.method_calls["sendMessage"]
    emulator.push_update("message", emulator.message_json(typed))  # the numerator delivered again
    officer.send_text("10")
    await officer.wait_for_reply()
    assert answer(engine, "SNV", "1.1.4").value == {"numerator": "9", "denominator": "10"}
    assert emulator.method_calls["sendMessage"] == sent + 1  # the repeat got no reply of its own


async def test_two_officers_of_one_unit_answer_at_once(bot, emulator_server, engine):
    lan = await join(emulator_server, engine, 7107, "Lan", "officer", "SNV")
    minh = await join(emulator_server, engine, 7108, "Minh", "officer", "SNV")
    await goto(lan, engine, "SNV", "1.1.3")
    await goto(minh, engine, "SNV", "1.2.2")
    lan.press(screen(lan).inline_keyboard[0][0]["text"])
    minh.press(screen(minh).inline_keyboard[0][1]["text"])
    await asyncio.gather(lan.wait_for_reply(), minh.wait_for_reply())
    assert answer(engine, "SNV", "1.1.3").points == item(engine, "so", "1.1.3").maximum
    assert answer(engine, "SNV", "1.2.2").points == 0
    people_ = {a.answered_by for a in rows(engine, AnswerRow, unit_code="SNV")}
    assert len(people_) == 2
    lan.send_command("status")
    (status,) = await lan.wait_for_reply()
    assert "2/34" in status.text


async def test_group_chats_get_one_message_saying_private_only(bot, emulator_server, engine):
    officer = await join(emulator_server, engine, 7109, "Lan", "officer", "SNV")
    group = emulator_server.emulator.create_group("Tổ CCHC", [officer.id])
    (hello,) = await officer.wait_for_reply(chat=group)
    assert hello.text == t("onboarding.private_only", "vi")
    officer.send_command("assess", chat=group)
    replies = await officer.wait_for_reply(chat=group)
    assert [m.text for m in replies] == [t("onboarding.private_only", "vi")]


async def test_language_menu_and_roles(bot, emulator_server, engine):
    officer = await join(emulator_server, engine, 7110, "Lan", "officer", "SNV")
    assert [c["command"] for c in officer.visible_commands()] == ["assess", "status", "explain", "result", "help",
                                                                 "lang", "kenh"]
    officer.send_command("lang", "en")
    (reply,) = await officer.wait_for_reply()
    assert reply.text == t("lang.changed", "en")
    assert officer.visible_commands()[0]["description"] == t("command.assess", "en")
    officer.send_command("assess")
    await officer.wait_for_reply()
    assert t("assess.menu.pick_area", "en") in screen(officer).text or t("assess.resumed", "en") in screen(officer).text

    appraiser = await join(emulator_server, engine, 7111, "Hà", "appraiser", "SNV")
    assert [c["command"] for c in appraiser.visible_commands()] == ["appraise", "help", "lang", "kenh"]
    appraiser.send_command("assess")
    (reply,) = await appraiser.wait_for_reply()
    assert reply.text == t("assess.no_unit", "vi")

    stranger = emulator_server.create_user(7112, "Khách")
    assert [c["command"] for c in stranger.visible_commands()] == ["start", "help"]
    for action in (lambda: stranger.send_command("start"), lambda: stranger.send_text("xin chào"),
                   lambda: stranger.send_command("assess")):
        action()
        (reply,) = await stranger.wait_for_reply()
        assert reply.text == t("onboarding.no_role", "vi", contact=bot.settings.admin_contact)


async def test_invitation_codes_single_use_expiry_revocation(bot, emulator_server, engine):
    contact = bot.settings.admin_contact
    code = invite(engine, "officer", "SNV")
    first = emulator_server.create_user(7120, "An")
    first.send_command("start", code)
    await first.wait_for_reply(until=lambda msgs: any(m.inline_keyboard for m in msgs))
    first.send_command("start", code)  # the same person again: nothing new, no error
    replies = await first.wait_for_reply(until=lambda msgs: any(m.inline_keyboard for m in msgs))
    assert replies[0].text.startswith(t("onboarding.welcome_back", "vi", name="An", roles="")[:10])
    assert len(rows(engine, AuditRow, action="member_join")) == 1

    expired, _ = people.create_invite(SqlUnitOfWork(engine), caller=ADMIN, role="officer", expires_in=timedelta(days=1),
                                      now=NOW - timedelta(days=3), unit_code="STP")
    revoked = invite(engine, "officer", "STP")
    people.revoke_invite(SqlUnitOfWork(engine), caller=ADMIN, code_or_id=revoked, now=NOW)
    other = emulator_server.create_user(7121, "Bình")
    for sent, key in ((code, "used"), (expired, "expired"), (revoked, "revoked"), ("nonsense-code", "unknown")):
        other.send_command("start", sent)
        (reply,) = await other.wait_for_reply()
        assert reply.text == t(f"onboarding.invite.{key}", "vi", contact=contact)
    assert people.identify(SqlUnitOfWork(engine), 7121).person is None


async def test_leader_approval_before_submission(bot, emulator_server, engine):
    current = period(engine)
    periods.save_period(SqlUnitOfWork(engine), caller=ADMIN,
                        config=current.config.model_copy(update={"leader_approval_required": True}))
    officer = await join(emulator_server, engine, 7130, "Lan", "officer", "SNV")
    person = people.identify(SqlUnitOfWork(engine), 7130).person
    officer_caller = person_caller(SqlUnitOfWork(engine), person.id)
    criteria = period(engine).criteria_for("so")
    for it in sequence(criteria):  # everything answered through the service, as the bot would
        raw = {"yes": "y", "option": getattr(it.rule, "options", [None])[0] and it.rule.options[0].code,
               "conditions": {c.code: True for c in getattr(it.rule, "conditions", [])},
               "numerator": "1", "denominator": "1", "value": "0", "count": "0", "points": "0"}
        assessment.record_answer(SqlUnitOfWork(engine), caller=officer_caller, unit_code="SNV", item_code=it.code,
                                 raw=raw, now=NOW)
        if it.evidence == "required":
            assessment.add_reference(SqlUnitOfWork(engine), caller=officer_caller, unit_code="SNV", item_code=it.code,
                                     text=REFERENCE, now=NOW)
    query = officer.forge_callback(data(engine, "sk", "SNV"))
    await officer.wait_for_answer(query)
    assert query.text == t("error.assess.approval_needed", "vi")

    leader = await join(emulator_server, engine, 7131, "Tâm", "unit_leader", "SNV")
    assert t("assess.readonly.not_officer", "vi") in screen(leader).text
    leader.press(t("button.final_review", "vi"))
    await leader.wait_for_reply()
    assert screen(leader).find_button(text=t("button.submit", "vi")) is None
    leader.press(t("button.approve", "vi"))
    await leader.wait_for_reply()
    assert t("assess.approve.done", "vi") in screen(leader).text
    query = leader.forge_callback(data(engine, "a", "SNV", sequence(criteria)[0].position, "y"))
    await leader.wait_for_answer(query)
    assert query.text == t("error.permission.denied", "vi")

    officer.forge_callback(data(engine, "sk", "SNV"))
    await officer.wait_for_reply()
    assert t("assess.submit.done", "vi") in screen(officer).text
    (stage,) = rows(engine, UnitStageRow, unit_code="SNV")
    assert stage.approved_at is not None and stage.submitted_at is not None


async def test_read_only_after_the_deadline_with_the_reason(bot, emulator_server, engine):
    officer = await join(emulator_server, engine, 7140, "Lan", "officer", "SNV")
    bot.deps.clock = lambda: NOW + timedelta(days=11)
    await goto(officer, engine, "SNV", "1.1.3")
    assert t("assess.readonly.closed", "vi", deadline="")[:20] in screen(officer).text
    assert screen(officer).find_button(callback_data=data(engine, "a", "SNV", item(engine, "so", "1.1.3").position,
                                                          "y")) is None
    query = officer.forge_callback(data(engine, "a", "SNV", item(engine, "so", "1.1.3").position, "y"))
    await officer.wait_for_answer(query)
    assert query.text.startswith(t("error.assess.closed", "vi", deadline="")[:20])
    assert rows(engine, AnswerRow) == []


async def test_a_pressed_button_is_answered_before_its_screen_changes(bot, emulator_server, engine):
    officer = await join(emulator_server, engine, 7150, "Lan", "officer", "SNV")
    before = officer.chat.version
    query = officer.forge_callback(data(engine, "i", "SNV", item(engine, "so", "1.1.1").position))
    await officer.wait_for_reply()
    await officer.wait_for_answer(query)
    seen = [e["type"] for e in officer.chat.events if e["version"] > before and e["type"] != "chat_action"]
    assert seen[0] == "callback_answer" and {"edit", "message"} & set(seen[1:]), seen
    assert not query.show_alert and query.text is None


async def test_an_edit_of_the_points_awaiting_their_reason_replaces_them(bot, emulator_server, engine):
    setup_period(engine)
    tag = period_tag(period(engine))
    council = emulator_server.create_user(7160, "Hội đồng tỉnh", language_code="vi")
    council.send_command("start", invite(engine, "appraiser", None, "so"))
    await council.wait_for_reply()
    council.send_command("appraise")
    await council.wait_for_reply()
    await open_item(council, tag, "1", "1.1.4")
    council.press(callback_data=encode(tag, "pp", "SNV", "1.1.4"))
    await council.wait_for_reply()
    typed = council.send_text("0")
    (prompt,) = await council.wait_for_reply()
    assert prompt.text == t("appraisal.prompt.reason", "vi")
    council.edit_text(typed, "1")  # corrected while the reason is asked (1.1.4 gives 0, 1 or 2 points)
    (again,) = await council.wait_for_reply()
    assert again.text == t("appraisal.edit.points", "vi", points="1") + "\n" + t("appraisal.prompt.reason", "vi")
    council.send_text("Kế hoạch ban hành muộn")
    await council.wait_for_reply()
    (score,) = rows(engine, ScoreRow, unit_code="SNV", item_code="1.1.4", source="appraised")
    assert score.points == Decimal("1") and score.reason == "Kế hoạch ban hành muộn"


async def test_edited_commands_and_stray_edits_do_nothing(bot, emulator_server, engine):
    officer = await join(emulator_server, engine, 7161, "Lan", "officer", "SNV")
    (start,) = [m for m in officer.messages() if not m.from_bot]
    officer.edit_text(start, "/status")
    chatter = officer.send_text("xin chào")
    await officer.wait_for_reply()
    officer.edit_text(chatter, "12")  # not a value the chat waits for: the officer is told it changed nothing
    (note,) = await officer.wait_for_reply()
    assert note.text == t("assess.edit.not_applied", "vi")
    officer.send_command("help")
    (reply,) = await officer.wait_for_reply()
    assert reply.text.startswith(t("help.header", "vi"))
    assert [a.action for a in rows(engine, AuditRow)] == ["invite", "member_join"]


async def test_an_edited_count_replaces_the_one_kept_while_the_other_is_asked(bot, emulator_server, engine):
    officer = await join(emulator_server, engine, 7162, "Lan", "officer", "SNV")
    await goto(officer, engine, "SNV", "1.1.4")  # a ratio: tasks done / tasks planned
    done = officer.send_text("12")
    await officer.wait_for_reply()
    officer.edit_text(done, "9")
    (again,) = await officer.wait_for_reply()
    it = item(engine, "so", "1.1.4")
    numerator, denominator = (i.key for i in it.rule.inputs())
    assert again.text == t("assess.edit.replaced", "vi") + "\n" + views.input_prompt(it, denominator, "vi")
    officer.edit_text(done, "chín")  # a bad correction is explained; the kept count stays
    (refused,) = await officer.wait_for_reply()
    assert refused.text.startswith(t("error.answer.not_a_number", "vi", value="chín"))
    officer.send_text("10")
    await officer.wait_for_reply()
    assert answer(engine, "SNV", "1.1.4").value == {numerator: "9", denominator: "10"}
