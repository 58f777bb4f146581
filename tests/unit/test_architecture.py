"""The rooms stay separate: core imports no I/O library; reports never use pyplot."""
from __future__ import annotations

import ast
import subprocess
import sys
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
            names.append(from_module(path, node))
    return names


def from_module(path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-node.level]  # relative: the module's package
    return ".".join((*package, node.module or "")).rstrip(".")


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_imports_no_io_library(path):
    bad = [name for name in imports(path) if name.startswith(FORBIDDEN_IN_CORE)]
    assert bad == [], f"{path.relative_to(PACKAGE)} imports {bad}"


def _core_imports(path: Path, modules: set[str]) -> set[str]:
    """The core modules this one imports when it runs, in functions too (a lazy import only hides a cycle);
    ``if TYPE_CHECKING:`` blocks never run and are left out."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [alias.name for alias in node.names]
            if isinstance(node, ast.ImportFrom):
                base = from_module(path, node)
                names = [base, *(f"{base}.{name}" for name in names)]  # ``from . import x`` names a module
            found.update(name for name in names if name in modules)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def test_core_has_no_import_cycle():
    paths = {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
             for p in (PACKAGE / "core").rglob("*.py")}
    graph = {module: _core_imports(path, set(paths)) - {module} for module, path in paths.items()}
    done: set[str] = set()

    def cycle_from(module: str, trail: list[str]) -> list[str] | None:
        if module in trail:
            return trail[trail.index(module):] + [module]
        if module in done:
            return None
        for imported in sorted(graph[module]):
            if found := cycle_from(imported, trail + [module]):
                return found
        done.add(module)
        return None

    cycles = [found for module in sorted(graph) if (found := cycle_from(module, []))]
    assert cycles == [], " -> ".join(cycles[0])


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


def test_button_verbs_are_known_without_importing_their_flows():
    """Registration is explicit: decoding an appraisal button needs only the callbacks module, not the side
    effect of importing the appraisal flow first."""
    script = ("import sys; from parbot.core.conversation.callbacks import decode; "
              "print(decode('0a1b:pe:X1:1.1').args, decode('0a1b:pl').verb, "
              "'parbot.core.conversation.appraise' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["('X1',", "'1.1')", "pl", "False"], done.stderr


def test_each_outbox_kind_has_one_renderer():
    """Senders are given one explicit table of renderers: no kind is claimed by two features."""
    from parbot.bot import outbox_kinds

    kinds = [kind for table in outbox_kinds.TABLES for kind in table]
    assert len(kinds) == len(set(kinds)) == len(outbox_kinds.RENDERERS)
