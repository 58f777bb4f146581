"""What every command shares: settings, the database (upgraded on first use) and error reporting."""
from __future__ import annotations

import functools
import getpass
import logging
from typing import Callable, TypeVar

import typer
from rich.console import Console

from ..core.errors import DomainError, ValidationFailed
from ..core.permissions import Caller
from ..i18n import render
from ..settings import Settings, get_settings
from ..storage.db import make_engine, upgrade
from ..storage.uow import SqlUnitOfWork

# Wide when piped (rich would otherwise wrap tables at 80 columns in files and CI logs).
console = Console(highlight=False, soft_wrap=True, width=None if Console().is_terminal else 200)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
log = logging.getLogger("parbot.cli")
F = TypeVar("F", bound=Callable)


@functools.lru_cache(maxsize=4)
def _engine(url: str):
    engine = make_engine(url)
    upgrade(engine)
    return engine


def settings() -> Settings:
    return get_settings()


def uow() -> SqlUnitOfWork:
    return SqlUnitOfWork(_engine(settings().database_url))


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "cli:unknown"


def admin() -> Caller:
    """Whoever runs the command line holds the database: they act as an administrator."""
    return Caller.admin(actor())


def explain(error: DomainError) -> str:
    params = ", ".join(f"{k}={v}" for k, v in error.params.items())
    return f"{error.code}" + (f" ({params})" if params else "")


def handle_errors(function: F) -> F:
    """Domain errors become a clear message and exit code 1 (2 for refused input files); never a traceback."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except ValidationFailed as error:
            err_console.print(f"[red]Refused:[/red] {explain(error)} — nothing was written. Problems:")
            for problem in error.problems:
                err_console.print(f"  • {render(problem, None)}", markup=False)
            raise typer.Exit(2) from None
        except DomainError as error:
            err_console.print(f"[red]Error:[/red] {explain(error)}")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]
