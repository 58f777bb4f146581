"""The training sandbox in a real browser: Playwright drives Debian's Chromium (headless) through the page,
an officer completes an area by clicking and typing, and a second trainee works at the same time."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from helpers import typed_answer  # noqa: E402

from parbot.core.conversation.views import typed  # noqa: E402
from parbot.core.rules import YesNoRule  # noqa: E402
from parbot.i18n import t  # noqa: E402
from parbot.sandbox.webchat import Sandbox  # noqa: E402
from parbot.storage.tables import EvidenceRow, ScoreRow  # noqa: E402
from parbot.storage.uow import SqlUnitOfWork  # noqa: E402

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
AREA = "4"


@pytest.fixture
async def browser():
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must run the browser test")
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def sandbox(tmp_path):
    async with Sandbox(tmp_path / "sandbox") as running:
        yield running


async def join(page, sandbox, name: str, unit: str, role: str):
    await page.goto(sandbox.url)
    await page.fill("#name", name)
    await page.select_option("#unit", unit)
    await page.check(f"input[name=role][value={role}]")
    await page.click("#enter")
    await page.wait_for_selector("#chat:not([hidden])")
    user_id = max(u for u in sandbox.server.emulator.users)
    return sandbox.server.emulator.chats[user_id]


async def settle(page, chat, before: int) -> None:
    """Wait for the bot to answer the action (in the emulator), then for the page to show that answer."""
    await chat.wait_until(lambda: any(m.from_bot and m.version > before for m in chat.messages.values()), 10)
    latest = max((m for m in chat.messages.values() if m.from_bot), key=lambda m: m.version)
    lines = [line for line in (latest.text or latest.caption or "").splitlines() if line.strip()]
    bubble = page.locator(f'.msg[data-message-id="{latest.message_id}"] .bubble')
    for line in lines[:1] + lines[-1:]:
        await bubble.filter(has_text=line.strip()).wait_for(timeout=10_000)


async def act(page, chat, action) -> None:
    before = chat.version
    await action()
    await settle(page, chat, before)


def screen(page):
    """The latest bot message with buttons: what the trainee looks at."""
    return page.locator(".msg.bot:has(.keyboard)").last


async def test_an_officer_completes_an_area_in_the_browser(browser, sandbox):
    with SqlUnitOfWork(sandbox.engine) as uow:
        criteria = uow.periods.current().criteria_for("tinh")
    area_items = {code: criteria.items[code] for code in criteria.areas[int(AREA) - 1].item_codes}

    page = await browser.new_page(viewport={"width": 720, "height": 900})
    chat = await join(page, sandbox, "Nguyễn Thị Lan", "SNV", "officer")
    area_button = page.get_by_role("button", name=re.compile(rf"^▫️ {AREA}\. "))
    await area_button.wait_for()
    welcome = page.locator(".msg.bot").first
    assert "Nguyễn Thị Lan" in await welcome.inner_text() and "Sở Nội vụ" in await welcome.inner_text()
    await act(page, chat, area_button.click)

    answered, files = set(), 0
    evidence_prompt = t("assess.need_evidence", "vi")
    for _ in range(3 * len(area_items)):
        text = await screen(page).inner_text()
        code = next((c for c in area_items if re.search(rf"^{re.escape(c)}\. ", text, re.M)), None)
        if code is None or (code in answered and evidence_prompt not in text):
            break
        item = area_items[code]
        if code not in answered:
            if isinstance(item.rule, YesNoRule):
                await act(page, chat, screen(page).get_by_role("button", name=f"✅ {item.rule.yes_label}").click)
            else:
                assert typed(item), code
                for value in typed_answer(item):
                    await page.fill("#text", value)
                    await act(page, chat, lambda: page.press("#text", "Enter"))
            answered.add(code)
            text = await screen(page).inner_text()
        if evidence_prompt in text:
            if files == 0:  # the first piece of evidence as a file, the others as a document number
                files += 1
                await act(page, chat, lambda: page.set_input_files("#file", files=[{
                    "name": f"QD-{code}.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}]))
            else:
                await page.fill("#text", "Quyết định số 1045/QĐ-UBND ngày 20/6/2020")
                await act(page, chat, lambda: page.press("#text", "Enter"))
            await act(page, chat, screen(page).get_by_role("button", name=t("button.next_unanswered", "vi")).click)
    assert answered == set(area_items)
    assert await page.locator(".msg.me", has_text="QD-").count() == 1  # the file shows as sent

    await act(page, chat, screen(page).get_by_role("button", name=t("button.menu", "vi")).click)
    done = page.get_by_role("button", name=re.compile(rf"^✅ {AREA}\. .* · {len(area_items)}\/{len(area_items)}$"))
    await done.wait_for()

    with Session(sandbox.engine) as session:
        scores = session.exec(select(ScoreRow).where(ScoreRow.unit_code == "SNV", ScoreRow.source == "self")).all()
        evidence = session.exec(select(EvidenceRow).where(EvidenceRow.unit_code == "SNV")).all()
    assert {s.item_code for s in scores} == set(area_items)
    assert [e.file_name for e in evidence if e.kind == "file"] == [next(f"QD-{c}.pdf" for c in area_items
                                                                        if area_items[c].evidence == "required")]

    # A second trainee at the same time, in another browser context: their own account and chat.
    other = await (await browser.new_context()).new_page()
    other_chat = await join(other, sandbox, "Trần Văn Hùng", "X01", "appraiser")
    await other.locator(".msg.bot", has_text="Trần Văn Hùng").first.wait_for()
    assert other_chat.id != chat.id
    assert await other.locator(".msg.bot", has_text="Nguyễn Thị Lan").count() == 0

    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "sandbox.png"))
