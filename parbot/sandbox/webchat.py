"""`parbot sandbox`: the training web chat.

One aiohttp application on 127.0.0.1 serves the emulator (the Bot API the real bot polls, and the
simulated-user API under /_sim that the page calls) and the page itself (plain HTML/CSS/JS from
``parbot/sandbox/web``). A trainee picks a sample unit and a role; the sandbox creates a simulated account,
an invitation for it and sends /start with the code, so the trainee lands where a real officer would after
tapping the invitation link. Every browser tab is its own account; the database is a throw-away one.

A trainee may pick Zalo instead: the Zalo emulator is mounted under /zalo/, the Zalo runner polls it, the
sandbox sends the invitation code as the trainee's first message, and the page shows the numbered texts
Zalo users see (the evidence upload links open parbot's own page, served here too).
"""
from __future__ import annotations

import asyncio
import itertools
import secrets
import signal
from functools import partial
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from aiohttp import web
from sqlalchemy.engine import Engine
from telegram.ext import Application

from ..bot.deps import Deps
from ..bot.web.app import add_routes as add_link_pages
from ..bot.zalo.runner import ZaloRunner
from ..core.services import people
from ..settings import Settings
from ..storage.evidence_store import EvidenceStore
from ..storage.uow import SqlUnitOfWork
from .emulator import EmulatorServer
from .runtime import SAMPLE_2025, SETUP, create_province, emulator_settings, running_bot, sample_period
from .zalo_emulator import DEFAULT_TOKEN as ZALO_TOKEN
from .zalo_emulator import ZaloEmulator, ZaloSimUser
from .zalo_emulator import build_app as zalo_app

WEB = Path(__file__).resolve().parent / "web"
ROLES = {"officer": "officer", "leader": "unit_leader", "appraiser": "appraiser"}
FIRST_USER_ID = 700_000_001
CHANNELS = ("telegram", "zalo")


@dataclass
class Trainee:
    user_id: int | str      # Zalo user ids are strings
    name: str
    unit: str
    role: str
    channel: str = "telegram"


class Sandbox:
    """The emulator, the bot and the page on one port; ``async with Sandbox(folder) as sandbox: ...``."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.folder = folder
        self.server = EmulatorServer(host, port)
        self.engine: Engine | None = None
        self.application: Application | None = None
        self._ids = itertools.count(FIRST_USER_ID)
        self._bot = None
        self.zalo = ZaloEmulator(ZALO_TOKEN)
        self._zalo: ZaloRunner | None = None
        # The upload links' pages; their settings and database are filled in at start, once the port is known.
        self._links = Deps(settings=Settings(_env_file=None), engine=None, store=None)  # type: ignore[arg-type]
        self._add_routes(self.server.app)
        self.server.app.add_subapp("/zalo/", zalo_app(self.zalo))
        add_link_pages(self.server.app, self._links)

    @property
    def url(self) -> str:
        return self.server.base_url + "/"

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._index)
        app.router.add_static("/static/", WEB, follow_symlinks=False)
        app.router.add_get("/api/units", self._units)
        app.router.add_post("/api/trainees", self._new_trainee)

    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB / "index.html", headers={"Cache-Control": "no-store"})

    def _unit_list(self) -> list[dict]:
        with SqlUnitOfWork(self.engine) as uow:
            period = uow.periods.current()
            names = {b.code: b.name for b in uow.blocks.list()}
            return [{"code": u.code, "name": u.name, "block": u.block, "block_name": names.get(u.block, u.block)}
                    for b in period.blocks for u in uow.units.list(block=b, year=period.year)]

    async def _units(self, request: web.Request) -> web.Response:
        return web.json_response(await asyncio.to_thread(self._unit_list))

    async def _new_trainee(self, request: web.Request) -> web.Response:
        body = await request.json()
        role, unit, name = ROLES.get(body.get("role", "")), body.get("unit", ""), (body.get("name") or "").strip()
        channel = body.get("channel", "telegram")
        units = {u["code"]: u for u in await asyncio.to_thread(self._unit_list)}
        if role is None or unit not in units or not name or len(name) > 64 or channel not in CHANNELS:
            raise web.HTTPBadRequest(text="chọn vai trò, đơn vị, kênh và nhập tên (tối đa 64 ký tự)")
        trainee = await self.add_trainee(name, unit, role, units[unit]["block"], channel)
        return web.json_response(trainee.__dict__ | {"unit_name": units[unit]["name"]})  # the page shows names

    async def add_trainee(self, name: str, unit: str, role: str, block: str, channel: str = "telegram") -> Trainee:
        """A simulated account with an accepted invitation: appraisers get the unit's block, the others the unit.
        On Zalo the code is the account's first message, as a real officer would send it."""
        scope = (None, block) if role == "appraiser" else (unit, None)
        code, _ = await asyncio.to_thread(partial(people.create_invite, SqlUnitOfWork(self.engine), caller=SETUP, role=role,
                                                  unit_code=scope[0], block=scope[1], expires_in=timedelta(days=1),
                                                  now=datetime.now(timezone.utc)))
        if channel == "zalo":
            zalo_user = ZaloSimUser(self.zalo, f"zalo-{next(self._ids)}", name)
            await zalo_user.send_text(code)
            return Trainee(zalo_user.id, name, unit, role, channel)
        user = self.server.create_user(next(self._ids), name, language_code="vi")
        user.send_command("start", code)
        return Trainee(user.id, name, unit, role)

    async def start(self) -> "Sandbox":
        # Trainees learn on today's structure (departments and communes), in a window that opened yesterday.
        config = sample_period(SAMPLE_2025, shift_to=datetime.now(timezone.utc) - timedelta(days=1))
        self.engine = await asyncio.to_thread(create_province, self.folder, config, SAMPLE_2025, None)
        await self.server.start()
        zalo_base = self.server.base_url + "/zalo"
        self.zalo.public_base = zalo_base
        settings = emulator_settings(self.server, self.folder, PARBOT_ZALO_BOT_TOKEN=ZALO_TOKEN,
                                     PARBOT_ZALO_API_BASE=zalo_base, PARBOT_PUBLIC_URL=self.server.base_url,
                                     PARBOT_LINK_SECRET=secrets.token_urlsafe(24))
        self._bot = running_bot(settings, self.engine)
        self.application = await self._bot.__aenter__()
        self._links.settings, self._links.engine = settings, self.engine
        self._links.store = EvidenceStore(settings.evidence_dir)
        self._zalo = ZaloRunner(self._links)
        await self._zalo.start()
        return self

    async def stop(self) -> None:
        if self._zalo is not None:
            await self._zalo.stop()
            self._zalo = None
        if self._bot is not None:
            await self._bot.__aexit__(None, None, None)
            self._bot = None
        await self.server.stop()
        if self.engine is not None:
            self.engine.dispose()

    async def __aenter__(self) -> "Sandbox":
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def serve(folder: Path, host: str, port: int, ready=print) -> None:  # noqa: ANN001 - a callable
    """Run until Ctrl-C or SIGTERM, then stop the bot and the server cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with Sandbox(folder, host, port) as sandbox:
        ready(sandbox.url)
        await stop.wait()
