"""Simulated Zalo users: they write text, send images and read what the bot answered."""
from __future__ import annotations

from parbot.sandbox.zalo_emulator.world import BotMessage, ZaloEmulator


class ZaloSimUser:
    def __init__(self, emulator: ZaloEmulator, user_id: str, display_name: str) -> None:
        self.emulator = emulator
        self.record = emulator.add_user(str(user_id), display_name)
        self._seen = len(self.record.received)

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def received(self) -> list[BotMessage]:
        return self.record.received

    async def send_text(self, text: str) -> dict:
        return await self.emulator.user_event(self.id, "message.text.received", text=text)

    async def send_image(self, data: bytes, *, mime_type: str = "image/jpeg", caption: str = "") -> dict:
        url = self.emulator.store_image(data, mime_type)
        return await self.emulator.user_event(self.id, "message.image.received", photo_url=url, caption=caption)

    async def send_sticker(self, sticker: str = "sticker-1") -> dict:
        return await self.emulator.user_event(self.id, "message.sticker.received", sticker=sticker)

    async def wait_for_replies(self, count: int = 1, *, timeout: float = 30.0) -> list[BotMessage]:
        """The next ``count`` messages the bot sent since the last wait (generous ceiling, never a speed test)."""
        await self.emulator.wait_until(lambda: len(self.record.received) >= self._seen + count, timeout)
        new = self.record.received[self._seen:self._seen + count]
        self._seen += count
        return new

    async def wait_for_text(self, fragment: str, *, timeout: float = 30.0) -> BotMessage:
        """The first new message containing ``fragment``; messages before it are passed over."""
        def found() -> bool:
            return any(fragment in m.text for m in self.record.received[self._seen:])
        await self.emulator.wait_until(found, timeout)
        for index in range(self._seen, len(self.record.received)):
            if fragment in self.record.received[index].text:
                self._seen = index + 1
                return self.record.received[index]
        raise AssertionError("unreachable")
