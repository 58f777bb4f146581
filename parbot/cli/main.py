"""The `parbot` administrator command."""
from __future__ import annotations

import typer

from ..logsafe import install
from . import appraisal_cmds, bot_cmds, demo_cmds, people_cmds, reminders_cmds, report_cmds, setup_cmds

app = typer.Typer(name="parbot", no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                  help="parbot: the PAR Index (Chỉ số CCHC) of a province, run through Telegram.")


@app.callback()
def _redact_logs() -> None:
    # Before any command: what reaches stderr through logging (Python's last-resort handler included) is
    # redacted; `parbot bot run` adds the configured tokens when it sets logging up.
    install()


setup_cmds.register(app)
appraisal_cmds.register(app)
people_cmds.register(app)
bot_cmds.register(app)
demo_cmds.register(app)
reminders_cmds.register(app)
report_cmds.register(app)


if __name__ == "__main__":
    app()
