"""The callers tests act as, built the way the command line and the chat build theirs."""
from __future__ import annotations

from parbot.core.permissions import Caller

ADMIN = Caller.admin("cli:test")  # the command line: whoever runs it holds the database


def person_caller(uow, person_id: int) -> Caller:
    """A person with the grants stored now, as the chat reads them at the start of each turn."""
    with uow:
        return Caller.person(person_id, uow.roles.grants(person_id))
