"""`parbot bot run` as a real process: killed with SIGKILL mid-conversation (after a reply, or at random points
including between an answer's commit and its reply), restarted, nothing acknowledged lost."""
from __future__ import annotations

import asyncio
import os
import random
import signal
import sys

import pytest
from e2e_support import invite, rows
from helpers import screen
from sqlmodel import Session, select

from parbot.core.rules import ChoiceRule, YesNoRule
from parbot.core.services.assessment import period_tag, sequence
from parbot.i18n import t
from parbot.sandbox.emulator import ApiError
from parbot.storage.tables import AnswerRow, ScoreRow
from parbot.storage.uow import SqlUnitOfWork

pytestmark = pytest.mark.e2e
CEILING = 60.0  # generous: a process starting on a busy machine; only a hang reaches it


async def start_process(settings) -> asyncio.subprocess.Process:
    env = os.environ | {"PARBOT_DATABASE_URL": settings.database_url,
                        "TELEGRAM_BOT_TOKEN": settings.telegram_token.get_secret_value(),
                        "TELEGRAM_API_BASE": settings.telegram_api_base,
                        "PARBOT_EVIDENCE_DIR": str(settings.evidence_dir)}
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "parbot.cli.main", "bot", "run", env=env,
                                                stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)


async def test_killed_process_restarts_where_the_officer_was(settings, engine, emulator_server):
    process = await start_process(settings)
    try:
        officer = emulator_server.create_user(7301, "Lan")
        officer.send_command("start", invite(engine, "officer", "SNV"))
        await officer.wait_for_reply(timeout=20, until=lambda msgs: any(m.inline_keyboard for m in msgs))
        with SqlUnitOfWork(engine) as uow:
            current = uow.periods.current()
        slot = current.criteria_for("so").items["1.1.4"].position
        officer.forge_callback(f"{period_tag(current)}:i:SNV:{slot}")
        await officer.wait_for_reply()
        officer.send_text("9")  # the numerator; the denominator is still to come
        await officer.wait_for_reply()
        process.send_signal(signal.SIGKILL)
        await process.wait()

        process = await start_process(settings)
        officer.send_text("10")
        await officer.wait_for_reply(timeout=20)
        with Session(engine) as session:
            saved = session.exec(select(AnswerRow).where(AnswerRow.item_code == "1.1.4")).one()
        assert saved.value == {"numerator": "9", "denominator": "10"}
        assert "1.1.4. " in screen(officer).text  # evidence is asked for the item just answered

        process.send_signal(signal.SIGTERM)  # graceful stop
        assert await asyncio.wait_for(process.wait(), 15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


class HeldReplies:
    """Holds the bot's replies (edits and sends) inside the emulator once armed: the process is killed with
    the answer committed but not yet shown; released, the held replies fail unapplied, as for a dead client."""

    def __init__(self, server) -> None:
        self.armed, self.held, self.released = False, asyncio.Event(), asyncio.Event()
        methods = server.emulator._methods
        for name in ("editmessagetext", "sendmessage"):
            original = methods[name]

            async def gated(params, uploads, original=original):
                if self.armed:
                    self.held.set()
                    await self.released.wait()
                    raise ApiError(500, "Internal Server Error")
                return original(params, uploads)

            methods[name] = gated

    def arm(self) -> None:
        self.armed = True
        self.held.clear()
        self.released.clear()

    def release(self) -> None:
        self.armed = False
        self.released.set()


KILL_POINTS = ("as_sent", "between_commit_and_reply", "after_reply", "random_delay")


async def test_killed_at_random_points_keeps_every_acknowledged_answer_whole(settings, engine, emulator_server):
    """Killed as an update arrives, between its commit and its reply, after the reply, or at a random
    moment: every answer the officer saw saved survives, and no answer is kept without its score."""
    rng = random.Random(1405)
    points = [*KILL_POINTS, rng.choice(KILL_POINTS)]
    rng.shuffle(points)
    held = HeldReplies(emulator_server)
    with SqlUnitOfWork(engine) as uow:
        current = uow.periods.current()
    criteria = current.criteria_for("so")
    items = [i for i in sequence(criteria) if isinstance(i.rule, (YesNoRule, ChoiceRule))]

    def saved(code: str) -> str:  # "✅ Đã lưu 1.1.1:", the start of the answer's acknowledgement
        return t("assess.saved", "vi", item=code, points="", maximum="").split(":")[0] + ":"
    acknowledged: dict[str, dict] = {}
    committed_before_reply = 0
    process = await start_process(settings)
    try:
        officer = emulator_server.create_user(7302, "Lan")
        officer.send_command("start", invite(engine, "officer", "SNV"))
        await officer.wait_for_reply(timeout=CEILING, until=lambda msgs: any(m.inline_keyboard for m in msgs))
        for point, item in zip(points, rng.sample(items, len(points))):
            officer.forge_callback(f"{period_tag(current)}:i:SNV:{item.position}")
            await officer.wait_for_reply(timeout=CEILING, until=lambda msgs, c=item.code: any(
                f"{c}. " in (m.text or "") for m in msgs))
            button = rng.choice([b for row in screen(officer).inline_keyboard for b in row
                                 if b["callback_data"].startswith(f"{period_tag(current)}:a:SNV:{item.position}:")])
            choice = button["callback_data"].rsplit(":", 1)[1]
            value = item.rule.parse({"yes": choice} if isinstance(item.rule, YesNoRule) else {"option": choice})
            if point == "between_commit_and_reply":
                held.arm()
            officer.press(callback_data=button["callback_data"])
            if point == "between_commit_and_reply":
                await asyncio.wait_for(held.held.wait(), CEILING)
                committed_before_reply += bool(rows(engine, AnswerRow, unit_code="SNV", item_code=item.code))
            elif point == "after_reply":
                await officer.wait_for_reply(timeout=CEILING, until=lambda msgs, c=item.code: any(
                    (m.text or "").startswith(saved(c)) for m in msgs))
            elif point == "random_delay":
                await asyncio.sleep(rng.uniform(0.0, 0.5))
            process.send_signal(signal.SIGKILL)
            await process.wait()
            held.release()
            if any((m.text or "").startswith(saved(item.code)) for m in officer.bot_messages()):
                acknowledged[item.code] = value
            process = await start_process(settings)

        officer.send_command("status")  # the restarted bot serves the officer
        await officer.wait_for_reply(timeout=CEILING)
        answers = {r.item_code: r.value for r in rows(engine, AnswerRow, unit_code="SNV")}
        scores = {r.item_code for r in rows(engine, ScoreRow, unit_code="SNV", source="self")}
        assert {code: answers.get(code) for code in acknowledged} == acknowledged
        assert set(answers) == scores  # no answer without its score, no score without its answer
        assert committed_before_reply >= 1, "no kill fell between the commit and the reply"
        assert len(acknowledged) >= points.count("after_reply")
    finally:
        held.release()
        if process.returncode is None:
            process.kill()
            await process.wait()
