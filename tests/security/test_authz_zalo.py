"""The authorization matrix on the Zalo channel, generated from authz_table.ZALO_TABLE: every command Zalo
takes, every option verb the engine does and every typed-input state × every role × own unit / other unit /
group chat, through the Zalo runner on the Zalo emulator (zalo_session.py). A refused case must leave every
table but the chat's state and options, and the evidence folder, unchanged."""
from __future__ import annotations

import pytest
from bot_session import said  # noqa: F401 - a fixture
from zalo_session import zalo_matrix_for  # noqa: F401 - a fixture

from authz_table import OTHER, OWN, ROLES, TABLE, ZALO_COMMANDS, ZALO_TABLE
from parbot.bot.zalo import runner
from parbot.core.conversation import callbacks

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("phase", ["assessment", "appraisal", "explanation"])
async def test_every_zalo_action_is_allowed_or_refused_as_the_table_says(zalo_matrix_for, phase):
    matrix = await zalo_matrix_for(phase)
    failures = []
    for entry in (e for e in ZALO_TABLE if e.phase == phase):
        for role in ROLES:
            for where in ((OWN, "group") if entry.unit_free else (OWN, OTHER, "group")):
                outcome = await matrix.run(entry, role, where)
                if outcome is not None:
                    failures.append(f"{entry.key} by {role} ({where}): {outcome}")
    assert not failures, "\n".join(failures)


def test_the_zalo_table_covers_every_command_verb_and_input():
    """A command the engine takes, a verb an option can carry or a typed-input state added without a Zalo
    entry fails here."""
    keys = {e.key for e in ZALO_TABLE}
    assert {f"command:{c}" for c in (*runner.COMMANDS, "start")} <= keys  # the runner's "/start" besides
    assert {e.name for e in ZALO_TABLE if e.kind == "command"} == set(ZALO_COMMANDS)
    assert {e.name for e in ZALO_TABLE if e.kind == "verb"} == set(callbacks.VERBS)
    assert {e.key for e in TABLE if e.kind == "input"} <= keys
