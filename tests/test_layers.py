"""The package's structure as a test: data flows one way.

Every module belongs to a layer (below); an import — at the top of a module or inside a
function, they are the same dependency — may only go to the same layer or one below.  Within a
layer the import graph has no cycle, and no private (`_name`) object is imported from another
module.  Run as a script to print the graph by layer:

    python tests/test_layers.py
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dlnlandscape"
# Lowest first.  A module's layer is that of the longest matching prefix.
LAYERS: list[tuple[str, ...]] = [
    ("dlnlandscape.version", "dlnlandscape.errors"),
    ("dlnlandscape.common",),
    ("dlnlandscape.model",),
    ("dlnlandscape.exact",),
    ("dlnlandscape.engines",),
    ("dlnlandscape.analysis",),
    ("dlnlandscape.pipeline",),
    ("dlnlandscape.decomposition", "dlnlandscape.landscape"),
    ("dlnlandscape.reports",),
    ("dlnlandscape.batches",),
    ("dlnlandscape.api", "dlnlandscape"),
    ("dlnlandscape.cli",),
]


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def layer_of(module: str) -> int:
    best, rank = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    return rank


def imports(known: dict[str, Path]) -> list[tuple[str, str, list[str], int]]:
    """(importer, imported module, names imported, line) for every import inside the package."""
    edges = []
    for module, path in known.items():
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "dlnlandscape":
                        edges.append((module, alias.name, [], node.lineno))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] != "dlnlandscape":
                    continue
                names = [a.name for a in node.names]
                submodules = [n for n in names if f"{target}.{n}" in known]
                for name in submodules:
                    edges.append((module, f"{target}.{name}", [], node.lineno))
                rest = [n for n in names if n not in submodules]
                if rest:
                    edges.append((module, target, rest, node.lineno))
    return edges


def cycles(edges: list[tuple[str, str, list[str], int]]) -> list[list[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target, _, _ in edges:
        if source != target and not source.startswith(target + "."):  # a package importing its own __init__
            graph[source].add(target)
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_every_module_has_a_layer():
    assert [m for m in modules() if layer_of(m) < 0] == []


def test_no_import_goes_to_a_layer_above():
    known = modules()
    upward = [
        f"{source}:{line} imports {target} (layer {layer_of(source)} -> {layer_of(target)})"
        for source, target, _, line in imports(known)
        if layer_of(target) > layer_of(source)
    ]
    assert upward == []


def test_no_import_cycle():
    assert cycles(imports(modules())) == []


def test_no_private_name_crosses_a_module_boundary():
    crossing = [
        f"{source}:{line} imports {name} from {target}"
        for source, target, names, line in imports(modules())
        for name in names
        if name.startswith("_") and not name.startswith("__") and target != source
    ]
    assert crossing == []


def test_the_checker_sees_a_planted_upward_import(tmp_path: Path):
    """The checker itself can fail: an engine importing the pipeline is upward."""
    assert layer_of("dlnlandscape.engines.native.engine") < layer_of("dlnlandscape.pipeline")
    assert cycles([("a", "b", [], 1), ("b", "a", [], 1)]) == [["a", "b", "a"]]


if __name__ == "__main__":
    known = modules()
    edges = imports(known)
    by_layer: dict[int, list[str]] = defaultdict(list)
    for module in sorted(known):
        by_layer[layer_of(module)].append(module)
    for rank in sorted(by_layer):
        print(f"layer {rank}: {', '.join(LAYERS[rank])}")
        for module in by_layer[rank]:
            targets = sorted({t for s, t, _, _ in edges if s == module and t != module})
            lines = len(known[module].read_text(encoding="utf-8").splitlines())
            print(f"  {module} ({lines} lines) -> {', '.join(targets) or '-'}")
    bad = [e for e in edges if layer_of(e[1]) > layer_of(e[0])]
    print(f"{len(known)} modules, {len(edges)} import edges, {len(bad)} upward, {len(cycles(edges))} cycles")
    sys.exit(1 if bad else 0)
