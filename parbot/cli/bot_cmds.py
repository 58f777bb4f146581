"""`parbot bot run`: the Telegram bot (polling, the default, or behind a webhook), and the Zalo bot when
PARBOT_ZALO_BOT_TOKEN is set."""
from __future__ import annotations

import logging

import typer

from .localized import App
from .common import err_console, handle_errors, log_scheduler_skips_as_info, settings

bot_app = App(no_args_is_help=True)
DEFAULT_LISTEN = "127.0.0.1:8443"


def parse_listen(value: str) -> tuple[str, int]:
    """HOST:PORT (the host may be an IPv6 address in brackets: [::1]:8443)."""
    from ..i18n import t

    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise typer.BadParameter(t("webhook.listen_invalid", settings().language, value=value))
    return host, int(port)


@bot_app.command("run")
@handle_errors
def bot_run(verbose: bool = typer.Option(False, "--verbose", "-v"),
            webhook: bool = typer.Option(False, "--webhook"),
            listen: str | None = typer.Option(None, "--listen", metavar="HOST:PORT")
            ) -> None:
    from ..i18n import render, t

    current = settings()
    if webhook and listen is None:
        listen = DEFAULT_LISTEN
    address = parse_listen(listen) if listen is not None else None
    if webhook and current.webhook_token is None:
        err_console.print(t("webhook.secret_missing", current.language), markup=False)
        raise typer.Exit(2)
    if current.telegram_token is None and current.zalo_token is None:
        from ..core.errors import DomainError

        raise DomainError("bot.no_token")
    from telegram.error import InvalidToken

    from ..bot.app import run_bot
    from ..storage.process_locks import SenderAlreadyRunning
    from ..bot.webhook import ListenFailed
    from ..bot.zalo.client import ZaloError
    from ..logsafe import configure

    # The redactor masks the token in the request URLs httpx logs, so --verbose can show them.
    configure(logging.DEBUG if verbose else logging.INFO, current,
              format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not verbose:
        logging.getLogger("httpx").setLevel(logging.WARNING)
    log_scheduler_skips_as_info()
    try:
        run_bot(current, webhook=webhook, listen=address)
    except ZaloError as error:  # the platform refused setWebhook or deleteWebhook (e.g. a URL not HTTPS)
        err_console.print(t("webhook.zalo_refused", current.language, api=current.zalo_api_base,
                            reason=error.description), markup=False)
        raise typer.Exit(1) from None
    except InvalidToken:  # its message and traceback quote the token
        err_console.print(t("guard.token_rejected", current.language, api=current.telegram_api_base), markup=False)
        raise typer.Exit(1) from None
    except SenderAlreadyRunning:
        err_console.print(t("webhook.sqlite_taken", current.language, database=current.database_url), markup=False)
        raise typer.Exit(1) from None
    except ListenFailed as error:
        err_console.print(t("webhook.listen_failed", current.language, listen=listen,
                            reason=render(error.reason, current.language)), markup=False)
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    app.add_typer(bot_app, name="bot")
