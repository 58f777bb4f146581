"""HTTP front of the emulator: the Bot API as python-telegram-bot calls it, file downloads, and the
simulated-user API under ``/_sim`` (JSON) for out-of-process tests and the training web chat."""
from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from parbot.sandbox.emulator.faults import Faults
from parbot.sandbox.emulator.users import SimUser
from parbot.sandbox.emulator.world import (
    DEFAULT_TOKEN, MB, UPLOAD_LIMIT, ApiError, Emulator, Params, RateLimits, SimError, Upload)

EMULATOR_KEY = web.AppKey("emulator", Emulator)
FAULTS_KEY = web.AppKey("faults", Faults)
USERS_KEY = web.AppKey("sim_users", dict)
EVENTS_POLL_LIMIT = 30.0


def sim_user(app: web.Application, user_id: int) -> SimUser:
    users: dict[int, SimUser] = app[USERS_KEY]
    if user_id not in users:
        emulator = app[EMULATOR_KEY]
        if user_id not in emulator.users:
            raise web.HTTPNotFound(text=json.dumps({"ok": False, "description": f"no user {user_id}"}),
                                   content_type="application/json")
        users[user_id] = SimUser(emulator, emulator.users[user_id])
    return users[user_id]


def create_user(app: web.Application, user_id: int, first_name: str, **details: Any) -> SimUser:
    user = SimUser.create(app[EMULATOR_KEY], user_id, first_name, **details)
    app[USERS_KEY][user_id] = user
    return user


async def _read_params(request: web.Request) -> tuple[Params, dict[str, Upload]]:
    raw: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.content_type == "application/json":
        raw.update(await request.json())
    elif request.content_type == "multipart/form-data":
        async for part in await request.multipart():
            if part.filename is not None:
                uploads[part.name] = (part.filename, bytes(await part.read()),
                                      part.headers.get("Content-Type"))
            else:
                raw[part.name] = await part.text()
    elif request.can_read_body:
        raw.update(await request.post())
    return Params(raw), uploads


def _envelope(status: int, body: dict) -> web.Response:
    return web.json_response(body, status=status)


def _drop_connection(request: web.Request) -> web.Response:
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=500)  # never reaches the client: the connection is gone


async def bot_api(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    if request.match_info["token"] != emulator.token:
        return _envelope(401, ApiError(401, "Unauthorized").envelope())
    try:
        params, uploads = await _read_params(request)
    except ValueError:  # undecodable JSON body
        return _envelope(400, ApiError(400, "Bad Request: can't parse request body").envelope())
    faults: Faults | None = request.app.get(FAULTS_KEY)
    fault = None
    if faults is not None:
        if delay := faults.delay():
            await asyncio.sleep(delay)
        chat = params.raw.get("chat_id")
        fault = faults.draw(request.match_info["method"], None if chat is None else str(chat))
        if fault == "timeout":
            await asyncio.sleep(faults.timeout_delay)
            return _drop_connection(request)
        if fault == "reset":
            return _drop_connection(request)
        if fault == "server_error":
            return _envelope(502, ApiError(502, "Bad Gateway").envelope())
        if fault == "too_many":
            return _envelope(429, ApiError(429, f"Too Many Requests: retry after {faults.retry_after}",
                                           retry_after=faults.retry_after).envelope())
    try:
        result = await emulator.call(request.match_info["method"], params, uploads)
    except ApiError as exc:
        return _envelope(exc.code, exc.envelope())
    except ValueError:  # a parameter that does not parse
        return _envelope(400, ApiError(400, "Bad Request: can't parse request body").envelope())
    if fault == "lost_reply":
        return _drop_connection(request)
    return _envelope(200, {"ok": True, "result": result})


async def download(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR_KEY]
    if request.match_info["token"] != emulator.token:
        return _envelope(401, ApiError(401, "Unauthorized").envelope())
    stored = emulator.files_by_path.get(request.match_info["path"])
    if stored is None:
        return _envelope(404, ApiError(404, "Not Found").envelope())
    return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")


# ---- /_sim -----------------------------------------------------------------------------------------

SimHandler = Callable[[web.Request, dict], Awaitable[Any] | Any]


def _sim(handler: SimHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """JSON in, {"ok": true, "result": ...} out; a refused user action answers 400 with the reason."""
    async def wrapped(request: web.Request) -> web.Response:
        body: dict = {}
        if request.content_type == "application/json":
            body = await request.json()
        elif request.content_type == "multipart/form-data":
            body = await _multipart_upload(request)
        try:
            result = handler(request, body)
            if isinstance(result, Awaitable):
                result = await result
        except (SimError, ApiError, KeyError, ValueError) as exc:
            return _envelope(400, {"ok": False, "description": str(exc)})
        except TimeoutError as exc:
            return _envelope(408, {"ok": False, "description": str(exc)})
        return _envelope(200, {"ok": True, "result": result})
    return wrapped


async def _multipart_upload(request: web.Request) -> dict:
    body: dict[str, Any] = {}
    async for part in await request.multipart():
        if part.filename is not None:
            body.update(file_name=part.filename, data=bytes(await part.read()),
                        mime_type=part.headers.get("Content-Type"))
        else:
            body[part.name] = await part.text()
    return body


def _user(request: web.Request) -> SimUser:
    return sim_user(request.app, int(request.match_info["user_id"]))


def _chat_arg(request: web.Request, body: dict):
    chat_id = body.get("chat_id")
    return request.app[EMULATOR_KEY].chats[int(chat_id)] if chat_id is not None else None


def _file_data(body: dict) -> bytes:
    return body["data"] if isinstance(body.get("data"), bytes) else base64.b64decode(body.get("data_b64", ""))


def _declared_size(body: dict) -> int | None:
    return int(body["declared_size"]) if body.get("declared_size") not in (None, "") else None


def _query_view(query) -> dict:
    return {"id": query.id, "data": query.data, "message_id": query.message_id, "answered": query.answered,
            "text": query.text, "show_alert": query.show_alert, "url": query.url}


def _post_user(request: web.Request, body: dict) -> dict:
    user = create_user(request.app, int(body["id"]), body["first_name"],
                       **{k: body[k] for k in ("last_name", "username", "language_code") if k in body})
    return user.user.to_api()


def _post_group(request: web.Request, body: dict) -> dict:
    group = request.app[EMULATOR_KEY].create_group(body["title"], [int(m) for m in body["members"]])
    return group.to_api()


def _post_text(request: web.Request, body: dict) -> dict:
    return _user(request).send_text(body["text"], chat=_chat_arg(request, body)).view()


def _post_command(request: web.Request, body: dict) -> dict:
    return _user(request).send_command(body["command"], *body.get("args", []), chat=_chat_arg(request, body)).view()


def _post_document(request: web.Request, body: dict) -> dict:
    return _user(request).send_document(
        _file_data(body), body["file_name"], body.get("mime_type"), caption=body.get("caption"),
        declared_size=_declared_size(body), chat=_chat_arg(request, body)).view()


def _post_photo(request: web.Request, body: dict) -> dict:
    return _user(request).send_photo(_file_data(body), caption=body.get("caption"),
                                     chat=_chat_arg(request, body)).view()


def _post_press(request: web.Request, body: dict) -> dict:
    message_id = body.get("message_id")
    query = _user(request).press(body.get("text"), callback_data=body.get("callback_data"),
                                 message_id=int(message_id) if message_id is not None else None)
    return _query_view(query)


def _post_forge(request: web.Request, body: dict) -> dict:
    message_id = body.get("message_id")
    query = _user(request).forge_callback(body["data"], message_id=int(message_id) if message_id else None)
    return _query_view(query)


def _post_block(request: web.Request, body: dict) -> bool:
    _user(request).block()
    return True


def _post_unblock(request: web.Request, body: dict) -> bool:
    _user(request).unblock()
    return True


def _get_chat(request: web.Request, body: dict) -> dict:
    user = _user(request)
    chat = _chat_arg(request, dict(request.query))
    return {"version": (chat or user.chat).version, "messages": [m.view() for m in user.messages(chat)],
            "bot_sent": (chat or user.chat).bot_sent, "commands": user.visible_commands()}


def _get_callbacks(request: web.Request, body: dict) -> list[dict]:
    user_id = int(request.match_info["user_id"])
    return [_query_view(q) for q in request.app[EMULATOR_KEY].callback_queries.values() if q.user_id == user_id]


async def _get_events(request: web.Request, body: dict) -> dict:
    """Long-poll for the web chat: every chat event after version ``since``."""
    user = sim_user(request.app, int(request.query["user"]))
    since = int(request.query.get("since", 0))
    timeout = min(float(request.query.get("timeout", 25)), EVENTS_POLL_LIMIT)
    chat = user.chat
    try:
        await chat.wait_until(lambda: chat.version > since or request.app[EMULATOR_KEY].closed, timeout)
    except TimeoutError:
        pass
    return {"version": chat.version, "events": [e for e in chat.events if e["version"] > since]}


async def _get_wait(request: web.Request, body: dict) -> list[dict]:
    """The bot's messages sent or edited after chat version ``since``, waiting up to ``timeout``."""
    user = _user(request)
    since = int(request.query.get("since", 0))
    timeout = min(float(request.query.get("timeout", 5)), EVENTS_POLL_LIMIT)
    await user.chat.wait_until(lambda: bool(user.changed_since(since)), timeout)
    return [m.view() for m in user.changed_since(since)]


def _get_stats(request: web.Request, body: dict) -> dict:
    emulator = request.app[EMULATOR_KEY]
    limiter = emulator.limiter
    return {"method_calls": dict(emulator.method_calls),
            "bot_sent": {str(c.id): c.bot_sent for c in emulator.chats.values()},
            "rate_limit": {"accepted": limiter.accepted, "refused": limiter.refused} if limiter else None}


def _get_commands(request: web.Request, body: dict) -> list[dict]:
    return request.app[EMULATOR_KEY].visible_commands(int(request.query["chat_id"]),
                                                      request.query.get("language_code", ""))


async def sim_file(request: web.Request) -> web.Response:
    stored = request.app[EMULATOR_KEY].files.get(request.match_info["file_id"])
    if stored is None:
        raise web.HTTPNotFound()
    return web.Response(body=stored.data, content_type=stored.mime_type or
                        ("image/png" if stored.data.startswith(b"\x89PNG") else "application/octet-stream"))


def create_app(emulator: Emulator, faults: Faults | None = None) -> web.Application:
    """The aiohttp application; the training web chat may add its own routes to it."""
    app = web.Application(client_max_size=UPLOAD_LIMIT + MB)
    app[EMULATOR_KEY] = emulator
    if faults is not None:
        app[FAULTS_KEY] = faults
    app[USERS_KEY] = {}
    app.router.add_route("*", "/bot{token}/{method}", bot_api)
    app.router.add_get("/file/bot{token}/{path:.+}", download)
    user = "/_sim/users/{user_id}"
    app.router.add_post("/_sim/users", _sim(_post_user))
    app.router.add_post("/_sim/groups", _sim(_post_group))
    for action, handler in (("text", _post_text), ("command", _post_command), ("document", _post_document),
                            ("photo", _post_photo), ("press", _post_press), ("forge", _post_forge),
                            ("block", _post_block), ("unblock", _post_unblock)):
        app.router.add_post(f"{user}/{action}", _sim(handler))
    app.router.add_get(f"{user}/chat", _sim(_get_chat))
    app.router.add_get(f"{user}/callbacks", _sim(_get_callbacks))
    app.router.add_get(f"{user}/wait", _sim(_get_wait))
    app.router.add_get("/_sim/events", _sim(_get_events))
    app.router.add_get("/_sim/stats", _sim(_get_stats))
    app.router.add_get("/_sim/commands", _sim(_get_commands))
    app.router.add_get("/_sim/files/{file_id}", sim_file)
    return app


class EmulatorServer:
    """Runs the emulator on a local port; ``async with EmulatorServer() as server: ...``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str = DEFAULT_TOKEN, *,
                 rate_limits: RateLimits | None = None, bot_username: str = "parbot_emulator_bot",
                 faults: Faults | None = None) -> None:
        self.host = host
        self.port = port
        self.emulator = Emulator(token, bot_username=bot_username, rate_limits=rate_limits)
        self.faults = faults
        self.app = create_app(self.emulator, faults)
        self._runner: web.AppRunner | None = None

    @property
    def token(self) -> str:
        return self.emulator.token

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def bot_base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``."""
        return f"{self.base_url}/bot"

    @property
    def file_base_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``."""
        return f"{self.base_url}/file/bot"

    def create_user(self, user_id: int, first_name: str, **details: Any) -> SimUser:
        return create_user(self.app, user_id, first_name, **details)

    def user(self, user_id: int) -> SimUser:
        return sim_user(self.app, user_id)

    async def settled(self, timeout: float) -> None:
        """Once the bot processes have exited: wait until every request they sent has been served, so a test
        can count what arrived with nothing still on its way (killed processes leave requests in the socket
        buffers). A probe on a fresh connection is accepted after every connection opened before it; each
        connection then stays listed until its handler has finished."""
        async with aiohttp.ClientSession() as session, session.get(f"{self.base_url}/_sim/stats") as reply:
            await reply.read()
        server = self._runner.server
        async with asyncio.timeout(timeout):
            while server.connections:  # aiohttp offers no event for a closed connection
                await asyncio.sleep(0.02)

    async def start(self) -> EmulatorServer:
        self._runner = web.AppRunner(self.app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        self.emulator.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> EmulatorServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
