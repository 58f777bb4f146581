"""`parbot --help` and every subcommand's --help are printed without the heavy libraries (issue 12: 2 s of
CPU went into importing SQLAlchemy, alembic, openpyxl and numpy before help was shown)."""
from __future__ import annotations

import json
import subprocess
import sys

# pydantic is not listed: Typer itself (0.29) builds its converters for enum options with it.
HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "openpyxl", "matplotlib", "numpy", "telegram", "aiohttp", "yaml")

# Runs every `--help` in one fresh interpreter, then reports which heavy modules got imported.
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
print(json.dumps({"paths": len(all_paths), "heavy": sorted(m for m in %r if m in sys.modules)}))
""" % (HEAVY,)


def test_every_help_is_printed_without_heavy_imports():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["paths"] > 30  # the walk reached the subcommands, not only the top level
    assert report["heavy"] == []


def test_help_is_in_vietnamese():
    from typer.testing import CliRunner

    from parbot.cli.main import app

    out = CliRunner().invoke(app, ["--help"]).stdout
    assert "Mã mời dùng một lần" in out and "Bộ tiêu chí." in out and "Nhắc hạn" in out
    out = CliRunner().invoke(app, ["invite", "create", "--help"]).stdout
    assert "Tạo một mã mời dùng một lần" in out and "Thời hạn: 14d (ngày)" in out
