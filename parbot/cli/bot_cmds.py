"""`parbot bot run`: the Telegram bot, and the Zalo bot when PARBOT_ZALO_BOT_TOKEN is set."""
from __future__ import annotations

import logging

import typer

from .common import handle_errors, settings

bot_app = typer.Typer(help="The Telegram bot.", no_args_is_help=True)


@bot_app.command("run")
@handle_errors
def bot_run(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every request.")) -> None:
    """Poll TELEGRAM_API_BASE (Telegram, or the emulator) and PARBOT_ZALO_API_BASE, each channel that has a
    token, until SIGTERM or Ctrl-C."""
    from ..bot.app import run_bot

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every URL, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    current = settings()
    if current.zalo_token is not None:
        from ..bot.zalo import runner as zalo

        if current.telegram_token is None:
            zalo.run_alone(current)
            return
        zalo.beside_telegram()
    run_bot(current)


def register(app: typer.Typer) -> None:
    app.add_typer(bot_app, name="bot")
