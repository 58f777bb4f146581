"""The evidence upload page behind a signed link, through HTTP: form, upload, refusals, /healthz."""
from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from link_fixtures import KEY, NOW, PDF, world  # noqa: F401  (the shared fixture)

from parbot.bot.deps import Deps
from parbot.bot.web.app import build_app
from parbot.core.services import links as link_svc
from parbot.settings import Settings
from parbot.storage.evidence_store import EvidenceStore


@pytest.fixture
async def site(world, engine, tmp_path):  # noqa: F811
    uow, officer = world
    deps = Deps(settings=Settings(PARBOT_LINK_SECRET=KEY), engine=engine, store=EvidenceStore(tmp_path),
                clock=lambda: NOW)
    runner = web.AppRunner(build_app(deps))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    token, _ = link_svc.issue(uow, caller=officer, key=KEY, purpose="evidence", unit_code="X1", item_code="1.1.1",
                              now=NOW, ttl=timedelta(hours=2))
    async with aiohttp.ClientSession(f"http://127.0.0.1:{runner.addresses[0][1]}") as session:
        yield session, token, uow
    await runner.cleanup()


async def test_form_upload_and_duplicate(site):
    session, token, uow = site
    async with session.get(f"/l/evidence/{token}") as page:
        body = await page.text()
    assert page.status == 200 and "Gửi tài liệu kiểm chứng" in body and 'type="file"' in body and "1.1.1" in body
    for expected in ("Đã nhận tệp", "đã có trong hồ sơ"):
        form = aiohttp.FormData()
        form.add_field("file", PDF, filename="quyết định.pdf", content_type="application/octet-stream")
        async with session.post(f"/l/evidence/{token}", data=form) as answer:
            assert answer.status == 200 and expected in await answer.text()
    with uow:
        evidence = uow.evidence.for_unit(uow.periods.current().id, "X1")
    assert [(e.item_code, e.mime_type, e.file_name) for e in evidence] == [("1.1.1", "application/pdf",
                                                                             "quyết định.pdf")]


async def test_tampered_link_and_bad_file_are_refused_in_vietnamese(site):
    session, token, _ = site
    async with session.get(f"/l/evidence/{token[:-3]}xyz") as page:
        assert page.status == 403 and "Liên kết không hợp lệ" in await page.text()
    form = aiohttp.FormData()
    form.add_field("file", b"<script>alert(1)</script>", filename="<b>x</b>.pdf")
    async with session.post(f"/l/evidence/{token}", data=form) as answer:
        text = await answer.text()
    assert answer.status == 403 and "Loại tệp không được nhận" in text and "<script>" not in text


async def test_healthz_reports_database_and_backlog(site):
    session, _, _ = site
    async with session.get("/healthz") as answer:
        assert answer.status == 200 and (await answer.json()) == {"database": "ok", "backlog": 0}
