"""`parbot bot run`: the Telegram bot."""
from __future__ import annotations

import logging

import typer

from .common import handle_errors, log_scheduler_skips_as_info, settings

bot_app = typer.Typer(help="Bot Telegram.", no_args_is_help=True)


@bot_app.command("run")
@handle_errors
def bot_run(verbose: bool = typer.Option(False, "--verbose", "-v", help="Ghi nhật ký mọi yêu cầu.")) -> None:
    """Chạy bot: nhận tin từ TELEGRAM_API_BASE (Telegram, hoặc trình giả lập) cho đến khi SIGTERM hoặc Ctrl-C."""
    config = settings()
    if config.telegram_token is None:
        from ..core.errors import DomainError

        raise DomainError("bot.no_token")
    from ..bot.app import run_bot

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every URL, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    log_scheduler_skips_as_info()
    run_bot(config)


def register(app: typer.Typer) -> None:
    app.add_typer(bot_app, name="bot")
