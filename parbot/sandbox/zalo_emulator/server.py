"""HTTP front of the Zalo emulator: ``POST /bot<TOKEN>/<method>`` (JSON), images users sent under
``/_files/<id>``, and a small ``/_sim`` JSON API so out-of-process tests can act as users."""
from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import aiohttp
from aiohttp import web

from parbot.sandbox.zalo_emulator.users import ZaloSimUser
from parbot.sandbox.zalo_emulator.world import DEFAULT_TOKEN, ZaloApiError, ZaloEmulator

EMULATOR_KEY = web.AppKey("zalo_emulator", ZaloEmulator)


def _answer(body: dict, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


async def bot_api(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    if request.match_info["token"] != emulator.token:
        return _answer(ZaloApiError(401, "Unauthorized").envelope(), 401)
    if request.method != "POST":
        return _answer(ZaloApiError(405, "Method Not Allowed: use POST").envelope(), 405)
    try:
        params: Any = await request.json() if request.can_read_body else {}
    except ValueError:
        return _answer(ZaloApiError(400, "Bad Request: body must be JSON").envelope(), 400)
    if not isinstance(params, dict):
        return _answer(ZaloApiError(400, "Bad Request: body must be a JSON object").envelope(), 400)
    try:
        result = await emulator.call(request.match_info["method"], params)
    except ZaloApiError as exc:
        return _answer(exc.envelope(), exc.code)
    return _answer({"ok": True, "result": result})


async def user_file(request: web.Request) -> web.Response:
    stored = request.app[EMULATOR_KEY].files.get(request.match_info["file_id"])
    if stored is None:
        raise web.HTTPNotFound()
    return web.Response(body=stored[1], content_type=stored[0])


async def sim_message(request: web.Request) -> web.Response:
    """``POST /_sim/users/<id>`` with ``{"text": …}`` or ``{"image_base64": …, "caption": …}``."""
    emulator = request.app[EMULATOR_KEY]
    body = await request.json()
    user = ZaloSimUser(emulator, request.match_info["user_id"], body.get("display_name", "Khách"))
    if "image_base64" in body:
        update = await user.send_image(base64.b64decode(body["image_base64"]), caption=body.get("caption", ""))
    else:
        update = await user.send_text(str(body.get("text", "")))
    return _answer({"ok": True, "result": update})


async def sim_received(request: web.Request) -> web.Response:
    user = request.app[EMULATOR_KEY].users.get(request.match_info["user_id"])
    if user is None:
        raise web.HTTPNotFound()
    return _answer({"ok": True, "result": [{"message_id": m.message_id, "kind": m.kind, "text": m.text,
                                            "photo_url": m.photo_url} for m in user.received]})


def build_app(emulator: ZaloEmulator) -> web.Application:
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[EMULATOR_KEY] = emulator
    app.router.add_route("*", "/bot{token}/{method}", bot_api)
    app.router.add_get("/_files/{file_id}", user_file)
    app.router.add_post("/_sim/users/{user_id}", sim_message)
    app.router.add_get("/_sim/users/{user_id}", sim_received)
    return app


class ZaloEmulatorServer:
    """The emulator on a local port, with an HTTP client it uses to fetch photos and post webhooks."""

    def __init__(self, token: str = DEFAULT_TOKEN, host: str = "127.0.0.1", port: int = 0,
                 url_map: dict[str, str] | None = None) -> None:
        self.emulator = ZaloEmulator(token, url_map=url_map)
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def token(self) -> str:
        return self.emulator.token

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def user(self, user_id: str, display_name: str) -> ZaloSimUser:
        return ZaloSimUser(self.emulator, user_id, display_name)

    async def _fetch(self, url: str) -> tuple[int, str, bytes]:
        assert self._session is not None
        async with self._session.get(url, allow_redirects=False) as response:
            return response.status, response.headers.get("Content-Type", ""), await response.read()

    async def _post(self, url: str, update: dict, headers: dict[str, str]) -> int:
        assert self._session is not None
        async with self._session.post(url, data=json.dumps(update), headers=headers) as response:
            await response.read()
            return response.status

    async def start(self) -> "ZaloEmulatorServer":
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self.emulator.fetcher, self.emulator.poster = self._fetch, self._post
        # A getUpdates long poll whose client went away would otherwise hold the shutdown for its 30 s.
        self._runner = web.AppRunner(build_app(self.emulator), shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.emulator.public_base = self.base_url
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> "ZaloEmulatorServer":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def serve_forever(host: str, port: int, token: str) -> None:
    async with ZaloEmulatorServer(token, host, port) as server:
        print(f"Zalo emulator on {server.base_url} (PARBOT_ZALO_API_BASE={server.base_url})", flush=True)
        await asyncio.Event().wait()
