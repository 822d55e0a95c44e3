"""Each DVC stage depends on the parts of `src/seedforge` its script imports, and no more.

Derived from the code: the stage script's imports, followed through every module they reach
(imports inside functions count: they run), give the units it runs (a subpackage folder, or a
top-level module file). `dvc.yaml` lists exactly those, so editing the audit code reruns no
training stage. `python -m seedforge.testing.stage_deps --write` rewrites both pipelines' lists;
the test `tests/test_stage_deps.py` fails when a list and the code disagree.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from functools import cache
from pathlib import Path

from seedforge.testing.project import REPO

PIPELINES = ("dvc.yaml", "instruct/dvc.yaml")
_SCRIPT = re.compile(r"python -m (stages(?:\.\w+)+)")
_DEP = re.compile(r"^(\s+)- src/seedforge\S*\s*$")


def module_file(module: str, root: Path = REPO) -> Path | None:
    """`seedforge.loop.generate` -> its file (a package's `__init__.py`), or None if not ours."""
    base = root / ("src" if module.split(".")[0] == "seedforge" else "") / Path(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


@cache
def imports_of(path: Path) -> frozenset[str]:
    """The seedforge modules a file imports, anywhere in it (a submodule named by `from` counts)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "seedforge":
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "seedforge")
    # Importing a.b.c runs a/__init__ and a/b/__init__ first.
    for name in list(found):
        parts = name.split(".")
        found.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return frozenset(found)


def reached(script: Path, root: Path = REPO) -> set[str]:
    """Every seedforge module that running `script` may import."""
    seen: set[str] = set()
    todo = list(imports_of(script))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = module_file(name, root)
        if path is None:
            continue  # a name imported from a module, not a module
        seen.add(name)
        todo.extend(imports_of(path))
    return seen


def unit_path(module: str, root: Path = REPO) -> str:
    """The dependency path for a module: its subpackage folder, or the top-level module file.

    >>> unit_path("seedforge.loop.generate"), unit_path("seedforge.io"), unit_path("seedforge")
    ('src/seedforge/loop', 'src/seedforge/io.py', 'src/seedforge/__init__.py')
    """
    parts = module.split(".")
    if len(parts) == 1:
        return "src/seedforge/__init__.py"
    if (root / "src" / "seedforge" / parts[1]).is_dir():
        return f"src/seedforge/{parts[1]}"
    return f"src/seedforge/{parts[1]}.py"


def expected_deps(script_module: str, root: Path = REPO) -> list[str]:
    script = module_file(script_module, root)
    if script is None:
        raise FileNotFoundError(f"{script_module}: no such stage script")
    return sorted({unit_path(m, root) for m in reached(script, root)})


def stage_blocks(text: str) -> list[tuple[str, int, int]]:
    """(stage script module, first line, end line) for each stage of a dvc.yaml, by its `cmd`."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(r"^  [A-Za-z_][\w-]*:\s*$", line)]
    blocks = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        match = _SCRIPT.search("\n".join(lines[start:end]))
        if match:
            blocks.append((match.group(1), start, end))
    return blocks


def listed(text: str) -> dict[str, list[str]]:
    """Stage script -> the `src/seedforge...` deps its stage lists (in file order)."""
    lines = text.splitlines()
    out: dict[str, list[str]] = {}
    for script, start, end in stage_blocks(text):
        deps = [m.group(0).strip()[2:].strip() for line in lines[start:end] if (m := _DEP.match(line))]
        out.setdefault(script, []).extend(deps)
    return out


def rewrite(text: str, root: Path = REPO) -> str:
    """`text` with each stage's `src/seedforge...` deps replaced by the derived ones, placed right
    after the stage script's own dep line."""
    lines = text.splitlines()
    for script, start, end in reversed(stage_blocks(text)):
        script_dep = "stages/" + "/".join(script.split(".")[1:]) + ".py"
        block = [line for line in lines[start:end] if not _DEP.match(line)]
        at = next((i for i, line in enumerate(block) if line.strip() == f"- {script_dep}"), None)
        if at is None:
            raise ValueError(f"stage running {script} does not list {script_dep} in its deps")
        indent = block[at][: len(block[at]) - len(block[at].lstrip())]
        block[at + 1 : at + 1] = [f"{indent}- {dep}" for dep in expected_deps(script, root)]
        lines[start:end] = block
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="rewrite the pipelines' lists in place")
    args = ap.parse_args(argv)
    stale = []
    for name in PIPELINES:
        path = REPO / name
        text = path.read_text(encoding="utf-8")
        new = rewrite(text)
        if new != text:
            stale.append(name)
            if args.write:
                path.write_text(new, encoding="utf-8")
    verb = "rewrote" if args.write else "stale"
    print(f"{verb}: {', '.join(stale)}" if stale else "stage deps agree with the code")
    return 1 if stale and not args.write else 0


if __name__ == "__main__":
    sys.exit(main())
