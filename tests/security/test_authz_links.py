"""The signed web-link pages in the authorization matrix (authz_table.LINK_PAGES × LINK_CASES), over HTTP on
SQLite and PostgreSQL: a link of another person, unit, item or purpose, tampered, expired, after the member was
removed or (for the evidence upload) after the deadline is refused on every page with every table and the
evidence folder unchanged; the own link's upload replayed once saved writes nothing new; the rules page shows
the item's title to its own link and writes nothing. The chart page besides by role (authz_table.CHART_ALLOWED):
every role's link to a chart of its own unit, another unit, its own block's ranking and another block's, served
only while the person's grants cover what the chart shows, refused with nothing written otherwise."""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from bot_session import fingerprint
from callers import ADMIN
from e2e_support import NOW as PROVINCE_NOW
from e2e_support import load_province
from link_fixtures import CLOSES, KEY, NOW, OPENS, PDF, world  # noqa: F401 - the shared fixture

from authz_table import (CHART_ALLOWED, CHART_SCOPES, GRANTS, LINK_ALLOWED, LINK_CASES, LINK_PAGES, LINK_PURPOSES,
                         ROLES, UNITS)
from parbot.bot.deps import Deps
from parbot.bot.web.app import ChartLinks, build_app, chart_store
from parbot.core.permissions import Grant, Role
from parbot.core.links import LinkClaims, sign
from parbot.core.services import links as link_svc
from parbot.core.services import people
from parbot.i18n import t
from parbot.settings import Settings
from parbot.storage.evidence_store import EvidenceStore
from parbot.storage.uow import SqlUnitOfWork

ITEM = "1.1.1"
CHART = b"\x89PNG\r\n\x1a\n a chart of X1"


def _tampered(token: str, **claims) -> str:
    """The token with claims changed in its body and the original signature kept."""
    body, _, mac = token.partition(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))) | claims
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode() + "." + mac


class Pages:
    def __init__(self, session: aiohttp.ClientSession, engine, evidence, clock: list) -> None:
        self.session, self.engine, self.evidence, self.clock = session, engine, evidence, clock

    async def open(self, method: str, token: str, page: str = "/l/evidence/{token}") -> tuple[int, str]:
        """The status and the page's text (an image: ``image:`` and its SHA-256)."""
        path = page.format(token=token)
        if method == "GET":
            async with self.session.get(path) as page:
                if page.content_type == "image/png":
                    return page.status, f"image:{hashlib.sha256(await page.read()).hexdigest()}"
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
    if purpose == "chart":  # a chart of the unit's result, stored as the Zalo sender stores it
        unit = lambda code: link_svc.chart_scope(2020, unit_code=code)  # noqa: E731
        claims = LinkClaims(purpose="chart", person_id=officer.person_id, unit_code=unit("X1"),
                            item_code=chart_store(EvidenceStore(pages.evidence)).put(CHART).sha256,
                            expires_at=NOW + timedelta(hours=2))
        own = sign(claims, KEY)
    else:
        unit = lambda code: code  # noqa: E731
        own, claims = link_svc.issue(SqlUnitOfWork(pages.engine), caller=officer, key=KEY, purpose=purpose,
                                     unit_code="X1", item_code=ITEM, now=NOW, ttl=timedelta(hours=2))
    foreign = "rules" if purpose == "evidence" else "evidence"
    signed = {"other_person": replace(claims, person_id=other_id), "other_unit": replace(claims, unit_code=unit("X2")),
              "other_item": replace(claims, item_code="9.9.9"), "other_purpose": replace(claims, purpose=foreign),
              "expired": replace(claims, expires_at=NOW - timedelta(seconds=1)),
              # the deadline moved before the link's own expiry: only the use-time check can refuse it
              "after_deadline": replace(claims, expires_at=CLOSES + timedelta(days=30))}
    if case in signed:  # a genuine signature the bot would never have issued: the use re-checks everything
        own = sign(signed[case], KEY)
    if case == "tampered":
        own = _tampered(own, c=unit("X2"))
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
    elif page == "/l/chart/{token}":  # the stored chart itself, nothing written
        assert status == 200 and changed == [], (status, changed)
        assert text == f"image:{hashlib.sha256(CHART).hexdigest()}"
    elif page == "/l/rules/{token}":  # read-only: the item's code and title, nothing written
        assert status == 200 and changed == [], (status, changed)
        assert f"<h2>{ITEM}. " in text and "Điểm tối đa" in text
    elif case == "replayed" or method == "GET":
        assert status == 200 and changed == [], (method, status, changed)
        assert method == "GET" or "đã có trong hồ sơ" in text
    else:  # the own link's upload: the file, its evidence row, its audit and the chat's confirmation
        assert status == 200 and "Đã nhận tệp" in text
        assert {"evidence", "audit", "outbox", "files"} <= set(changed), changed


class ChartSite:
    """The 2020 province with one person per role (authz_table.GRANTS; "removed" removed), parbot's pages, and
    charts stored and linked as the Zalo sender does."""

    def __init__(self, engine, store: EvidenceStore, http: aiohttp.ClientSession, links: ChartLinks, ids: dict):
        self.engine, self.store, self.http, self.links, self.ids = engine, store, http, links, ids

    def link(self, person_id: int, png: bytes, **shows) -> tuple[str, bytes]:
        """The chart stored and its link, for the person, showing a unit (``unit_code``) or ranking (``block``)."""
        return self.links.url(person_id, link_svc.chart_scope(2020, **shows), png, PROVINCE_NOW), png

    async def fetch(self, link: tuple[str, bytes]) -> tuple[bool, str]:
        """Whether the chart's link served it (False: refused with the reason, nothing written), and what else
        happened ("" or the problem: any other answer, or something written)."""
        url, png = link
        before = fingerprint(self.engine, self.store.root)
        async with self.http.get(url) as page:
            status, body = page.status, await page.read()
        changed = sorted(k for k, v in fingerprint(self.engine, self.store.root).items() if before[k] != v)
        served = status == 200 and body == png
        refused = status == 403 and b'class="err"' in body and b"Traceback" not in body
        return served, "" if (served or refused) and not changed else f"{status} {body[:80]!r}, wrote {changed}"


@pytest.fixture
async def charts(engine, tmp_path):
    load_province(engine, leaders_see_block_ranking=True)
    ids = {}
    with SqlUnitOfWork(engine) as uow:
        for role in ROLES:
            ids[role] = uow.people.create(role, "vi").id
            if role in GRANTS:
                name, unit, block = GRANTS[role]
                uow.roles.add(ids[role], Grant(Role(name), unit, block))
        uow.commit()
    people.remove_member(SqlUnitOfWork(engine), caller=ADMIN, who=f"p{ids['removed']}", now=PROVINCE_NOW)
    store = EvidenceStore(tmp_path / "evidence")
    runner = web.AppRunner(build_app(Deps(settings=Settings(_env_file=None, PARBOT_LINK_SECRET=KEY), engine=engine,
                                          store=store, clock=lambda: PROVINCE_NOW)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    links = ChartLinks(f"http://127.0.0.1:{runner.addresses[0][1]}", KEY, chart_store(store), timedelta(hours=2))
    async with aiohttp.ClientSession() as http:
        yield ChartSite(engine, store, http, links, ids)
    await runner.cleanup()


async def test_a_chart_is_served_only_to_a_person_whose_grants_cover_what_it_shows(charts):
    """Every role (a person removed since the chart was sent among them) × a chart of its own unit, of another
    unit, of its own block's ranking and another block's: served as CHART_ALLOWED says, else 403 with the
    reason and every table and the chart folder unchanged."""
    with SqlUnitOfWork(charts.engine) as uow:
        blocks = {u.code: u.block for u in uow.units.list(year=2020)}
    failures = []
    for role in ROLES:
        own, other = UNITS[role]
        shows = {"own": {"unit_code": own}, "other": {"unit_code": other}, "own_block": {"block": blocks[own]},
                 "other_block": {"block": next(b for b in ("so", "xa") if b != blocks[own])}}
        for case in CHART_SCOPES:
            served, problem = await charts.fetch(charts.link(charts.ids[role], f"{case} for {role}".encode(),
                                                             **shows[case]))
            if problem or served != (case in CHART_ALLOWED[role]):
                failures.append(f"{role} {case}: served={served} {problem}")
    assert not failures, "\n".join(failures)


async def test_a_chart_sent_before_an_officer_moved_or_a_leader_was_demoted_is_refused_after(charts):
    """The grants are read when the link is used: the officer's chart of SNV is refused once they were moved to
    STC (whose chart they now get), the leader's block ranking once they are an officer of the unit only."""
    officer, leader = charts.ids["officer"], charts.ids["unit_leader"]
    sent = {"officer": charts.link(officer, b"SNV", unit_code="SNV"), "leader": charts.link(leader, b"so", block="so")}
    for link in sent.values():
        assert (await charts.fetch(link)) == (True, "")
    people.remove_member(SqlUnitOfWork(charts.engine), caller=ADMIN, who=f"p{officer}", now=PROVINCE_NOW)
    people.remove_member(SqlUnitOfWork(charts.engine), caller=ADMIN, who=f"p{leader}", now=PROVINCE_NOW)
    with SqlUnitOfWork(charts.engine) as uow:
        uow.roles.add(officer, Grant(Role.OFFICER, "STC"))
        uow.roles.add(leader, Grant(Role.OFFICER, "SNV"))
        uow.commit()
    for link in sent.values():  # the same links, used after the change
        assert (await charts.fetch(link)) == (False, "")
    assert (await charts.fetch(charts.link(officer, b"STC", unit_code="STC"))) == (True, "")
    assert (await charts.fetch(charts.link(leader, b"SNV result", unit_code="SNV"))) == (True, "")


def test_the_table_covers_every_link_page(engine, tmp_path):
    """A page behind a signed link added to the web app without its cases fails here."""
    app = build_app(Deps(settings=Settings(_env_file=None), engine=engine, store=EvidenceStore(tmp_path)))
    routes = {(r.method, r.resource.canonical) for r in app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/l/") and r.method != "HEAD"}
    assert routes == LINK_PAGES
    assert {page for _, page in LINK_PAGES} == LINK_PURPOSES.keys() == LINK_ALLOWED.keys()
    assert all(allowed <= set(LINK_CASES) for allowed in LINK_ALLOWED.values())
    assert LinkClaims.__dataclass_fields__.keys() == {"purpose", "person_id", "unit_code", "item_code",
                                                      "expires_at", "nonce"}  # each claim but the nonce has a case
