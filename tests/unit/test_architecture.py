"""The rooms stay separate: core imports no I/O library; reports never use pyplot."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "parbot"
FORBIDDEN_IN_CORE = ("telegram", "sqlalchemy", "sqlmodel", "matplotlib", "aiohttp", "alembic", "openpyxl",
                     "parbot.storage", "parbot.bot", "parbot.reports", "parbot.cli", "parbot.sandbox")


def imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-node.level]
                names.append(".".join((*package, node.module or "")).rstrip("."))
            else:
                names.append(node.module or "")
    return names


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_imports_no_io_library(path):
    bad = [name for name in imports(path) if name.startswith(FORBIDDEN_IN_CORE)]
    assert bad == [], f"{path.relative_to(PACKAGE)} imports {bad}"


def test_no_module_uses_pyplot():
    users = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if "matplotlib.pyplot" in imports(p)]
    assert users == []


@pytest.mark.parametrize("path", sorted((PACKAGE / "core" / "services").glob("*.py")), ids=lambda p: p.name)
def test_service_options_are_keyword_only(path):
    """A service's optional parameters after ``uow`` are keyword-only: a caller never passes ``None`` by position
    to reach a later one, and adding an option never shifts another."""
    positional = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef):
            params = node.args.posonlyargs + node.args.args
            if params and params[0].arg == "uow" and node.args.defaults:
                positional.append(f"{node.name}({', '.join(p.arg for p in params[-len(node.args.defaults):])})")
    assert positional == []
