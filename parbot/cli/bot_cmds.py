"""`parbot bot run`: the Telegram bot."""
from __future__ import annotations

import logging

import typer

from .common import err_console, handle_errors, log_scheduler_skips_as_info, settings

bot_app = typer.Typer(help="Bot Telegram.", no_args_is_help=True)


@bot_app.command("run")
@handle_errors
def bot_run(verbose: bool = typer.Option(False, "--verbose", "-v", help="Ghi nhật ký mọi yêu cầu.")) -> None:
    """Chạy bot: nhận tin từ TELEGRAM_API_BASE (Telegram, hoặc trình giả lập) cho đến khi SIGTERM hoặc Ctrl-C."""
    current = settings()
    if current.telegram_token is None:
        from ..core.errors import DomainError

        raise DomainError("bot.no_token")
    from telegram.error import InvalidToken

    from ..bot.app import run_bot
    from ..i18n import t
    from ..logsafe import configure

    # The redactor masks the token in the request URLs httpx logs, so --verbose can show them.
    configure(logging.DEBUG if verbose else logging.INFO, current,
              format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not verbose:
        logging.getLogger("httpx").setLevel(logging.WARNING)
    log_scheduler_skips_as_info()
    try:
        run_bot(current)
    except InvalidToken:  # its message and traceback quote the token
        err_console.print(t("guard.token_rejected", current.language, api=current.telegram_api_base), markup=False)
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    app.add_typer(bot_app, name="bot")
