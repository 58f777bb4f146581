"""The CLI's own words in the reader's language: the help of every command and option, and what Click says
("Usage:", "Options", "Show this message and exit.", "Missing option", "No such command", "Error:").

Typer 0.29 vendors Click with these words hard-coded in English (only a few go through gettext's global
domain), so they are replaced where Typer lets a subclass in: ``App`` gives every group and command the
classes below. Help texts live in the catalogs (domain ``cli_help``) under keys derived from the command
path: ``cli.help.invite.create`` for the command, ``cli.help.invite.create.role`` for its ``--role`` option and
``cli.help.parbot`` for the top level. The language is read before parsing (``--lang`` on the command line,
then PARBOT_LANGUAGE) since ``--help`` is handled while the options are parsed.
"""
from __future__ import annotations

import re
import sys
from difflib import get_close_matches
from typing import Any

import typer
from typer._click.exceptions import (ClickException, MissingParameter, NoArgsIsHelpError, NoSuchOption,
                                     UsageError)
from typer._click.formatting import HelpFormatter
from typer.core import TyperCommand, TyperGroup

from .common import configured_language, err_console, lang, options, say

# The section titles Typer writes, by their English text (they reach the formatter as plain strings).
HEADINGS = {"Usage": "cli.click.usage", "Options": "cli.click.options", "Commands": "cli.click.commands",
            "Arguments": "cli.click.arguments"}
# The type Typer writes after an option or argument: <str>, <list[Path]>.
TYPE = re.compile(r"<(?P<list>list\[)?(?P<name>[A-Za-z]+(?: range)?)\]?>")
# The notes Typer appends to an option's help: "  [default: 14d; x>=0; required]" (a range stays as written).
NOTE = r"(?:required|default: [^;\]]*|env var: [^;\]]*|[0-9x<>=.-]+)"
NOTES = re.compile(rf"^(?P<help>.*?)\s*\[(?P<notes>{NOTE}(?:; {NOTE})*)\]$", re.DOTALL)
# Click's usage errors that only exist as English text, and the catalog key saying the same.
USAGE_ERRORS = [(re.compile(r"Got unexpected extra argument\(s\) \((?P<args>.*)\)$", re.DOTALL), "cli.click.extra_args"),
                (re.compile(r"Option (?P<name>'[^']*') requires an argument\.$"), "cli.click.needs_value"),
                (re.compile(r"Option (?P<name>'[^']*') requires (?P<count>\d+) arguments\.$"),
                 "cli.click.needs_values"),
                (re.compile(r"Option (?P<name>'[^']*') does not take a value\.$"), "cli.click.takes_no_value"),
                (re.compile(r"Argument (?P<name>'[^']*') takes (?P<count>\d+) values\.$"), "cli.click.needs_values")]


def _say(key: str, **params: object) -> str:
    """A message of this module's own catalog domain: the help parses it alone (0.016 s of CPU instead of
    0.045 s for every domain)."""
    from ..i18n import t_domain

    return t_domain("cli_help", key, lang(), **params)


class Formatter(HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix=f"{_say('cli.click.usage')} " if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        super().write_heading(_say(HEADINGS[heading]) if heading in HEADINGS else heading)

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:  # noqa: ANN001 - Click's types
        super().write_dl([(TYPE.sub(_type, term), _notes(text)) for term, text in rows], col_max, col_spacing)


def _type(match: re.Match) -> str:
    """A value's type as Typer names it (<str>, <int>, <list[Path]>) in words; choices (<vi|en>) stay."""
    from ..i18n import domain

    key = f"cli.click.type.{match['name'].lower().replace(' ', '_')}"
    if key not in domain("vi", "cli_help")._catalog:
        return match[0]
    return _say(key) + ("..." if match["list"] else "")


def _notes(text: str) -> str:
    match = NOTES.match(text)
    if not match:
        return text
    notes = []
    for note in match["notes"].split("; "):
        name, _, value = note.partition(": ")
        key = f"cli.click.note.{name.replace(' ', '_')}"
        notes.append(_say(key, value=value) if name in ("required", "default", "env var") else note)
    return f"{match['help']}  [{'; '.join(notes)}]".lstrip()


class Context(typer.Context):
    formatter_class = Formatter


class _Localized:
    context_class = Context

    def get_help_option(self, ctx: typer.Context):  # noqa: ANN201 - Typer's option class
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = _say("cli.click.help_option")
        return option


class Command(_Localized, TyperCommand):
    pass


class Group(_Localized, TyperGroup):
    def resolve_command(self, ctx: typer.Context, args: list[str]):  # noqa: ANN201 - as TyperGroup's
        name = args[0]
        if self.get_command(ctx, name) is None and not name.startswith("-") and not ctx.resilient_parsing:
            near = get_close_matches(name, list(self.commands))
            ctx.fail(_say("cli.click.no_such_command", name=name)
                     + (" " + _say("cli.click.did_you_mean", names=", ".join(near)) if near else ""))
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: typer.Context) -> Any:
        if not ctx._protected_args and not self.invoke_without_command:
            ctx.fail(_say("cli.click.missing_command"))
        return super().invoke(ctx)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # noqa: ANN001
        """Click's errors are shown here, in the chosen language, instead of by Typer (in English)."""
        args = list(sys.argv[1:] if args is None else args)
        options.lang = _lang_option(args) or configured_language()  # once: every message reads it
        localize(self, lang())
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except ClickException as error:
            if not standalone_mode:
                raise
            show(error)
            sys.exit(error.exit_code)
        except typer.Abort:
            if not standalone_mode:
                raise
            err_console.print(_say("cli.click.aborted"), markup=False)
            sys.exit(1)
        if standalone_mode:
            sys.exit(result if isinstance(result, int) else 0)
        return result


class App(typer.Typer):
    """A Typer app whose groups and commands speak the catalogs' language."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cls=Group, **kwargs)

    def command(self, name: str | None = None, **kwargs: Any):  # noqa: ANN201 - Typer's decorator
        return super().command(name, cls=Command, **kwargs)


def _lang_option(args: list[str]) -> str | None:
    """The value of the top-level --lang, read before Click parses (it handles --help first)."""
    for index, arg in enumerate(args):
        if arg.startswith("--lang="):
            value = arg.partition("=")[2]
        elif arg == "--lang":
            value = args[index + 1] if index + 1 < len(args) else None
        elif arg.startswith("-"):
            continue
        else:
            return None  # the subcommand: what follows is its own
        return value if value in ("vi", "en") else None
    return None


def help_key(path: tuple[str, ...]) -> str:
    return "cli.help." + (".".join(path) if path else "parbot")


def commands(command, path: tuple[str, ...] = ()):  # noqa: ANN001, ANN201 - Click commands
    """(path, command) of ``command`` and of every subcommand under it."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, (*path, name))


def localize(root, language: str) -> None:  # noqa: ANN001 - the top-level Group
    """Every command's and option's help from the catalog; the command tree is built afresh per run."""
    from functools import partial

    from ..i18n import t_domain

    text = partial(t_domain, "cli_help", lang=language)
    metavar = text("cli.click.options_metavar")
    for path, command in commands(root):
        key = help_key(path)
        command.help, command.short_help = text(key), None
        command.options_metavar = metavar
        if isinstance(command, TyperGroup):
            command.subcommand_metavar = text("cli.click.commands_metavar")
        for param in command.params:
            param.help = text(f"{key}.{param.name}")
            if param.param_type_name == "argument":  # its name, shown in the usage line and errors
                param.metavar = text(f"cli.click.argument.{param.name}")


def show(error: ClickException) -> None:
    """Click's ``error.show()`` in the chosen language: the usage line, where to find help, then the error."""
    if isinstance(error, NoArgsIsHelpError):
        err_console.print(error.format_message(), markup=False, highlight=False)
        return
    ctx = getattr(error, "ctx", None)
    if ctx is not None:
        lines = [ctx.get_usage()]
        if ctx.command.get_help_option(ctx) is not None:
            lines.append(_say("cli.click.try_help", command=f"{ctx.command_path} {ctx.help_option_names[0]}"))
        err_console.print("\n".join(lines) + "\n", markup=False)
    err_console.print(f"[red]{say('cli.error_prefix')}[/red] ", end="")
    err_console.print(message(error), markup=False)


def message(error: ClickException) -> str:
    """What went wrong, in the chosen language; a message Click only has in English is shown as it is."""
    param = getattr(error, "param", None)
    if isinstance(error, MissingParameter):
        kind = error.param_type or (param.param_type_name if param else "parameter")
        return _say(f"cli.click.missing.{kind}" if kind in ("option", "argument") else "cli.click.missing.parameter",
                   name=param.get_error_hint() if param else "")
    if isinstance(error, NoSuchOption):
        text = _say("cli.click.no_such_option", name=error.option_name)
        if error.possibilities:
            text += " " + _say("cli.click.did_you_mean", names=", ".join(sorted(error.possibilities)))
        return text
    if isinstance(error, typer.BadParameter):
        reason = _reason(error, param)
        name = error.param_hint or (param.get_error_hint() if param else None)
        return _say("cli.click.invalid_for", name=name, reason=reason) if name else _say("cli.click.invalid", reason=reason)
    if isinstance(error, UsageError):
        for pattern, key in USAGE_ERRORS:
            match = pattern.match(error.message)
            if match:
                return _say(key, **match.groupdict())
    return error.format_message()


def _reason(error: ClickException, param) -> str:  # noqa: ANN001 - Typer's parameter
    """Why a value was refused: Typer converts values with pydantic, whose error has a catalog message."""
    from enum import Enum

    cause = error.__cause__
    if cause is None or not hasattr(cause, "errors"):
        return error.message
    problem = cause.errors()[0]
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _say("cli.click.choice", value=problem.get("input"), choices=", ".join(m.value for m in annotation))
    from ..core.errors import schema_problem
    from ..i18n import render

    found = schema_problem(problem)
    return render(found, lang()) if found is not None else error.message
