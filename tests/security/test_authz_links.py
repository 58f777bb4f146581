"""The signed web-link pages in the authorization matrix (authz_table.LINK_PAGES × LINK_CASES), over HTTP on
SQLite and PostgreSQL: a link of another person, unit, item or purpose, tampered, expired, after the member was
removed or (for the evidence upload) after the deadline is refused on every page with every table and the
evidence folder unchanged; the own link's upload replayed once saved writes nothing new; the rules page shows
the item's title to its own link and writes nothing."""
from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from bot_session import fingerprint
from callers import ADMIN
from link_fixtures import CLOSES, KEY, NOW, OPENS, PDF, world  # noqa: F401 - the shared fixture

from authz_table import LINK_ALLOWED, LINK_CASES, LINK_PAGES, LINK_PURPOSES
from parbot.bot.deps import Deps
from parbot.bot.web.app import build_app
from parbot.core.links import LinkClaims, sign
from parbot.core.services import links as link_svc
from parbot.core.services import people
from parbot.i18n import t
from parbot.settings import Settings
from parbot.storage.evidence_store import EvidenceStore
from parbot.storage.uow import SqlUnitOfWork

ITEM = "1.1.1"


def _tampered(token: str, **claims) -> str:
    """The token with claims changed in its body and the original signature kept."""
    body, _, mac = token.partition(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))) | claims
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode() + "." + mac


class Pages:
    def __init__(self, session: aiohttp.ClientSession, engine, evidence, clock: list) -> None:
        self.session, self.engine, self.evidence, self.clock = session, engine, evidence, clock

    async def open(self, method: str, token: str, page: str = "/l/evidence/{token}") -> tuple[int, str]:
        path = page.format(token=token)
        if method == "GET":
            async with self.session.get(path) as page:
                return page.status, await page.text()
        form = aiohttp.FormData()
        form.add_field("file", PDF, filename="kế hoạch.pdf", content_type="application/pdf")
        async with self.session.post(path, data=form) as page:
            return page.status, await page.text()

    def written(self) -> dict:
        return fingerprint(self.engine, self.evidence)


@pytest.fixture
async def pages(world, engine, tmp_path):  # noqa: F811
    uow, officer = world
    code, _ = people.create_invite(uow, caller=ADMIN, role="officer", expires_in=timedelta(days=30), now=OPENS,
                                   unit_code="X2")
    other = people.accept_invite(uow, code, telegram_id=101, chat_id=5101, name="Minh", language="vi", now=OPENS)[0]
    clock, evidence = [NOW], tmp_path / "evidence"
    deps = Deps(settings=Settings(_env_file=None, PARBOT_LINK_SECRET=KEY), engine=engine,
                store=EvidenceStore(evidence), clock=lambda: clock[0])
    runner = web.AppRunner(build_app(deps))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    async with aiohttp.ClientSession(f"http://127.0.0.1:{runner.addresses[0][1]}") as session:
        yield Pages(session, engine, evidence, clock), officer, other.id
    await runner.cleanup()


async def link_for(case: str, pages: Pages, officer, other_id: int, purpose: str) -> str:
    """The link of ``case`` for a page of ``purpose``, and the world changed as the case needs (before the page
    is opened)."""
    own, claims = link_svc.issue(SqlUnitOfWork(pages.engine), caller=officer, key=KEY, purpose=purpose,
                                 unit_code="X1", item_code=ITEM, now=NOW, ttl=timedelta(hours=2))
    foreign = "rules" if purpose == "evidence" else "evidence"
    signed = {"other_person": replace(claims, person_id=other_id), "other_unit": replace(claims, unit_code="X2"),
              "other_item": replace(claims, item_code="9.9.9"), "other_purpose": replace(claims, purpose=foreign),
              "expired": replace(claims, expires_at=NOW - timedelta(seconds=1)),
              # the deadline moved before the link's own expiry: only the use-time check can refuse it
              "after_deadline": replace(claims, expires_at=CLOSES + timedelta(days=30))}
    if case in signed:  # a genuine signature the bot would never have issued: the use re-checks everything
        own = sign(signed[case], KEY)
    if case == "tampered":
        own = _tampered(own, c="X2")
    if case == "removed":
        people.remove_member(SqlUnitOfWork(pages.engine), caller=ADMIN, who=f"p{officer.person_id}", now=NOW)
    if case == "after_deadline":
        pages.clock[0] = CLOSES + timedelta(minutes=1)
    if case == "replayed" and purpose == "evidence":
        status, text = await pages.open("POST", own)
        assert status == 200 and "Đã nhận tệp" in text
    return own


@pytest.mark.parametrize("case", LINK_CASES)
@pytest.mark.parametrize("method,page", sorted(LINK_PAGES))
async def test_every_link_is_allowed_or_refused_on_every_page_as_the_table_says(pages, case, method, page):
    site, officer, other_id = pages
    token = await link_for(case, site, officer, other_id, LINK_PURPOSES[page])
    before = site.written()
    status, text = await site.open(method, token, page)
    after = site.written()
    changed = sorted(k for k in before if before[k] != after[k])
    if case not in LINK_ALLOWED[page]:
        assert status == 403 and 'class="err"' in text and "Traceback" not in text, (method, status, text)
        assert t("error.generic", "vi") not in text  # the reason in words, not "something went wrong"
        assert changed == [], f"{case} {method}: refused but wrote {changed}"
    elif page == "/l/rules/{token}":  # read-only: the item's code and title, nothing written
        assert status == 200 and changed == [], (status, changed)
        assert f"<h2>{ITEM}. " in text and "Điểm tối đa" in text
    elif case == "replayed" or method == "GET":
        assert status == 200 and changed == [], (method, status, changed)
        assert method == "GET" or "đã có trong hồ sơ" in text
    else:  # the own link's upload: the file, its evidence row, its audit and the chat's confirmation
        assert status == 200 and "Đã nhận tệp" in text
        assert {"evidence", "audit", "outbox", "files"} <= set(changed), changed


def test_the_table_covers_every_link_page(engine, tmp_path):
    """A page behind a signed link added to the web app without its cases fails here."""
    app = build_app(Deps(settings=Settings(_env_file=None), engine=engine, store=EvidenceStore(tmp_path)))
    # the chart page serves a stored PNG by its hash, not an item: tests/e2e/test_reports_e2e.py fetches it
    routes = {(r.method, r.resource.canonical) for r in app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/l/") and r.method != "HEAD"
              and r.resource.canonical != "/l/chart/{token}"}
    assert routes == LINK_PAGES
    assert {page for _, page in LINK_PAGES} == LINK_PURPOSES.keys() == LINK_ALLOWED.keys()
    assert all(allowed <= set(LINK_CASES) for allowed in LINK_ALLOWED.values())
    assert LinkClaims.__dataclass_fields__.keys() == {"purpose", "person_id", "unit_code", "item_code",
                                                      "expires_at", "nonce"}  # each claim but the nonce has a case
