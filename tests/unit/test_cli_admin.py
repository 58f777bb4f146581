"""The administrator's first steps: the invite link built from the bot's real username, reminders preview
saying why nothing is due, and the scheduler's skipped-run warning kept off the console (issue 12)."""
from __future__ import annotations

import csv
import logging

import pytest
from typer.testing import CliRunner

from parbot.cli.main import app
from parbot.settings import get_settings
from tests.conftest import DATA


@pytest.fixture
def run(monkeypatch, tmp_path):
    for name in ("PARBOT_LANGUAGE", "TELEGRAM_BOT_TOKEN", "PARBOT_BOT_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PARBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'parbot.db'}")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str):
        get_settings.cache_clear()
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    yield invoke
    get_settings.cache_clear()


@pytest.fixture
def province(run, tmp_path):
    """The Vĩnh Phúc 2019 period with one department, nobody invited yet."""
    assert run("period", "create", DATA / "vinhphuc-2019-period.yaml")[0] == 0
    with (tmp_path / "units.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["code", "name", "block"], ["SNV", "Sở Nội vụ", "so_ban_nganh"]])
    assert run("units", "import", tmp_path / "units.csv")[0] == 0
    return run


def test_invite_link_uses_the_configured_username(province, monkeypatch):
    monkeypatch.setenv("PARBOT_BOT_USERNAME", "@cchc_vinhphuc_bot")
    code, out, _ = province("invite", "create", "--role", "officer", "--unit", "SNV")
    assert code == 0
    invite_code = out.split("Mã: ")[1].split()[0]
    assert f"Liên kết: https://t.me/cchc_vinhphuc_bot?start={invite_code}" in out
    assert "<bot>" not in out


def test_invite_without_username_or_token_warns_and_says_how_to_join(province):
    code, out, err = province("invite", "create", "--role", "officer", "--unit", "SNV")
    assert code == 0
    invite_code = out.split("Mã: ")[1].split()[0]
    assert "t.me" not in out and "<bot>" not in out
    assert "PARBOT_BOT_USERNAME" in err and f"/start {invite_code}" in err


def test_invite_when_telegram_does_not_answer_getme(province, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:unreachable")
    monkeypatch.setenv("PARBOT_TELEGRAM_API_BASE", "http://127.0.0.1:1")
    code, out, err = province("invite", "create", "--role", "officer", "--unit", "SNV")
    assert code == 0 and "t.me" not in out
    assert "Không hỏi được Telegram tên bot" in err and "/start " in err


def test_reminders_preview_says_nobody_has_joined(province):
    code, out, _ = province("reminders", "preview", "--period", "2019")
    assert code == 0
    assert "Không có nhắc hạn nào đến hạn" in out and "chưa ai nhận lời mời" in out
    code, out, _ = province("--lang", "en", "reminders", "preview", "--period", "2019")
    assert "nobody has accepted an invitation yet" in out


def test_skipped_scheduler_runs_are_logged_as_info(caplog):
    from parbot.cli.common import log_scheduler_skips_as_info

    log_scheduler_skips_as_info()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("apscheduler.scheduler").warning(
            'Execution of job "%s" skipped: maximum number of running instances reached (%d)', "sweep", 1)
        logging.getLogger("apscheduler.scheduler").warning("something else")
    assert [r.levelname for r in caplog.records] == ["INFO", "WARNING"]


def test_table_headers_follow_the_language(province):
    province("invite", "create", "--role", "officer", "--unit", "SNV")
    out = province("invite", "list")[1]
    assert "vai trò" in out and "trạng thái" in out and "status" not in out
    out = province("--lang", "en", "invite", "list")[1]
    assert "role" in out and "status" in out and "vai trò" not in out
