"""The `parbot` administrator command."""
from __future__ import annotations

from enum import Enum
from typing import Optional

import typer

from ..logsafe import install
from . import appraisal_cmds, bot_cmds, demo_cmds, people_cmds, reminders_cmds, report_cmds, setup_cmds
from .common import options
from .localized import App

app = App(name="parbot", no_args_is_help=True, add_completion=False, rich_markup_mode=None)


class Lang(str, Enum):
    vi = "vi"
    en = "en"


@app.callback()
def main(lang: Optional[Lang] = typer.Option(None, "--lang"),
         debug: bool = typer.Option(False, "--debug")
         ) -> None:
    # Before any command: what reaches stderr through logging (Python's last-resort handler included) is
    # redacted; `parbot bot run` adds the configured tokens when it sets logging up.
    install()
    if lang:  # the group's main resolved it already; Typer parsed the same option
        options.lang = lang.value
    options.debug = debug


setup_cmds.register(app)
appraisal_cmds.register(app)
people_cmds.register(app)
bot_cmds.register(app)
demo_cmds.register(app)
reminders_cmds.register(app)
report_cmds.register(app)


if __name__ == "__main__":
    app()
