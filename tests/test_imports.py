"""Every module imports, and every `seedforge` import anywhere resolves, inside functions too.

Importing a module runs only its top-level imports; a moved module named inside a function would
fail only when that function runs. So every file's syntax tree is read, and each import of
`seedforge`, `stages` or `tests` is resolved: the module must exist and each imported name must be
an attribute or a submodule of it.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import seedforge

REPO = Path(__file__).resolve().parents[1]
OURS = ("seedforge", "stages", "tests")


def all_modules() -> list[str]:
    names = ["seedforge"]
    for info in pkgutil.walk_packages(seedforge.__path__, "seedforge."):
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", all_modules())
def test_module_imports(name: str) -> None:
    importlib.import_module(name)


def python_files() -> list[Path]:
    return sorted(p for d in ("src", "stages", "tests", "bench") for p in (REPO / d).rglob("*.py"))


def imports_of(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) for each import of our own code in `path`, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in OURS:
                found.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in OURS:
                    found.append((node.lineno, a.name, []))
    return found


def test_every_import_resolves() -> None:
    broken = []
    for path in python_files():
        for line, module, names in imports_of(path):
            where = f"{path.relative_to(REPO)}:{line}"
            try:
                mod = importlib.import_module(module)
            except ImportError as e:
                broken.append(f"{where}: {module}: {e}")
                continue
            for name in names:
                if name == "*" or hasattr(mod, name):
                    continue
                try:
                    importlib.import_module(f"{module}.{name}")
                except ImportError:
                    broken.append(f"{where}: {module} has no {name}")
    assert not broken, "\n".join(broken)
