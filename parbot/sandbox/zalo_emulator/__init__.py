"""A Zalo Bot Platform emulator for tests, the sandbox and the demo."""
from parbot.sandbox.zalo_emulator.server import ZaloEmulatorServer, build_app
from parbot.sandbox.zalo_emulator.users import ZaloSimUser
from parbot.sandbox.zalo_emulator.world import (
    DEFAULT_TOKEN, SECRET_HEADER, TEXT_LIMIT, BotMessage, ZaloApiError, ZaloEmulator)

__all__ = ["DEFAULT_TOKEN", "SECRET_HEADER", "TEXT_LIMIT", "BotMessage", "ZaloApiError", "ZaloEmulator",
           "ZaloEmulatorServer", "ZaloSimUser", "build_app"]
