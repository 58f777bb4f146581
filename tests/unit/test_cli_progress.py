"""Commands that can run for seconds show their steps on the terminal (issue 12); piped, they draw nothing."""
from __future__ import annotations

import csv
import io

import pytest
from rich.console import Console
from typer.testing import CliRunner

from parbot.cli import common
from parbot.cli.main import app
from parbot.settings import get_settings
from tests.conftest import DATA


@pytest.fixture
def run(monkeypatch, tmp_path):
    monkeypatch.delenv("PARBOT_LANGUAGE", raising=False)
    monkeypatch.setenv("PARBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'parbot.db'}")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: object):
        get_settings.cache_clear()
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    yield invoke
    get_settings.cache_clear()


@pytest.fixture
def units_file(tmp_path):
    path = tmp_path / "units.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["code", "name", "block"], ["SNV", "Sở Nội vụ", "so_ban_nganh"]])
    return path


def test_imports_and_exports_show_their_steps_on_a_terminal(run, monkeypatch, tmp_path, units_file):
    screen = io.StringIO()
    monkeypatch.setattr(common, "err_console", Console(file=screen, force_terminal=True, width=120))
    run("period", "create", DATA / "vinhphuc-2019-period.yaml")
    run("units", "import", units_file)
    drawn = screen.getvalue()
    assert "Đang đọc" in drawn and "units.csv" in drawn and "Đang kiểm tra và lưu" in drawn
    screen.truncate(0)
    out = run("results", "--period", "2019", "--format", "xlsx", "--out", tmp_path / "kq.xlsx").stdout
    assert "Đang tính kết quả" in screen.getvalue() and "Đang ghi" in screen.getvalue()
    assert f"Đã ghi {tmp_path / 'kq.xlsx'}." in out and (tmp_path / "kq.xlsx").exists()


def test_piped_output_carries_no_progress(run, units_file):
    run("period", "create", DATA / "vinhphuc-2019-period.yaml")
    result = run("units", "import", units_file)
    assert "Đang" not in result.stdout + result.stderr
