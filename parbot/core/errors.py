"""Domain errors carry a stable code and parameters; the bot and the CLI map codes to catalog messages."""
from __future__ import annotations


class DomainError(Exception):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    def __str__(self) -> str:
        if not self.params:
            return self.code
        details = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.code} ({details})"


class NotFound(DomainError):
    pass


class PermissionDenied(DomainError):
    pass


class ValidationFailed(DomainError):
    """A batch input (file import) was refused as a whole; ``problems`` lists every bad row."""

    def __init__(self, code: str, problems: list[str], **params: object) -> None:
        super().__init__(code, **params)
        self.problems = problems


class Conflict(Exception):
    """A transaction lost a race it can win by running again (SQLite's write lock taken after a read, an
    optimistic version that moved): the caller retries the whole unit of work."""
