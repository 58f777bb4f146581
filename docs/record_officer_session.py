"""Record a real officer session (the bot against the Bot API emulator) into docs/officer-guide.md.

Run: .venv/bin/python docs/record_officer_session.py
The transcript replaces the text between the TRANSCRIPT markers of the guide.
"""
from __future__ import annotations

import asyncio
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from parbot.bot.app import build_application, run_post_init
from parbot.core.period import Deadlines, PeriodConfig
from parbot.core.permissions import Caller
from parbot.core.services import people, periods, units
from parbot.sandbox.emulator import EmulatorServer
from parbot.settings import Settings
from parbot.storage.db import make_engine, upgrade
from parbot.storage.files import read_table
from parbot.storage.uow import SqlUnitOfWork

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "officer-guide.md"
BEGIN, END = "<!-- TRANSCRIPT BEGIN -->", "<!-- TRANSCRIPT END -->"
SETUP = Caller.admin("cli:guide")  # the administrator who sets the province up, as the command line does


def render(message) -> str:
    """A bot message as the officer sees it at that moment (edited messages say so)."""
    lines = ["**🤖 Bot" + (" (sửa tin nhắn trước)" if message.edited else "") + ":**", "", "```", message.text, "```"]
    lines += ["  " + " | ".join(f"[{b}]" for b in row) for row in message.button_texts]
    return "\n".join(lines)


async def record() -> str:
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/parbot.db")
        upgrade(engine)
        periods.save_period(SqlUnitOfWork(engine), caller=SETUP, config=PeriodConfig(
            year=2020, criteria={"so": "2020-so.yaml", "huyen": "2020-huyen.yaml", "xa": "2020-xa.yaml"},
            deadlines=Deadlines(self_assessment_opens=now - timedelta(days=1),
                                self_assessment_closes=now + timedelta(days=12))))
        header, rows = read_table(ROOT / "parbot" / "samples" / "units-2020.csv")
        units.import_units(SqlUnitOfWork(engine), caller=SETUP, header=header, rows=rows)
        code, _ = people.create_invite(SqlUnitOfWork(engine), caller=SETUP, role="officer",
                                       expires_in=timedelta(days=14), now=now, unit_code="X0101")
        async with EmulatorServer() as server:
            settings = Settings(_env_file=None, PARBOT_DATABASE_URL=f"sqlite:///{tmp}/parbot.db",
                                TELEGRAM_BOT_TOKEN=server.token, TELEGRAM_API_BASE=server.base_url,
                                PARBOT_EVIDENCE_DIR=f"{tmp}/evidence")
            app = build_application(settings, engine)
            await app.initialize()
            await run_post_init(app)
            await app.start()
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
            try:
                officer = server.create_user(9001, "Lan")
                steps = [("gõ", f"/start {code}", lambda: officer.send_command("start", code)),
                         ("bấm", "▫️ 1. Chỉ đạo điều hành · 0/9", None),
                         ("bấm", "Ban hành kịp thời", None),
                         ("gửi tệp", "QD ban hanh KH CCHC 2020.pdf", lambda: officer.send_document(
                             b"%PDF-1.4 demo", "QD ban hanh KH CCHC 2020.pdf", "application/pdf")),
                         ("bấm", "➡️ Câu chưa trả lời tiếp theo", None),
                         ("bấm", "Có", None), ("bấm", "Có", None),
                         ("gõ", "15/KH-UBND ngày 10/01/2020", None),
                         ("bấm", "➡️ Câu chưa trả lời tiếp theo", None),
                         ("bấm", "✅ Đạt yêu cầu", None), ("bấm", "✍️ Giải trình", None),
                         ("gõ", "Kế hoạch giao nhiệm vụ cho từng bộ phận; văn bản giao đang trình ký.", None),
                         ("bấm", "➡️ Câu chưa trả lời tiếp theo", None),
                         ("gõ", "1.000", None), ("gõ", "9", None), ("gõ", "10", None),
                         ("gõ", "/status", lambda: officer.send_command("status"))]
                parts = []
                for verb, what, action in steps:
                    if action is None:
                        action = (lambda w=what: officer.press(w)) if verb == "bấm" else \
                            (lambda w=what: officer.send_text(w))
                    action()
                    await asyncio.sleep(0.3)  # answers of several messages land before they are read
                    changed = await officer.wait_for_reply()
                    parts.append(f"**👤 Cán bộ {verb}:** `{what}`")
                    parts += [render(m) for m in changed]
            finally:
                await app.updater.stop()
                await app.stop()
                await app.shutdown()
            return "\n\n".join(parts)


def main() -> None:
    transcript = asyncio.run(record())
    text = GUIDE.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    GUIDE.write_text(f"{head}{BEGIN}\n\n{transcript}\n\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
