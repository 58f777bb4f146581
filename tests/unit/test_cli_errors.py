"""Every first-day mistake and every domain error reaches the administrator as a message saying what was
wrong and what to do, in Vietnamese unless asked otherwise, with a non-zero exit and no traceback (issue 12)."""
from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from parbot.cli.main import app
from parbot.core.errors import DomainError
from parbot.settings import get_settings


@pytest.fixture
def run(monkeypatch, tmp_path):
    """`parbot …` in an empty folder on a SQLite file there; returns (exit code, stdout, stderr)."""
    for name in ("PARBOT_LANGUAGE", "TELEGRAM_BOT_TOKEN", "PARBOT_BOT_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PARBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'parbot.db'}")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str):
        get_settings.cache_clear()
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    yield invoke
    get_settings.cache_clear()


def test_domain_error_in_vietnamese_by_default_and_english_on_request(run, monkeypatch):
    assert run("db", "upgrade")[0] == 0
    code, _, err = run("invite", "create", "--role", "officer", "--unit", "ZZZ")
    assert code == 1
    assert "Không tìm thấy đơn vị ZZZ" in err and "unit.not_found" not in err and "Traceback" not in err
    code, _, err = run("--lang", "en", "invite", "create", "--role", "officer", "--unit", "ZZZ")
    assert code == 1 and "Unit ZZZ is not in the current period" in err
    monkeypatch.setenv("PARBOT_LANGUAGE", "en")
    assert "Unit ZZZ is not in the current period" in run("invite", "create", "--role", "officer",
                                                          "--unit", "ZZZ")[2]


def test_debug_shows_the_error_itself(run):
    run("db", "upgrade")
    with pytest.raises(DomainError, match="unit.not_found"):
        run("--debug", "invite", "create", "--role", "officer", "--unit", "ZZZ")


def test_bot_run_without_a_token_says_where_to_get_one(run):
    code, _, err = run("bot", "run")
    assert code == 1
    assert "TELEGRAM_BOT_TOKEN" in err and "@BotFather" in err and ".env" in err


def test_unreachable_database_names_the_url_without_its_password(run, monkeypatch):
    monkeypatch.setenv("PARBOT_DATABASE_URL", "postgresql+psycopg://parbot:s3cret@127.0.0.1:1/parbot")
    code, _, err = run("results")
    assert code == 1
    assert "Không kết nối được cơ sở dữ liệu postgresql+psycopg://parbot:***@127.0.0.1:1/parbot" in err
    assert "PARBOT_DATABASE_URL" in err and "s3cret" not in err and "Traceback" not in err


def test_bad_settings_are_named_with_what_is_expected(run, monkeypatch):
    monkeypatch.setenv("PARBOT_SEND_RATE_GLOBAL", "abc")
    monkeypatch.setenv("PARBOT_LANGUAGE", "fr")  # itself wrong: the message falls back to Vietnamese
    code, _, err = run("results")
    assert code == 2
    assert "Cấu hình không hợp lệ" in err
    assert "PARBOT_SEND_RATE_GLOBAL = 'abc'" in err and "PARBOT_LANGUAGE = 'fr'" in err
    assert ".env" in err


@pytest.mark.parametrize(("action", "expected"), [
    (lambda folder: (folder / "no-such-folder" / "x.xlsx").write_bytes(b""), "Không tìm thấy tệp hoặc thư mục"),
    (lambda folder: folder.joinpath("x.csv").write_bytes(b"") or folder.read_text(), "là một thư mục"),
    (lambda folder: b"\xff\xfe\xfa".decode("utf-8"), "Không đọc được nội dung tệp"),
])
def test_file_mistakes_inside_any_command(monkeypatch, tmp_path, action, expected):
    import typer

    from parbot.cli.common import handle_errors, options

    monkeypatch.delenv("PARBOT_LANGUAGE", raising=False)
    options.lang = None
    get_settings.cache_clear()
    tool = typer.Typer()

    @tool.command()
    @handle_errors
    def write() -> None:
        action(tmp_path)

    result = CliRunner().invoke(tool, [], catch_exceptions=False)
    assert result.exit_code == 2 and expected in result.stderr and "Traceback" not in result.stderr


def test_missing_input_file_is_named(run):
    run("db", "upgrade")
    code, _, err = run("units", "import", "nope.csv")
    assert code == 2 and "nope.csv" in err and "Chưa ghi gì vào cơ sở dữ liệu" in err


def test_a_reading_command_refuses_to_create_a_database(run, tmp_path):
    code, _, err = run("results")
    assert code == 1
    assert f"sqlite:///{tmp_path / 'parbot.db'}" in err and "parbot db upgrade" in err
    assert not (tmp_path / "parbot.db").exists()
    assert run("db", "upgrade")[0] == 0 and (tmp_path / "parbot.db").exists()


def test_schema_problems_of_a_criteria_file_in_vietnamese(run, tmp_path):
    from parbot.core.services.catalog import shipped_sets_dir

    text = (shipped_sets_dir() / "2020-so.yaml").read_text(encoding="utf-8")
    bad = text.replace("year: 2020", "year: hai nghìn", 1)
    assert bad != text
    (tmp_path / "bad.yaml").write_text(bad, encoding="utf-8")
    code, _, err = run("framework", "validate", "bad.yaml")
    assert code == 1
    assert "year: cần một số nguyên, nhưng ở đây là 'hai nghìn'" in err and "lỗi cần sửa" in err
    assert "Input should" not in err
    assert "year: expected a whole number, got 'hai nghìn'" in run("--lang", "en", "framework", "validate",
                                                                    "bad.yaml")[2]


def test_schema_problems_of_a_period_file_in_vietnamese(run, tmp_path):
    (tmp_path / "p.yaml").write_text("year: 2020\ncriteria: {so: 2020-so.yaml}\ndeadlines: [1, 2]\n",
                                     encoding="utf-8")
    code, _, err = run("period", "create", "p.yaml")
    assert code == 2
    assert "p.yaml:3: deadlines: cần một nhóm khóa" in err and "Chưa ghi gì vào cơ sở dữ liệu" in err


def test_the_example_env_file_as_copied_gives_the_missing_token_message(run, tmp_path, monkeypatch):
    """`cp .env.example .env && parbot bot run`: its empty values mean "not set", not invalid settings."""
    example = Path(__file__).resolve().parents[2] / ".env.example"
    (tmp_path / ".env").write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    for name in ("PARBOT_PUBLIC_URL", "PARBOT_WEBHOOK_SECRET", "PARBOT_LINK_SECRET", "PARBOT_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = run("bot", "run")
    assert code == 1 and "TELEGRAM_BOT_TOKEN" in err and "Cấu hình không hợp lệ" not in err
