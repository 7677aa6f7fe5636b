"""The modules of the library import each other without a cycle, function-level imports included.

Each ``import`` and ``from … import`` statement of every module under ``src/`` (at the top, in
a function or under ``TYPE_CHECKING``), and each ``importlib.import_module("…")`` with a
literal name, is an edge to the module it names (``from package import submodule`` names
the submodule). A cycle among them would make the order of imports matter, and the layers
of the library (base, plan, generator, codec, models, converters, http, sync) mean nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "bexvendre_mapping"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if MODULES[module].name != "__init__.py":
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(module: str) -> set[str]:
    """The library's modules that ``module`` imports, wherever the statement stands."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in MODULES else source)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value))
    return {name for name in found if name in MODULES and name != module}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as the list of its modules (the first one repeated), if any."""
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                cycle = visit(target)
                if cycle is not None:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle is not None:
                return cycle
    return None


def test_no_import_cycle_inside_the_library() -> None:
    graph = {module: imports_of(module) for module in MODULES}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_walk_sees_function_level_imports_and_finds_a_cycle() -> None:
    """The test above can fail: a function-level import back is an edge, and a cycle."""
    assert "bexvendre_mapping._msgspec" in imports_of("bexvendre_mapping._wire")
    graph = {module: imports_of(module) for module in MODULES}
    graph["bexvendre_mapping._plan"] = graph["bexvendre_mapping._plan"] | {
        "bexvendre_mapping._codec"
    }
    cycle = find_cycle(graph)
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    assert "bexvendre_mapping._plan" in cycle


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("msgspec", {"bexvendre_mapping._msgspec"}),
        ("requests", None),
    ],
)
def test_msgspec_is_imported_in_one_module_only(module: str, allowed: set[str] | None) -> None:
    users = set()
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            if any(n == module or n.startswith(f"{module}.") for n in names):
                users.add(name)
    if allowed is not None:
        assert users == allowed
    else:  # requests: only in the http package and the sandbox
        assert all(u.startswith((f"{PACKAGE}.http", f"{PACKAGE}.testing")) for u in users)
