"""What every command shares: settings, the database (upgraded on first use) and error reporting.

Only typer, rich and the standard library are imported here: `parbot --help` must not pay for SQLAlchemy,
alembic, pydantic or the tables. Everything heavier is imported inside the function that needs it.
"""
from __future__ import annotations

import functools
import getpass
import logging
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, TypeVar

import typer
from rich.console import Console
from typer.exceptions import TyperException

if TYPE_CHECKING:
    from ..core.permissions import Caller
    from ..settings import Settings
    from ..storage.uow import SqlUnitOfWork

# Wide when piped (rich would otherwise wrap tables at 80 columns in files and CI logs).
console = Console(highlight=False, soft_wrap=True, width=None if Console().is_terminal else 200)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
log = logging.getLogger("parbot.cli")
F = TypeVar("F", bound=Callable)


@dataclass
class Options:
    """The global options (`parbot --lang en --debug …`), set by the main callback."""

    lang: str | None = None
    debug: bool = False


options = Options()


def lang() -> str:
    """--lang, else the configured language: resolved once per command (parbot.cli.localized), not per
    message."""
    return options.lang or configured_language()


def configured_language() -> str:
    """PARBOT_LANGUAGE (environment, then .env), else Vietnamese. Read without building the settings:
    `parbot --help` needs the language, and pydantic-settings alone costs more CPU than the whole help; a
    wrong value falls back to Vietnamese, since the message saying so must be readable."""
    value = os.environ.get("PARBOT_LANGUAGE")
    if not value and os.path.isfile(".env"):
        from dotenv import dotenv_values

        try:
            value = dotenv_values(".env", encoding="utf-8").get("PARBOT_LANGUAGE")
        except UnicodeDecodeError:  # the settings refuse the file, in Vietnamese
            value = None
    return value if value in ("vi", "en") else "vi"


def say(key: str, **params: object) -> str:
    """A CLI message of the `cli` catalog in the chosen language."""
    from ..i18n import t

    return t(key, lang(), **params)


def _engine(url: str, create: bool = True):
    if not create:
        _refuse_missing_sqlite(url)
    return _upgraded_engine(url)


@functools.lru_cache(maxsize=4)
def _upgraded_engine(url: str):
    from ..storage.db import make_engine, upgrade

    engine = make_engine(url)
    upgrade(engine)
    return engine


def _refuse_missing_sqlite(url: str) -> None:
    """A command that reads data must not create an empty database (run in the wrong folder, it would then
    report `period.not_found` for a period that exists elsewhere)."""
    from sqlalchemy.engine import make_url

    from ..core.errors import DomainError

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not os.path.exists(parsed.database):
        raise DomainError("cli.database_missing", url=url, path=os.path.abspath(parsed.database))


def settings() -> Settings:
    from ..core.errors import DomainError, file_problem
    from ..settings import get_settings

    try:
        return get_settings()
    except UnicodeDecodeError as error:  # .env saved by Notepad in the Windows code page or UTF-16
        raise DomainError("settings.env_encoding", reason=file_problem(error)) from None


def uow(create: bool = False) -> SqlUnitOfWork:
    """The unit of work on the configured database. Only set-up commands (`create=True`) may create a missing
    SQLite file; reading commands refuse it."""
    from ..storage.uow import SqlUnitOfWork

    return SqlUnitOfWork(_engine(settings().database_url, create))


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "cli:unknown"


def admin() -> Caller:
    """Whoever runs the command line holds the database: they act as an administrator."""
    from ..core.permissions import Caller

    return Caller.admin(actor())


class _SkippedRunsToInfo(logging.Filter):
    """APScheduler warns when a sweep is skipped because the previous one still runs (max_instances=1 by
    design). It is kept as an INFO line of the log: the demo and the sandbox, which log nothing, no longer
    print it on every run, and `parbot bot run`'s log still shows it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and "maximum number of running instances" in record.msg:
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def log_scheduler_skips_as_info() -> None:
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _SkippedRunsToInfo) for f in scheduler_log.filters):
        scheduler_log.addFilter(_SkippedRunsToInfo())


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as written
        return url


def _setting_problems(error) -> str:  # noqa: ANN001 - pydantic.ValidationError
    """One line per bad setting: its variable name, the value given and what is expected."""
    from ..core.errors import schema_problem
    from ..i18n import render
    from ..settings import Settings

    names = {name: (field.validation_alias.choices[0] if hasattr(field.validation_alias, "choices")
                    else field.validation_alias) for name, field in Settings.model_fields.items()}
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        message = schema_problem(problem)
        lines.append(say("cli.setting_problem", name=names.get(field, field), value=problem.get("input"),
                         expected=render(message, lang()) if message else problem["msg"]))
    return "\n".join(lines)


def problem_text(problem: object) -> str:
    """One refused row or key in the chosen language; a criteria or period file's problem keeps its place
    (file:line: path)."""
    from ..i18n import render

    if hasattr(problem, "file") and hasattr(problem, "message"):
        where = f"{problem.file}:{problem.line}" if problem.line else problem.file
        return f"{where}: {problem.path or say('cli.top_level')}: {render(problem.message, lang())}"
    return render(problem, lang())


def _rows(lines: list[int]) -> str:
    """2, 3, 4, 9 -> "2–4, 9"."""
    spans: list[list[int]] = []
    for line in sorted(set(lines)):
        if spans and line == spans[-1][1] + 1:
            spans[-1][1] = line
        else:
            spans.append([line, line])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)


def _row_of(problem: object) -> tuple[object, int | None]:
    """The Message that holds a problem's row (its own ``line``, or its ``where``'s: an appraisal workbook's
    sheet and row), and the row."""
    params = getattr(problem, "params", None) or {}
    for holder in (problem, params.get("where")):
        line = (getattr(holder, "params", None) or {}).get("line")
        if isinstance(line, int):
            return holder, line
    return None, None


def _others(message, *skip: str) -> tuple:  # noqa: ANN001 - a core.errors.Message
    return tuple(sorted((k, str(v)) for k, v in message.params.items() if k not in skip))


def _same_problem_once(problems: list) -> list:
    """Problems that differ only in their row are listed once with the rows ("dòng 2–45, cột “block”: chưa có
    khối “so”"): a file imported before its period names the same missing block on every row."""
    from ..core.errors import Message

    groups: dict[tuple, tuple[object, object, list[int]]] = {}
    for index, problem in enumerate(problems):
        holder, line = _row_of(problem)
        key = (index,) if holder is None else (problem.code, holder.code, _others(problem, "line", "where"),
                                               _others(holder, "line"))
        groups.setdefault(key, (problem, holder, []))[2].append(line)
    merged = []
    for problem, holder, lines in groups.values():
        if len(lines) < 2:
            merged.append(problem)
            continue
        rows = Message(holder.code, **{**holder.params, "line": _rows(lines)})
        merged.append(rows if holder is problem else Message(problem.code, **{**problem.params, "where": rows}))
    return merged


def _refusal(error) -> str:  # noqa: ANN001 - ValidationFailed
    """What was refused, when the error's message needs nothing but its parameters (some, such as
    appraisal.invalid, are the bot's one-problem messages: the problems are listed below instead)."""
    from ..i18n import error_text, has, placeholders, translations

    key = f"error.{error.code}"
    if not has(key) or not placeholders(translations(lang())._catalog.get(key, "")) <= set(error.params):
        return ""
    return error_text(error, lang()) + " "


def _message(error: Exception) -> tuple[str, int] | None:
    """What to tell a person about an error that is not a bug: the text and the exit code (None: a bug)."""
    from pydantic import ValidationError

    from ..core.errors import DomainError, ValidationFailed
    from ..i18n import error_text

    if isinstance(error, ValidationFailed):
        lines = [say("cli.refused", what=_refusal(error))]
        lines += [f"  • {problem_text(problem)}" for problem in _same_problem_once(error.problems)]
        return "\n".join(lines), 2
    if isinstance(error, DomainError):
        return error_text(error, lang()), 1
    if isinstance(error, ValidationError) and error.title == "Settings":
        return say("cli.bad_settings", problems=_setting_problems(error)), 2
    if isinstance(error, (FileNotFoundError, NotADirectoryError)):
        return say("cli.file_missing", path=error.filename or error), 2
    if isinstance(error, IsADirectoryError):
        return say("cli.file_is_folder", path=error.filename or error), 2
    if isinstance(error, PermissionError):
        return say("cli.file_forbidden", path=error.filename or error), 2
    if isinstance(error, UnicodeDecodeError):
        from ..core.errors import file_problem
        from ..i18n import render

        return say("cli.file_encoding", reason=render(file_problem(error), lang())), 2
    from sqlalchemy.exc import ArgumentError, OperationalError

    if isinstance(error, (OperationalError, ArgumentError)):
        url = _hide_password(settings().database_url)
        return say("cli.database_unreachable", url=url, reason=_database_reason(error)), 1
    return None


# What the drivers say (libpq, sqlite3, SQLAlchemy) on the usual mistakes in PARBOT_DATABASE_URL, and the
# catalog key saying it in the reader's language; the groups name what the reader wrote.
DATABASE_REASONS = [(re.compile(r'role "(?P<name>[^"]+)" does not exist'), "cli.database.no_role"),
                    (re.compile(r'password authentication failed for user "(?P<name>[^"]+)"'),
                     "cli.database.bad_password"),
                    (re.compile(r'database "(?P<name>[^"]+)" does not exist'), "cli.database.no_database"),
                    (re.compile(r"Connection refused"), "cli.database.refused"),
                    (re.compile(r"failed to resolve host '(?P<host>[^']+)'"), "cli.database.no_host"),
                    (re.compile(r"timeout expired|timed out"), "cli.database.timeout"),
                    (re.compile(r"unable to open database file"), "cli.database.sqlite_cannot_open"),
                    (re.compile(r"Can't load plugin: sqlalchemy\.dialects:(?P<scheme>[^.\s]+)"),
                     "cli.database.unknown_scheme")]


def _database_reason(error: Exception) -> str:
    """Why the database cannot be reached, in words; a driver message not known here is not shown in
    English: `--debug` prints it with the traceback."""
    text = str(getattr(error, "orig", None) or error)
    for pattern, key in DATABASE_REASONS:
        found = pattern.search(text)
        if found:
            return say(key, **found.groupdict())
    return say("cli.database.other")


class Steps:
    """A progress bar on the terminal's stderr through the named steps of a command that can take a while
    (``with Steps(a, b) as steps: ...; steps.done()``); piped output and tests get nothing drawn."""

    def __init__(self, *labels: str) -> None:
        self.labels, self._bar, self._task = labels, None, None

    def __enter__(self) -> "Steps":
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, \
            TimeElapsedColumn

        self._bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), console=err_console, transient=True,
                             disable=not err_console.is_terminal)
        self._bar.start()
        self._task = self._bar.add_task(self.labels[0], total=len(self.labels))
        self._bar.refresh()
        return self

    def done(self) -> None:
        """The current step is finished: show the next one."""
        if self._bar is None:
            return
        finished = int(self._bar.tasks[0].completed) + 1
        self._bar.update(self._task, completed=finished, description=self.labels[min(finished, len(self.labels) - 1)])
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def handle_errors(function: F) -> F:
    """Domain errors and first-day mistakes (bad setting, unreachable database, missing file) become a clear
    message in the person's language and a non-zero exit; a traceback only with `parbot --debug`."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (typer.Exit, typer.Abort, TyperException, KeyboardInterrupt):
            raise
        except Exception as error:  # noqa: BLE001 - classified below; bugs are re-raised
            if options.debug:
                raise
            explained = _message(error)
            if explained is None:
                raise
            text, code = explained
            err_console.print(f"[red]{say('cli.error_prefix')}[/red] ", end="")
            err_console.print(text, markup=False)
            raise typer.Exit(code) from None

    return wrapper  # type: ignore[return-value]
