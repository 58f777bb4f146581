"""`parbot --help` and every subcommand's --help are printed without the heavy libraries (issue 12: 2 s of
CPU went into importing SQLAlchemy, alembic, openpyxl and numpy before help was shown)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from parbot.cli.localized import commands, help_key
from parbot.cli.main import app
from parbot.i18n import catalog
from tests.unit.test_vietnamese_output import ALLOWED, english

VIETNAMESE = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.IGNORECASE)

# pydantic is not listed: Typer itself (0.29) builds its converters for enum options with it. The settings
# (pydantic_settings) are: the help's language is read from the environment and .env without them.
HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "openpyxl", "matplotlib", "numpy", "telegram", "aiohttp", "yaml",
         "pydantic_settings")

# Runs every `--help` in one fresh interpreter, then reports which heavy modules got imported and whether the
# merged catalogs of every domain were parsed.
SCRIPT = """
import json, sys
from typer.main import get_command
from parbot.cli.main import app

def paths(command, prefix=()):
    yield prefix
    for name, sub in getattr(command, "commands", {}).items():
        yield from paths(sub, (*prefix, name))

all_paths = list(paths(get_command(app)))
for path in all_paths:
    try:
        app([*path, "--help"])
    except SystemExit as exit_:
        assert exit_.code == 0, (path, exit_.code)
from parbot.i18n import translations
print(json.dumps({"paths": len(all_paths), "heavy": sorted(m for m in %r if m in sys.modules),
                  "all_catalogs_parsed": translations.cache_info().currsize}))
""" % (HEAVY,)


def test_every_help_is_printed_without_heavy_imports():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["paths"] > 30  # the walk reached the subcommands, not only the top level
    assert report["heavy"] == []
    assert report["all_catalogs_parsed"] == 0  # only the cli_help domain: a third of the cost


def test_help_is_in_vietnamese():
    out = CliRunner().invoke(app, ["--help"]).stdout
    assert "Mã mời dùng một lần" in out and "Bộ tiêu chí." in out and "Nhắc hạn" in out
    out = CliRunner().invoke(app, ["invite", "create", "--help"]).stdout
    assert "Tạo một mã mời dùng một lần" in out and "Thời hạn: 14d (ngày)" in out


@pytest.fixture
def run(monkeypatch, tmp_path):
    """`parbot ARGS` in a fresh folder: (exit code, stdout + stderr)."""
    monkeypatch.delenv("PARBOT_LANGUAGE", raising=False)
    monkeypatch.setenv("PARBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'parbot.db'}")
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args))
        return result.exit_code, result.stdout + result.stderr

    return invoke


def test_every_command_and_option_has_its_help_in_both_languages():
    vi, en = catalog("vi"), catalog("en")
    keys = []
    for path, command in commands(get_command(app)):
        keys.append(help_key(path))
        keys += [f"{help_key(path)}.{param.name}" for param in command.params]
    assert len(keys) > 100
    assert [k for k in keys if k not in vi or k not in en] == []
    assert [k for k in keys if vi[k] == en[k]] == []  # written out in each language, not copied
    assert sorted(k for k in (*vi, *en) if k.startswith("cli.help.") and k not in keys) == []  # none left over


@pytest.mark.parametrize("args", [["--help"], ["invite", "create", "--help"], ["reminders", "preview", "--help"],
                                  ["framework", "validate", "--help"], ["members", "remove", "--help"]])
def test_help_reads_in_vietnamese_by_default_and_in_english_with_lang_en(run, args):
    code, vi = run(*args)
    assert code == 0
    assert english(vi) == []
    for word in ("Usage", "Options", "Commands", "Arguments", "Show this message", "required", "default:", "<str>"):
        assert word not in vi
    assert "Cách dùng: parbot" in vi and "Tùy chọn:" in vi and "Xem hướng dẫn này rồi thoát." in vi
    code, en = run("--lang", "en", *args)
    assert code == 0
    assert "Usage: parbot" in en and "Options:" in en and "Show this message and exit." in en
    assert not VIETNAMESE.search(en), en
    assert run(*args, "--lang", "en")[1] == en or args != ["--help"]  # --lang after --help counts too


def test_no_help_text_leaks_the_other_language():
    """Every command's --help, both languages: no English word in the Vietnamese help, no Vietnamese letter in
    the English help (quoted examples aside: "Sở Nội vụ" is what an administrator types)."""
    runner, leaks = CliRunner(), []
    for path, _ in commands(get_command(app)):
        vi = runner.invoke(app, [*path, "--help"]).stdout
        en = ALLOWED.sub(" ", runner.invoke(app, ["--lang", "en", *path, "--help"]).stdout)
        leaks += [(path, line) for line in english(vi)] + [(path, line) for line in en.splitlines()
                                                             if VIETNAMESE.search(line)]
    assert leaks == []


def test_the_language_of_the_help_also_comes_from_parbot_language(run, monkeypatch):
    monkeypatch.setenv("PARBOT_LANGUAGE", "en")
    assert "Create a one-time invitation code" in run("invite", "create", "--help")[1]
    monkeypatch.delenv("PARBOT_LANGUAGE")
    Path(".env").write_text("PARBOT_LANGUAGE=en\n", encoding="utf-8")
    assert "Create a one-time invitation code" in run("invite", "create", "--help")[1]
    assert "Tạo một mã mời" in run("--lang", "vi", "invite", "create", "--help")[1]


@pytest.mark.parametrize("args,vi_error,en_error", [
    (["invite", "create"], "Lỗi: Thiếu tùy chọn bắt buộc '--role'.", "Error: Missing option '--role'."),
    (["nosuch"], "Lỗi: Không có lệnh “nosuch”.", "Error: No such command “nosuch”."),
    (["invte"], "Có phải ý bạn là: invite?", "Did you mean: invite?"),
    (["results", "--period", "abc"], "Giá trị của '--period' không hợp lệ: cần một số nguyên",
     "Invalid value for '--period': expected a whole number"),
    (["invite", "list", "--nope"], "Không có tùy chọn --nope.", "No such option: --nope."),
    (["invite", "revoke"], "Thiếu tham số bắt buộc 'MÃ_MỜI'.", "Missing argument 'CODE'."),
    (["invite", "revoke", "a", "b"], "Thừa tham số: b.", "Unexpected extra arguments: b."),
    (["invite", "create", "--role"], "Tùy chọn '--role' cần một giá trị.", "Option '--role' requires a value."),
])
def test_usage_errors_read_in_the_chosen_language(run, args, vi_error, en_error):
    code, vi = run(*args)
    assert code == 2
    assert vi_error in vi and english(vi) == []
    assert "Usage" not in vi and "Try '" not in vi and "Error" not in vi
    code, en = run("--lang", "en", *args)
    assert code == 2 and en_error in en


def test_a_wrong_lang_is_refused_in_the_configured_language(run):
    code, out = run("--lang", "fr", "invite", "list")
    assert code == 2
    assert "Giá trị của '--lang' không hợp lệ: “fr” không phải một trong các giá trị vi, en." in out
