"""Bot tokens never reach a log or stderr: the redactor on every record, and the real entry points run as
processes against the emulator with a token it rejects (401), the one path that printed the token most."""
from __future__ import annotations

import asyncio
import logging
import os
import sys

import pytest

from parbot.logsafe import MASK, Redactor
from parbot.sandbox.emulator import EmulatorServer

GOOD = "7788990011:AAGoodTokenOfTheEmulator_0123456789abcdefXY"
WRONG = "1234567890:AAWrongTokenThatTheServerRejects-0123456789"
ZALO = "zalo-secret-of-any-shape"


@pytest.fixture
def redacted(caplog):
    """A logger whose records pass the redactor before caplog's handler sees them."""
    redactor = Redactor([ZALO])
    caplog.handler.addFilter(redactor)
    caplog.set_level(logging.DEBUG)
    yield caplog
    caplog.handler.removeFilter(redactor)


def test_tokens_are_masked_in_message_arguments_urls_and_tracebacks(redacted):
    log = logging.getLogger("parbot.test")
    log.debug("Set Bot API URL: %s", f"https://api.telegram.org/bot{WRONG}")
    log.info("HTTP Request: POST http://127.0.0.1/bot%s/getMe", WRONG)
    log.info("zalo said no to %s", ZALO)
    try:
        raise RuntimeError(f"The token `{WRONG}` was rejected by the server.")
    except RuntimeError:
        log.exception("start-up failed")
    text = redacted.text
    assert WRONG not in text and ZALO not in text
    assert f"bot{MASK}/getMe" in text and f"api.telegram.org/bot{MASK}" in text
    assert "RuntimeError: The token `<token>` was rejected" in text  # the traceback itself is kept


async def run(*args: str, env: dict) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(sys.executable, *args, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode, output.decode()


@pytest.fixture
async def rejecting(tmp_path):
    async with EmulatorServer(token=GOOD) as server:
        yield os.environ | {"PARBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'parbot.db'}",
                            "TELEGRAM_BOT_TOKEN": WRONG, "TELEGRAM_API_BASE": server.base_url,
                            "PARBOT_ZALO_BOT_TOKEN": ZALO, "PARBOT_EVIDENCE_DIR": str(tmp_path / "evidence"),
                            "PARBOT_LANGUAGE": "vi", "PARBOT_LOG_LEVEL": "INFO"}


async def test_bot_run_verbose_with_a_rejected_token_never_prints_it(rejecting):
    code, output = await run("-m", "parbot.cli.main", "bot", "run", "--verbose", env=rejecting)
    assert code == 1
    assert "Set Bot API URL" in output and "HTTP Request: POST" in output  # the lines that carried it
    assert WRONG not in output and WRONG.split(":")[1] not in output
    assert output.strip().splitlines()[-1].startswith("Máy chủ Bot API")  # a clear end, no CLI traceback


async def test_jobs_process_logs_requests_without_the_token(rejecting):
    code, output = await run("-m", "parbot.bot.jobs", env=rejecting)
    assert code == 1
    assert f"bot{MASK}/getMe" in output  # httpx's INFO request line, masked
    assert WRONG not in output and WRONG.split(":")[1] not in output
    assert "từ chối mã bot" in output


async def test_every_cli_command_redacts_what_reaches_stderr_without_logging_set_up(tmp_path):
    """No other command configures logging: warnings go to Python's last-resort handler, redacted too."""
    script = ("import logging\n"
              "from parbot.cli.main import app\n"
              "app(['units', 'list'], standalone_mode=False)\n"
              f"logging.getLogger('telegram').warning('Set Bot API URL: http://x/bot%s/getMe', {WRONG!r})\n")
    code, output = await run("-c", script, env=os.environ | {
        "PARBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'parbot.db'}", "PARBOT_EVIDENCE_DIR": str(tmp_path / "ev")})
    assert code == 0, output
    assert f"http://x/bot{MASK}/getMe" in output and WRONG not in output
