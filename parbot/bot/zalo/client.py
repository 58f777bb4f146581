"""A thin aiohttp client of the Zalo Bot Platform's documented methods (see docs/zalo.md for why not a
library): ``POST {base}/bot{token}/{method}`` with JSON, answers ``{"ok": true, "result"}`` or
``{"ok": false, "error_code", "description"}``. The token is never put into an error or a log line."""
from __future__ import annotations

import logging
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://bot-api.zaloplatforms.com"
TEXT_LIMIT = 2000
POLL_TIMEOUT = 30


class ZaloError(Exception):
    """The platform answered ``ok: false`` (``code`` is its ``error_code``)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code, self.description = code, description


class ZaloNetworkError(ZaloError):
    """The platform could not be reached or answered something that is not its JSON envelope."""

    def __init__(self, description: str) -> None:
        super().__init__(0, description)


class ZaloClient:
    def __init__(self, token: str, *, api_base: str = DEFAULT_API_BASE, proxy: str | None = None,
                 session: aiohttp.ClientSession | None = None, request_timeout: float = 15.0) -> None:
        if not token:
            raise ValueError("a Zalo bot token is required")
        self._url = f"{api_base.rstrip('/')}/bot{token}/"
        self._proxy = proxy or None
        self._session = session
        self._owns_session = session is None
        self._timeout = request_timeout

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()

    async def call(self, method: str, *, wait: float | None = None, **params: Any) -> Any:
        session = await self._client()
        body = {name: value for name, value in params.items() if value is not None}
        try:
            async with session.post(self._url + method, json=body, proxy=self._proxy,
                                    timeout=aiohttp.ClientTimeout(total=wait or self._timeout)) as response:
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    raise ZaloNetworkError(f"{method}: HTTP {response.status}, not JSON") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The exception text may hold the URL, hence the token: keep only its type.
            raise ZaloNetworkError(f"{method}: {type(exc).__name__}") from None
        if not isinstance(answer, dict) or "ok" not in answer:
            raise ZaloNetworkError(f"{method}: unexpected answer")
        if not answer["ok"]:
            raise ZaloError(int(answer.get("error_code") or 0), str(answer.get("description") or ""))
        return answer.get("result")

    async def fetch(self, url: str, *, limit: int) -> tuple[str | None, bytes | None]:
        """A file the platform points to (a photo a user sent): its type and bytes, or None for the bytes
        when it is over ``limit``."""
        session = await self._client()
        try:
            async with session.get(url, proxy=self._proxy, timeout=aiohttp.ClientTimeout(total=self._timeout * 4),
                                   raise_for_status=True) as response:
                mime = response.headers.get("Content-Type", "").split(";")[0].strip() or None
                data = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    data += chunk
                    if len(data) > limit:
                        return mime, None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ZaloNetworkError(f"file: {type(exc).__name__}") from None
        return mime, bytes(data)

    # -- the documented methods -----------------------------------------------------------------------

    async def get_me(self) -> dict:
        return await self.call("getMe")

    async def get_update(self, timeout: int = POLL_TIMEOUT) -> dict | None:
        """One update, or None when none came within ``timeout`` seconds (the platform's 408)."""
        try:
            return await self.call("getUpdates", wait=timeout + 15, timeout=timeout)
        except ZaloError as exc:
            if exc.code == 408:
                return None
            raise

    async def set_webhook(self, url: str, secret_token: str) -> bool:
        return await self.call("setWebhook", url=url, secret_token=secret_token)

    async def delete_webhook(self) -> bool:
        return await self.call("deleteWebhook")

    async def get_webhook_info(self) -> dict:
        return await self.call("getWebhookInfo")

    async def send_message(self, chat_id: str, text: str) -> dict:
        return await self.call("sendMessage", chat_id=chat_id, text=text)

    async def send_photo(self, chat_id: str, photo_url: str, caption: str | None = None) -> dict:
        return await self.call("sendPhoto", chat_id=chat_id, photo=photo_url, caption=caption)

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> bool:
        return await self.call("sendChatAction", chat_id=chat_id, action=action)
