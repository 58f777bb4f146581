"""Domain errors carry a stable code and parameters; the bot and the CLI map codes to catalog messages.

A ``Message`` is one problem in a refused input (a row of a spreadsheet, a key of a YAML file): a code and
named parameters, rendered in the reader's language by ``parbot.i18n.render`` from key ``problem.<code>``.
"""
from __future__ import annotations

import errno
from typing import Any


class Message(str):
    """A problem code with parameters. Its ``str`` value is the English text (logs, tests); people read
    ``parbot.i18n.render(message, lang)``. Parameters may themselves be Messages (a row's rule error)."""

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, **params: Any) -> "Message":
        from ..i18n import render  # the catalogs import this module

        self = super().__new__(cls, render(_Pending(code, params), "en"))
        self.code, self.params = code, params
        return self

    def __reduce__(self):  # pickled across the report's worker processes
        return _rebuild, (self.code, self.params)


class _Pending:
    """What ``render`` needs of a Message before the Message itself exists."""

    def __init__(self, code: str, params: dict[str, Any]) -> None:
        self.code, self.params = code, params


def _rebuild(code: str, params: dict[str, Any]) -> Message:
    return Message(code, **params)


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
    """A batch input (file import) was refused as a whole; ``problems`` lists every bad row as Messages."""

    def __init__(self, code: str, problems: list[Message], **params: object) -> None:
        super().__init__(code, **params)
        self.problems = problems


class Conflict(Exception):
    """A transaction lost a race it can win by running again (SQLite's write lock taken after a read, an
    optimistic version that moved): the caller retries the whole unit of work."""


def _shown(value: Any) -> str:
    """A value as a reader recognises it in their file, short."""
    if isinstance(value, dict):
        return "{…}"
    if isinstance(value, (list, tuple)):
        return "[…]"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def schema_problem(error: dict[str, Any], **params: Any) -> Message | None:
    """A pydantic validation error (one of ``ValidationError.errors()``) as a Message with catalog key
    ``problem.schema.<type>``: what is expected and the value found; None for types without a message."""
    from ..i18n import has

    code = f"schema.{error['type']}"
    if not has(f"problem.{code}"):
        return None
    ctx = {k: _shown(v) if not isinstance(v, str) else v for k, v in (error.get("ctx") or {}).items()}
    return Message(code, **{"input": _shown(error.get("input")), **ctx, **params})


def file_problem(error: OSError | UnicodeDecodeError) -> Message:
    """Why a file could not be read, as a Message: the operating system's and codec's English text is not
    for the reader (the traceback keeps it under --debug)."""
    if isinstance(error, UnicodeDecodeError):
        return Message("read.not_utf8", position=error.start + 1)
    for kind, code in ((FileNotFoundError, "missing"), (NotADirectoryError, "missing"),
                       (IsADirectoryError, "folder"), (PermissionError, "forbidden")):
        if isinstance(error, kind):
            return Message(f"read.{code}")
    return Message("read.os_error", error=errno.errorcode.get(error.errno or 0, "?"))


# What PyYAML says (the start of its "problem"), and the code of our message saying the same with the fix.
_YAML_PROBLEMS = (("mapping values are not allowed", "colon"), ("found character '\\t'", "tab"),
                  ("could not find expected ':'", "no_colon"), ("found unexpected end of stream", "unclosed"),
                  ("expected ','", "unclosed"), ("found undefined alias", "alias"), ("expected <block end>", "indent"),
                  ("did not find expected", "indent"), ("found character", "character"))


def yaml_problem(error: Exception) -> Message:
    """A PyYAML error (yaml.YAMLError) as a Message with what to fix, at the column PyYAML points to; its
    English text is not shown. Anything not recognised is a syntax error at that place."""
    problem = getattr(error, "problem", None) or ""
    mark = getattr(error, "problem_mark", None)
    code = next((code for start, code in _YAML_PROBLEMS if problem.startswith(start)), "syntax")
    return Message(f"yaml.{code}", line=mark.line + 1 if mark else "?", column=mark.column + 1 if mark else "?")


class WriteConflict(Exception):
    """A transaction begun as a reader could not take the write lock (another writer got there first): the
    caller re-runs it as a writer. Not a DomainError: nobody is told about it."""
