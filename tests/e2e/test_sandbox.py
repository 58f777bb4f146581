"""`parbot sandbox` as a training session meets it (issue 12): the year assessed agrees with the deadline
shown, roles read in Vietnamese with the unit's and block's names, never their codes."""
from __future__ import annotations

import logging
import re

import aiohttp
import pytest

from parbot.sandbox.webchat import ROLES, WEB, Sandbox
from parbot.storage.uow import SqlUnitOfWork
from tests.unit.test_vietnamese_output import english

pytestmark = pytest.mark.e2e
WAIT = 60  # a generous ceiling on a busy machine; the bot answers in well under a second


def texts(messages) -> str:
    return "\n".join(m.text or m.caption or "" for m in messages)


async def test_trainees_read_their_roles_by_name_and_a_year_that_matches_the_deadline(tmp_path):
    async with Sandbox(tmp_path / "sandbox") as sandbox:
        seen = {}
        for role, welcome in (("officer", "Cán bộ đầu mối của Sở Nội vụ"), ("unit_leader", "Lãnh đạo Sở Nội vụ"),
                              ("appraiser", "Thành viên thẩm định khối ")):
            trainee = await sandbox.add_trainee(f"Học viên {len(seen) + 1}", "SNV", role, "tinh")
            user = sandbox.server.user(trainee.user_id)
            until = (lambda ms: "Chỉ số CCHC năm" in texts(ms)) if role == "officer" else None
            seen[role] = texts(await user.wait_for_reply(WAIT, until=until))
            assert welcome in seen[role], seen[role]
    for role, text in seen.items():
        assert not re.search(r"unit_leader|appraiser|officer|khối (so|tinh)\b|đơn vị SNV|\(đơn vị +khối", text), text
        assert english(text) == [], text
    year = int(re.search(r"Chỉ số CCHC năm (\d{4})", seen["officer"]).group(1))
    deadline = int(re.search(r"hạn \d\d:\d\d \d\d/\d\d/(\d{4})", seen["officer"]).group(1))
    assert deadline == year + 1


async def test_the_page_names_the_trainees_role_and_unit(tmp_path):
    async with Sandbox(tmp_path / "sandbox") as sandbox:
        async with aiohttp.ClientSession() as session:
            async with session.post(sandbox.url + "api/trainees",
                                    json={"name": "Học viên", "unit": "SNV", "role": "leader"}) as response:
                trainee = await response.json()
    assert trainee["role"] == "unit_leader" and trainee["unit_name"] == "Sở Nội vụ"
    page = (WEB / "app.js").read_text(encoding="utf-8")
    names = re.search(r"const ROLE_NAMES = \{(.*?)\};", page).group(1)
    assert all(f"{role}:" in names for role in ROLES.values())  # no role code shown for want of a name
    assert "trainee.unit_name" in page


async def test_trainees_pick_from_todays_departments_and_communes_and_stopping_logs_no_error(tmp_path, caplog):
    """The 2020 sample moved to this year would offer only the three departments (its districts and communes
    ended in 2024): the sandbox trains on the two-level structure of 2025, every unit valid this year."""
    async with Sandbox(tmp_path / "sandbox") as sandbox:
        async with aiohttp.ClientSession() as session:
            async with session.get(sandbox.url + "api/units") as response:
                offered = await response.json()
        with SqlUnitOfWork(sandbox.engine) as uow:
            year = uow.periods.current().year
            valid = {u.code for u in uow.units.list(year=year)}
    assert {u["block"] for u in offered} == {"tinh", "xa"}
    assert {u["code"] for u in offered} == valid and len(valid) == 19
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
