"""A local stand-in for the Telegram Bot API, with simulated users, for the demo, the training web chat
and end-to-end tests. Point python-telegram-bot at it with
``ApplicationBuilder().token(server.token).base_url(server.bot_base_url).base_file_url(server.file_base_url)``.
"""
from parbot.sandbox.emulator.faults import Faults
from parbot.sandbox.emulator.server import EmulatorServer, create_app
from parbot.sandbox.emulator.users import SimUser
from parbot.sandbox.emulator.world import (
    DEFAULT_TOKEN, ApiError, CallbackQuery, Chat, Emulator, Message, RateLimiter, RateLimits, SimError,
    StoredFile, User)

__all__ = [
    "DEFAULT_TOKEN", "ApiError", "CallbackQuery", "Chat", "Emulator", "EmulatorServer", "Faults", "Message", "RateLimiter",
    "RateLimits", "SimError", "SimUser", "StoredFile", "User", "create_app",
]
