"""Access through the real bot on the emulator: buttons pressed in a group chat are refused like commands."""
from __future__ import annotations

import asyncio

import pytest
from e2e_support import invite, join, rows

from parbot.core.conversation.callbacks import encode
from parbot.core.model import Evidence
from parbot.core.services.assessment import current_tag, period_tag
from parbot.i18n import t
from parbot.storage.tables import AnswerRow, AuditRow
from parbot.storage.uow import SqlUnitOfWork

pytestmark = pytest.mark.e2e


def button(engine, verb: str, *args) -> str:
    with SqlUnitOfWork(engine) as uow:
        current = uow.periods.current()
    slot = current.criteria_for("so").items["1.1.3"].position
    return ":".join([period_tag(current), verb, *[str(a).replace("SLOT", str(slot)) for a in args]])


@pytest.mark.parametrize("verb, args", [("a", ("SNV", "SLOT", "y")), ("i", ("SNV", "SLOT")), ("st", ("SNV",)),
                                        ("m", ("SNV",)), ("sb", ("SNV",))])
async def test_buttons_pressed_in_a_group_save_nothing_and_show_nothing(bot, emulator_server, engine, verb, args):
    officer = await join(emulator_server, engine, 7601, "Lan", "officer", "SNV")
    group = emulator_server.emulator.create_group("Tổ CCHC", [officer.id])
    (hello,) = await officer.wait_for_reply(chat=group)
    audit_before = len(rows(engine, AuditRow))

    # The group's only bot message carries the button, as a modified client or a forwarded keyboard would.
    query = emulator_server.emulator.post_callback(officer.user, hello, button(engine, verb, *args))
    await asyncio.wait_for(officer.wait_for_answer(query), 10)

    assert query.show_alert and query.text == t("onboarding.private_only", "vi")
    assert rows(engine, AnswerRow, unit_code="SNV") == [] and len(rows(engine, AuditRow)) == audit_before
    assert [(m.text, m.inline_keyboard) for m in officer.messages(group)] == [(hello.text, hello.inline_keyboard)]


async def test_start_with_wrong_codes_is_paused_after_five(bot, emulator_server, engine):
    stranger = emulator_server.create_user(7602, "Khách")
    for attempt in range(5):
        stranger.send_command("start", f"Wrong{attempt:011d}")
        (reply,) = await stranger.wait_for_reply(timeout=10)
        assert "thử lại sau" not in reply.text
    stranger.send_command("start", invite(engine, "officer", "SNV"))  # a good code while paused
    (reply,) = await stranger.wait_for_reply(timeout=10)
    assert reply.text.startswith("Bạn đã gửi sai mã mời nhiều lần") and "Hãy thử lại sau " in reply.text
    with SqlUnitOfWork(engine) as uow:
        assert uow.people.by_telegram_id(7602) is None  # nothing granted


async def test_resend_files_follows_the_area_assignments(bot, emulator_server, engine):
    """Area 6 of the departments is Sở Tài chính's alone (setup_period): the provincial council gets the files
    of its own areas only, Sở Tài chính those of area 6."""
    from test_appraisal_e2e import setup_period

    setup_period(engine)
    with SqlUnitOfWork(engine) as uow:
        period_id, tag = uow.periods.current().id, current_tag(uow)
        for item in ("1.1.4", "6.2"):
            blob = bot.deps.store.put(f"%PDF-1.4 {item}".encode())
            uow.evidence.add(period_id, Evidence(id=None, unit_code="SNV", item_code=item, kind="file",
                                                 sha256=blob.sha256, stored_path=blob.path, size=blob.size,
                                                 mime_type="application/pdf", file_name=f"{item}.pdf"))
        uow.commit()

    async def member(user_id, *grants):
        user = emulator_server.create_user(user_id, f"Người {user_id}", language_code="vi")
        for grant in grants:
            user.send_command("start", invite(engine, *grant))
            await user.wait_for_reply(timeout=10)
        return user

    def documents(user):
        return [m.document.file_name for m in user.bot_messages() if m.document is not None]

    council = await member(8101, ("appraiser", None, "so"))
    finance = await member(8102, ("officer", "STC"), ("appraiser", None, "so"))

    query = council.forge_callback(encode(tag, "pe", "SNV", "6.2"))
    await council.wait_for_answer(query, timeout=10)
    assert query.show_alert and query.text == t("error.appraisal.area_not_assigned", "vi", unit="SNV", area="6")
    council.forge_callback(encode(tag, "pe", "SNV", "1.1.4"))
    await council.wait_for_reply(timeout=10, until=lambda msgs: any(m.document for m in msgs))
    assert documents(council) == ["1.1.4.pdf"]

    finance.forge_callback(encode(tag, "pe", "SNV", "6.2"))
    await finance.wait_for_reply(timeout=10, until=lambda msgs: any(m.document for m in msgs))
    assert documents(finance) == ["6.2.pdf"]
