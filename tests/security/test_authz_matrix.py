"""The authorization matrix, generated from tests/security/authz_table.py, through the real bot on the emulator.

Every command, button verb and typed-input state × every role × own unit / other unit / group chat. The real
Application (as `parbot bot run` builds it) polls the Bot API emulator: the guards under test are the ones a
person meets, from PTB's filters to the services. One bot session per phase runs all its cases one after
another, on SQLite and on PostgreSQL (conftest's database_url); before each case the database is restored
from the phase's baseline (bot_session.Cases) and new evidence files are removed, so cases do not depend on
each other. A case is over when the bot has finished handling its update (counted at the update processor),
never after a sleep.

A case is "refused" when the bot answered with a refusal (which catalog keys the turn used are recorded) or
did nothing visible; a refused case must leave every table but chat_state and the evidence folder unchanged.
"""
from __future__ import annotations

import pytest
from bot_session import GROUP, Matrix, matrix_for, said  # noqa: F401 - fixtures
from emulator_fixtures import emulator_server  # noqa: F401 - a fixture
from telegram.ext import CallbackQueryHandler, CommandHandler

from authz_table import HANDLERS, OTHER, OWN, ROLES, TABLE, Entry
from parbot.bot import app as bot_app
from parbot.bot.handlers import assess as assess_handlers
from parbot.bot.handlers import onboarding
from parbot.core.conversation import callbacks, engine
from parbot.settings import Settings
from parbot.storage.db import make_engine

pytestmark = pytest.mark.e2e


def cases(phase: str) -> list[tuple[Entry, str, str]]:
    found = []
    for entry in (e for e in TABLE if e.phase == phase):
        for role in ROLES:
            for where in ((OWN, GROUP) if entry.unit_free else (OWN, OTHER, GROUP)):
                found.append((entry, role, where))
    return found


@pytest.mark.parametrize("phase", ["assessment", "appraisal", "explanation"])
async def test_every_action_is_allowed_or_refused_as_the_table_says(matrix_for, phase):
    matrix = await matrix_for(phase)
    failures = []
    for entry, role, where in cases(phase):
        outcome = await matrix.run(entry, role, where)
        if outcome is not None:
            failures.append(f"{entry.key} by {role} ({where}): {outcome}")
    assert not failures, "\n".join(failures)


async def test_the_table_covers_every_handler_and_verb(emulator_server, tmp_path):  # noqa: F811
    """A command, button verb or handler added to the bot without a row in the table fails here."""
    settings = Settings(_env_file=None, PARBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}",
                        TELEGRAM_BOT_TOKEN=emulator_server.token, TELEGRAM_API_BASE=emulator_server.base_url)
    application = bot_app.build_application(settings, make_engine(settings.database_url))
    registered = [h for group in application.handlers.values() for h in group]
    commands = {c for h in registered if isinstance(h, CommandHandler) for c in h.commands}
    # Button handlers with a pattern are covered by their verbs; every other handler must be named.
    names = {f"{h.callback.__module__.rsplit('.', 1)[-1]}.{h.callback.__name__}" for h in registered
             if not isinstance(h, CommandHandler) and not (isinstance(h, CallbackQueryHandler) and h.pattern)}
    keys = {e.key for e in TABLE}
    assert commands - {e.name for e in TABLE if e.kind == "command"} == set()
    # The menus' one table of commands (handlers/onboarding.py) names only commands some handler answers.
    assert {c for names in onboarding.ROLE_COMMANDS.values() for c in names} | set(onboarding.COMMON_COMMANDS) <= commands
    assert set(callbacks.VERBS) == {e.name for e in TABLE if e.kind == "verb"}
    # Every verb is routed to a handler, and done by the engine (core/conversation/engine.VERBS) or by a bot
    # handler that kept it (handlers/appraise.py sends files).
    presses = [h for h in registered if isinstance(h, CallbackQueryHandler) and h.pattern]

    def routed(handlers) -> set[str]:
        return {v for v in callbacks.VERBS if any(h.pattern.match(f"0000:{v}") for h in handlers)}

    kept = routed([h for h in presses if h.callback is not assess_handlers.on_callback])
    assert routed(presses) == set(callbacks.VERBS)
    assert set(engine.VERBS) | kept == set(callbacks.VERBS)
    assert names == set(HANDLERS)
    assert {k for covered in HANDLERS.values() for k in covered} - keys == set()
