"""aiohttp pages for what a chat cannot carry, behind signed links: a phone-sized evidence upload form and
an item's full rules; and /healthz for the operator. Pages are Vietnamese (the person's language when known); every text is
escaped; errors are the catalog's message, never a traceback."""
from __future__ import annotations

import asyncio
import html
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote

from aiohttp import web
from sqlalchemy import text

from parbot.bot.deps import Deps
from parbot.core.conversation import views
from parbot.core.errors import DomainError
from parbot.core.links import url as link_url
from parbot.core.services import assessment
from parbot.core.services import links as link_svc
from parbot.i18n import error_text, t
from parbot.settings import Settings
from parbot.storage.evidence_store import EvidenceStore

log = logging.getLogger(__name__)
DEPS_KEY = web.AppKey("deps", Deps)
UPLOAD_LIMIT = assessment.DOWNLOAD_LIMIT + 64 * 1024  # the file and the form around it

_PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:1rem auto;padding:0 1rem;line-height:1.5}}
input,button{{font-size:1.1rem;width:100%;margin:.5rem 0;padding:.6rem}}.err{{color:#a00}}.ok{{color:#070}}
.text{{white-space:pre-wrap}}</style>
</head><body><h1>{title}</h1>{body}</body></html>"""


def _page(title: str, body: str, lang: str = "vi", status: int = 200) -> web.Response:
    return web.Response(text=_PAGE.format(lang=lang, title=html.escape(title), body=body), status=status,
                        content_type="text/html", charset="utf-8")


def _lang(request: web.Request) -> str:
    return "en" if request.query.get("lang") == "en" else request.app[DEPS_KEY].settings.language


def _refused(request: web.Request, error: DomainError, title: str = "web.evidence.title") -> web.Response:
    lang = _lang(request)
    deps = request.app[DEPS_KEY]
    message = html.escape(error_text(error, lang, deps.settings.timezone))
    return _page(t(title, lang), f'<p class="err">{message}</p>', lang, status=403)


def _form(view: assessment.ItemView, lang: str, note: str = "") -> str:
    intro = t("web.evidence.intro", lang, unit=view.ws.unit.name, item=view.item.code, question=view.item.question)
    return (f"{note}<p>{html.escape(intro)}</p><form method=\"post\" enctype=\"multipart/form-data\">"
            f"<label>{html.escape(t('web.evidence.choose', lang))}"
            f"<input type=\"file\" name=\"file\" accept=\".pdf,.docx,.xlsx,image/*\" required></label>"
            f"<button type=\"submit\">{html.escape(t('web.evidence.send', lang))}</button></form>")


async def _item_page(request: web.Request, open_view: Callable[..., assessment.ItemView], title: str,
                     body: Callable[[assessment.ItemView, str], str]) -> web.Response:
    """A page of one item behind a signed link: the view the link opens, or the refusal with its reason."""
    deps, lang = request.app[DEPS_KEY], _lang(request)
    try:
        view = await asyncio.to_thread(open_view, deps.uow(), key=deps.link_secret(),
                                       token=request.match_info["token"], now=deps.now())
    except DomainError as error:
        return _refused(request, error, title)
    return _page(t(title, lang), body(view, lang), lang)


async def evidence_page(request: web.Request) -> web.Response:
    return await _item_page(request, link_svc.evidence_form, "web.evidence.title", _form)


async def evidence_upload(request: web.Request) -> web.Response:
    deps, lang = request.app[DEPS_KEY], _lang(request)
    token = request.match_info["token"]
    data, name = b"", ""
    async for part in await request.multipart():
        if part.name == "file" and part.filename is not None:
            data, name = bytes(await part.read()), _file_name(part.filename)
    if not data:
        return _refused(request, DomainError("evidence.empty"))
    try:
        view, added = await asyncio.to_thread(link_svc.upload_evidence, deps.uow(), key=deps.link_secret(), store=deps.store,
                                              token=token, data=data, file_name=name, now=deps.now())
    except DomainError as error:
        return _refused(request, error)
    note = t("web.evidence.saved" if added else "web.evidence.duplicate", lang, name=name)
    return _page(t("web.evidence.title", lang), _form(view, lang, f'<p class="ok">{html.escape(note)}</p>'), lang)


def _rules(view: assessment.ItemView, lang: str) -> str:
    """The item as the chat explains it, uncut: rule, guidance, evidence asked for, the unit's answer."""
    item, ws, answer = view.item, view.ws, view.answer

    def p(text: str, css: str = "text") -> str:
        return f'<p class="{css}">{html.escape(text)}</p>'

    parts = [p(views.header(ws, lang)), f"<h2>{html.escape(f'{item.code}. {item.label(lang)}')}</h2>"]
    if item.prompt(lang) != item.label(lang):
        parts.append(p(f"❓ {item.prompt(lang)}"))
    parts += [p(t("assess.item.maximum", lang, maximum=views.num(item.maximum, lang))),
              p(t("assess.item.scoring", lang, how=item.rule.describe(item.maximum, ws.unit.block, lang)))]
    if item.guidance:
        parts.append(p(t("assess.item.guidance", lang, guidance=item.guidance)))
    parts.append(p(t(f"web.rules.evidence.{item.evidence}", lang)))
    parts.append(p(views.answer_line(item, answer, lang)))
    if view.evidence:
        names = ", ".join(e.file_name or e.reference or t("assess.evidence.photo", lang) for e in view.evidence)
        parts.append(p(t("assess.item.evidence", lang, count=len(view.evidence), names=names)))
    if answer is not None and answer.explanation:
        parts.append(p(t("assess.item.explanation", lang, explanation=answer.explanation)))
    return "".join(parts)


async def rules_page(request: web.Request) -> web.Response:
    """An item's full rules, read-only: for a person who may still view the unit (after the deadline too)."""
    return await _item_page(request, link_svc.rules_view, "web.rules.title", _rules)


async def chart_image(request: web.Request) -> web.Response:
    """A chart sent to a Zalo chat: the platform fetches it from here (signed, expiring, and only while the
    person may still see the unit or ranking it shows)."""
    deps = request.app[DEPS_KEY]
    try:
        sha = await asyncio.to_thread(link_svc.open_chart, deps.uow(), key=deps.link_secret(),
                                      token=request.match_info["token"], now=deps.now())
        data = await asyncio.to_thread(chart_store(deps.store).read, sha)
    except DomainError as error:
        return _refused(request, error)
    except (FileNotFoundError, ValueError):
        raise web.HTTPNotFound() from None
    return web.Response(body=data, content_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


def chart_store(store: EvidenceStore) -> EvidenceStore:
    """Charts sent by URL, by content, beside the evidence files (never mixed with them)."""
    return EvidenceStore(store.root / "charts")


@dataclass(frozen=True)
class ChartLinks:
    """What the Zalo sender needs to send a chart: it stores the PNG and signs the URL it is served at."""

    public_url: str
    key: str
    store: EvidenceStore
    ttl: timedelta

    @classmethod
    def of(cls, settings: Settings) -> "ChartLinks | None":
        if not settings.public_url or settings.link_key is None:
            return None  # not configured: the chart's caption goes out as text
        return cls(settings.public_url.rstrip("/"), settings.link_key.get_secret_value(),
                   chart_store(EvidenceStore(settings.evidence_dir)), timedelta(hours=settings.link_ttl_hours))

    def url(self, person_id: int, scope: str, png: bytes, now: datetime) -> str:
        blob = self.store.put(png)
        token = link_svc.chart_token(key=self.key, person_id=person_id, scope=scope, sha256=blob.sha256,
                                     now=now, ttl=self.ttl)
        return link_url(self.public_url, "chart", token)


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers; the outbox backlog (due, unsent rows) for the operator's alerting."""
    deps = request.app[DEPS_KEY]

    def probe() -> int:
        with deps.engine.connect() as connection:
            return connection.execute(text("select count(*) from outbox where status = 'pending'")).scalar_one()

    try:
        backlog = await asyncio.to_thread(probe)
    except Exception as exc:  # the operator needs the kind of failure, not a traceback on the page
        log.warning("healthz: database unreachable (%s)", type(exc).__name__)
        return web.json_response({"database": "down", "error": type(exc).__name__}, status=503)
    return web.json_response({"database": "ok", "backlog": backlog})


def _file_name(raw: str) -> str:
    """The name without any folder; aiohttp clients percent-encode non-ASCII names, browsers do not."""
    name = unquote(raw).replace("\\", "/").rsplit("/", 1)[-1]
    return unicodedata.normalize("NFC", name)[:200] or "tep"


def add_routes(app: web.Application, deps: Deps, *, health: bool = True) -> None:
    """``health=False``: the caller serves a /healthz of its own (the webhook server adds the sender)."""
    app[DEPS_KEY] = deps
    app.router.add_get("/l/evidence/{token}", evidence_page)
    app.router.add_post("/l/evidence/{token}", evidence_upload)
    app.router.add_get("/l/chart/{token}", chart_image)
    app.router.add_get("/l/rules/{token}", rules_page)
    if health:
        app.router.add_get("/healthz", healthz)


def build_app(deps: Deps) -> web.Application:
    app = web.Application(client_max_size=UPLOAD_LIMIT)
    add_routes(app, deps)
    return app
