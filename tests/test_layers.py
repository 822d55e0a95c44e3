"""The package map is a stack of layers: a module imports only from layers below its own.

Read from the syntax tree, so imports inside functions count too (the finetune <-> tinylm cycle
hid in one). The order is `seedforge.testing.layout_map.LAYERS` (the README's map); a new
subpackage must be placed there.
"""

from __future__ import annotations

import ast
from pathlib import Path

from seedforge.testing import stage_deps
from seedforge.testing.layout_map import LAYERS

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "seedforge"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit(module: str) -> str:
    """`seedforge.loop.generate` -> `loop`; `seedforge.io` -> `io`; `seedforge` -> `seedforge`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imports() -> dict[str, set[str]]:
    """Module -> the seedforge modules it imports, found as the stage deps find them
    (`seedforge.testing.stage_deps.imports_of`: any depth, parent packages included)."""
    graph = {}
    for path in SRC.rglob("*.py"):
        name = module_name(path)
        found = stage_deps.imports_of(path)
        graph[name] = {m for m in found if m != name and stage_deps.module_file(m) is not None}
    return graph


def test_every_unit_has_a_layer() -> None:
    units = {unit(module_name(p)) for p in SRC.rglob("*.py")} - {"seedforge"}
    assert units <= set(LAYERS), f"place these in LAYERS: {sorted(units - set(LAYERS))}"


def test_no_import_from_a_higher_layer() -> None:
    rank = {u: i for i, u in enumerate(LAYERS)} | {"seedforge": -1}
    upward = sorted(
        f"{src} imports {dst}"
        for src, dsts in imports().items()
        for dst in dsts
        if unit(src) != unit(dst) and rank[unit(dst)] >= rank[unit(src)]
    )
    assert not upward, "\n".join(upward)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A module-level import cycle, if any.

    >>> find_cycle({"a": {"b"}, "b": {"a"}})
    ['a', 'b', 'a']
    >>> find_cycle({"a": {"b"}, "b": set()}) is None
    True
    """
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_import_cycle() -> None:
    graph = imports()
    # A package's __init__ re-exporting its own modules is not a cycle of design.
    graph = {m: {d for d in ds if not m.startswith(d + ".")} for m, ds in graph.items()}
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_library_and_bench_never_import_tests() -> None:
    offenders = []
    for folder in ("src", "bench", "stages"):
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
                names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if any(n.split(".")[0] == "tests" for n in names):
                    offenders.append(str(path.relative_to(REPO)))
    assert not offenders, offenders
