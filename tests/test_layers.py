"""The package's layers go one way: catalog → symbolic → numeric → export → analysis → the Activation users hold
→ present.  Every import of every module is read with ``ast`` (imports inside functions and
type-checking blocks included): none may point up a layer, none may close a cycle, and no private
(_underscore) name may be imported from another module.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "activation_lab"

#: the layer of each top-level module or subpackage; a module imports from its own layer or lower
LAYERS = {
    "errors": 0, "version": 0, "requests": 0, "budget": 0, "atomic": 0, "catalog": 0, "frameworks": 0,
    "symbolic": 1,
    "numeric": 2,
    "export": 3,              # PyTorch, JAX and standalone files printed from numeric's programs
    "analysis": 4,
    "activation": 5,          # the object users hold: symbolic Activation + evaluation + .equals
    "present": 6,
    "__init__": 7, "__main__": 7,
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS["__init__"] if len(parts) == 1 else LAYERS[parts[1]]


def _imports(module: str, path: Path) -> list[tuple[str, str, int]]:
    """(imported module, imported name or '', line) for every import of the package in ``module``."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "activation_lab":
                continue
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.append((full, "", node.lineno) if full in MODULES else (target, alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, "", node.lineno) for a in node.names if a.name.split(".")[0] == "activation_lab"]
    return found


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def test_every_module_has_a_layer():
    assert MODULES, "no modules found"
    unknown = sorted({m.split(".")[1] for m in MODULES if "." in m} - set(LAYERS))
    assert not unknown, f"modules without a layer: {unknown}; add them to LAYERS"


def test_no_import_points_up_a_layer():
    upward = [f"{m}:{line} imports {t} (layer {_layer(m)} -> {_layer(t)})"
              for m, edges in GRAPH.items() for t, _, line in edges if t in MODULES and _layer(t) > _layer(m)]
    assert not upward, "\n".join(upward)


def test_no_private_name_crosses_a_module_border():
    private = [f"{m}:{line} imports {t}.{name}"
               for m, edges in GRAPH.items() for t, name, line in edges
               if name.startswith("_") and not name.startswith("__") and t != m]
    assert not private, "\n".join(private)


def test_no_import_cycle():
    edges = {m: {t for t, _, _ in e if t in MODULES and t != m} for m, e in GRAPH.items()}
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = itertools.count()

    def visit(v: str) -> None:
        index[v] = low[v] = next(counter)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checks_see_what_they_should(tmp_path):
    """The walker reads imports inside functions (the upward ones used to hide there)."""
    source = "def f():\n    from ..numeric.evaluate import evaluate\n"
    path = tmp_path / "probe.py"
    path.write_text(source)
    (target, name, line), = _imports("activation_lab.symbolic.probe", path)
    assert target == "activation_lab.numeric.evaluate" and line == 2
    assert _layer(target) > _layer("activation_lab.symbolic.probe")
