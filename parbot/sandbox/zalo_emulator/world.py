"""State of the Zalo Bot Platform emulator: the bot, its users' private chats, queued updates, the webhook.

Strict where parbot could trip on the real platform (its public documentation, 2025): texts and captions
1–2,000 characters, photos only by URL (fetched, so parbot must really serve them), chat ids are strings
of users who wrote first, one update per getUpdates call and a 408 when none came in time, polling refused
while a webhook is set, an HTTPS webhook URL and a secret of 8–256 characters sent back in
``X-Bot-Api-Secret-Token``.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "1234567890:zalo-emulator-secret"
TEXT_LIMIT = 2000
SECRET_HEADER = "X-Bot-Api-Secret-Token"
CHAT_ACTIONS = frozenset({"typing"})
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
PHOTO_LIMIT = 10 * 1024 * 1024

# Fetches a URL for sendPhoto: (status, content type, body).
Fetcher = Callable[[str], Awaitable[tuple[int, str, bytes]]]
# Posts an update to the webhook: returns the HTTP status parbot answered.
Poster = Callable[[str, dict, dict[str, str]], Awaitable[int]]


class ZaloApiError(Exception):
    """An error answer: ``{"ok": false, "error_code", "description"}``."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description

    def envelope(self) -> dict:
        return {"ok": False, "error_code": self.code, "description": self.description}


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class BotMessage:
    """What the bot sent to a chat, as the simulated user sees it."""

    message_id: str
    chat_id: str
    kind: str  # text | photo | sticker
    text: str = ""
    photo: bytes | None = None
    photo_url: str | None = None
    date: int = field(default_factory=now_ms)


@dataclass
class ZaloUserRecord:
    id: str
    display_name: str
    received: list[BotMessage] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)


@dataclass
class Webhook:
    url: str
    secret_token: str
    updated_at: int = field(default_factory=now_ms)
    last_error: str | None = None
    delivered: int = 0


class ZaloEmulator:
    def __init__(self, token: str = DEFAULT_TOKEN, *, bot_name: str = "parbot Zalo",
                 url_map: dict[str, str] | None = None) -> None:
        self.token = token
        self.bot_id = token.split(":", 1)[0]
        self.bot_name = bot_name
        # Public HTTPS prefixes → local addresses, as a TLS-terminating proxy would route them.
        self.url_map = dict(url_map or {})
        self.users: dict[str, ZaloUserRecord] = {}
        self.files: dict[str, tuple[str, bytes]] = {}  # images users sent, served at /_files/<id>
        self.webhook: Webhook | None = None
        self.webhook_posts: list[tuple[dict, dict[str, str], int]] = []  # (update, headers, status)
        self.calls: list[str] = []
        self.fetcher: Fetcher | None = None
        self.poster: Poster | None = None
        self.public_base = "http://127.0.0.1"
        self._queue: asyncio.Queue[dict] = asyncio.Queue()
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()

    # -- helpers --------------------------------------------------------------------------------------

    def _next_id(self) -> str:
        return f"{self.bot_id}{next(self._ids):08d}"

    def local_url(self, url: str) -> str:
        for public, local in self.url_map.items():
            if url.startswith(public):
                return local + url[len(public):]
        return url

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    # -- what simulated users do ------------------------------------------------------------------------

    def add_user(self, user_id: str, display_name: str) -> ZaloUserRecord:
        user = self.users.setdefault(str(user_id), ZaloUserRecord(str(user_id), display_name))
        return user

    def store_image(self, data: bytes, mime_type: str = "image/jpeg") -> str:
        file_id = self._next_id()
        self.files[file_id] = (mime_type, data)
        return f"{self.public_base}/_files/{file_id}"

    async def user_event(self, user_id: str, event_name: str, **content: Any) -> dict:
        user = self.users[str(user_id)]
        update = {"event_name": event_name, "message": {
            "message_id": self._next_id(), "date": now_ms(),
            "from": {"id": user.id, "display_name": user.display_name, "is_bot": False},
            "chat": {"id": user.id, "chat_type": "PRIVATE"}, **content}}
        if self.webhook is not None:
            await self._deliver(update)
        else:
            await self._queue.put(update)
        await self._notify()
        return update

    async def _deliver(self, update: dict) -> None:
        assert self.webhook is not None and self.poster is not None
        headers = {SECRET_HEADER: self.webhook.secret_token, "Content-Type": "application/json"}
        try:
            status = await self.poster(self.local_url(self.webhook.url), update, headers)
        except Exception as exc:  # parbot unreachable: the platform records it, like getWebhookInfo shows
            status, self.webhook.last_error = 0, f"{type(exc).__name__}"
        else:
            if status >= 300:
                self.webhook.last_error = f"HTTP {status}"
            else:
                self.webhook.delivered += 1
        self.webhook_posts.append((update, headers, status))

    # -- the Bot API ----------------------------------------------------------------------------------

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        handler = self._methods().get(method)
        if handler is None:
            raise ZaloApiError(404, "Not Found: method not found")
        self.calls.append(method)
        result = await handler(params)
        await self._notify()
        return result

    def _methods(self) -> dict[str, Callable[[dict], Awaitable[Any]]]:
        return {"getMe": self._get_me, "getUpdates": self._get_updates, "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook, "getWebhookInfo": self._get_webhook_info,
                "sendMessage": self._send_message, "sendPhoto": self._send_photo,
                "sendSticker": self._send_sticker, "sendChatAction": self._send_chat_action}

    async def _get_me(self, params: dict) -> dict:
        return {"id": self.bot_id, "account_name": self.bot_name, "account_type": "BASIC", "can_join_groups": False}

    async def _get_updates(self, params: dict) -> dict:
        if self.webhook is not None:
            raise ZaloApiError(409, "Conflict: getUpdates is not available while a webhook is set")
        timeout = _number(params, "timeout", 30)
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            raise ZaloApiError(408, "Request timeout") from None

    async def _set_webhook(self, params: dict) -> bool:
        url = _string(params, "url")
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.netloc:
            raise ZaloApiError(400, "Bad Request: webhook url must be HTTPS")
        secret = _string(params, "secret_token")
        if not 8 <= len(secret) <= 256:
            raise ZaloApiError(400, "Bad Request: secret_token must be 8-256 characters")
        self.webhook = Webhook(url, secret)
        return True

    async def _delete_webhook(self, params: dict) -> bool:
        self.webhook = None
        return True

    async def _get_webhook_info(self, params: dict) -> dict:
        if self.webhook is None:
            return {"url": "", "updated_at": None, "pending_update_count": self._queue.qsize()}
        return {"url": self.webhook.url, "updated_at": self.webhook.updated_at,
                "pending_update_count": 0, "last_error_message": self.webhook.last_error}

    def _chat(self, params: dict) -> ZaloUserRecord:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, str) or not chat_id:
            raise ZaloApiError(400, "Bad Request: chat_id must be a string")
        user = self.users.get(chat_id)
        if user is None:
            raise ZaloApiError(400, "Bad Request: chat not found")
        return user

    def _sent(self, user: ZaloUserRecord, **fields: Any) -> dict:
        message = BotMessage(self._next_id(), user.id, **fields)
        user.received.append(message)
        return {"message_id": message.message_id, "date": message.date}

    async def _send_message(self, params: dict) -> dict:
        user = self._chat(params)
        text = _string(params, "text")
        if not 1 <= len(text) <= TEXT_LIMIT:
            raise ZaloApiError(400, f"Bad Request: text must be 1-{TEXT_LIMIT} characters")
        return self._sent(user, kind="text", text=text)

    async def _send_photo(self, params: dict) -> dict:
        user = self._chat(params)
        url = _string(params, "photo")
        caption = params.get("caption", "")
        if not isinstance(caption, str) or len(caption) > TEXT_LIMIT:
            raise ZaloApiError(400, f"Bad Request: caption must be at most {TEXT_LIMIT} characters")
        if urlsplit(url).scheme not in ("http", "https") or self.fetcher is None:
            raise ZaloApiError(400, "Bad Request: photo must be an image URL")
        try:
            status, content_type, body = await self.fetcher(self.local_url(url))
        except Exception as exc:
            raise ZaloApiError(400, f"Bad Request: photo could not be fetched ({type(exc).__name__})") from None
        if status != 200 or content_type.split(";")[0].strip() not in IMAGE_TYPES or not body:
            raise ZaloApiError(400, f"Bad Request: photo URL answered {status} {content_type}")
        if len(body) > PHOTO_LIMIT:
            raise ZaloApiError(400, "Bad Request: photo is too large")
        return self._sent(user, kind="photo", text=caption, photo=body, photo_url=url)

    async def _send_sticker(self, params: dict) -> dict:
        user = self._chat(params)
        return self._sent(user, kind="sticker", text=_string(params, "sticker"))

    async def _send_chat_action(self, params: dict) -> bool:
        user = self._chat(params)
        action = _string(params, "action")
        if action not in CHAT_ACTIONS:
            raise ZaloApiError(400, "Bad Request: unsupported action")
        user.actions.append(action)
        return True


def _string(params: dict, name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str):
        raise ZaloApiError(400, f"Bad Request: {name} is required")
    return value


def _number(params: dict, name: str, default: float) -> float:
    value = params.get(name, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ZaloApiError(400, f"Bad Request: {name} must be a number") from None
    if not 0 <= number <= 60:
        raise ZaloApiError(400, f"Bad Request: {name} must be 0-60 seconds")
    return number
