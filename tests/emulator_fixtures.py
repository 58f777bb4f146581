"""Shared fixtures for tests that talk to the Bot API emulator (integration and e2e)."""
from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from PIL import Image
from telegram import Bot

from parbot.sandbox.emulator import EmulatorServer


def png_bytes(width: int = 64, height: int = 48, color: str = "steelblue") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def make_bot(server: EmulatorServer) -> Bot:
    return Bot(server.token, base_url=server.bot_base_url, base_file_url=server.file_base_url)


@pytest.fixture
async def emulator_server() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer() as server:
        yield server


@pytest.fixture
async def ptb_bot(emulator_server: EmulatorServer) -> AsyncIterator[Bot]:
    async with make_bot(emulator_server) as bot:
        yield bot
