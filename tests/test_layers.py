"""The package's layers: data flows one way, with no import cycles.

An AST scan of ``rareopt/`` that counts every import, including those inside functions;
only imports under ``if TYPE_CHECKING:`` are left out (they never run).
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "rareopt"

LAYERS = {
    # shared vocabulary, importable from every layer; it imports no layer
    "rareopt.exceptions": 0,
    "rareopt.status": 0,
    "rareopt.deprecation": 0,
    "rareopt.files": 0,
    "rareopt.progress": 0,
    "rareopt.display": 0,
    "rareopt.inputs": 1,
    "rareopt.checks": 2,
    "rareopt.model": 3,
    "rareopt.solving": 4,
    "rareopt.results": 5,
    "rareopt.analysis": 6,
    "rareopt.report": 7,
    "rareopt.cli": 8,
    "rareopt.synthetic": 8,
    "rareopt.__main__": 9,
    "rareopt": 9,
}
"""Rank of each layer: a module may import its own layer and lower ranks only."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, child.end_lineno + 1))
    return lines


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names), at any depth, outside TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    found = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            # "from rareopt import report" imports the module rareopt.report
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {
    name: {m for m in _imports(path) if m in MODULES and m != name}
    for name, path in MODULES.items()
}


def _layer(module: str) -> str:
    candidates = [layer for layer in LAYERS if module == layer or module.startswith(layer + ".")]
    return max(candidates, key=len)


def test_every_module_belongs_to_a_layer():
    assert all(_layer(m) in LAYERS for m in MODULES)


def test_no_import_cycles():
    """Depth-first search for a back edge; the cycle is printed if there is one."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)


def test_no_module_imports_a_layer_above_its_own():
    upstream = [
        f"{module} ({_layer(module)}) imports {target} ({_layer(target)})"
        for module, targets in GRAPH.items()
        for target in targets
        if LAYERS[_layer(target)] > LAYERS[_layer(module)]
    ]
    assert upstream == []


@pytest.mark.parametrize(
    "module",
    sorted(
        m
        for m in MODULES
        if m.startswith("rareopt.inputs")
        or m in ("rareopt.exceptions", "rareopt.status", "rareopt.deprecation")
    ),
)
def test_inputs_import_neither_solver_nor_model_libraries(module):
    imported = _imports(MODULES[module])
    assert not {m for m in imported if m.split(".")[0] in ("pyomo", "highspy", "mpisppy")}
    others = {m for m in imported if m.startswith("rareopt.") and m in MODULES}
    shared = {name for name, rank in LAYERS.items() if rank == 0}
    assert all(_layer(m) in {"rareopt.inputs", *shared} for m in others)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("rareopt.checks")))
def test_checks_import_only_the_inputs(module):
    others = {m for m in _imports(MODULES[module]) if m.startswith("rareopt.") and m in MODULES}
    allowed = ("rareopt.inputs", "rareopt.checks", "rareopt.exceptions", "rareopt.status")
    assert all(_layer(m) in allowed for m in others), others


def test_only_one_module_talks_to_highspy():
    users = sorted(m for m, p in MODULES.items() if "highspy" in _imports(p))
    assert users == ["rareopt.solving.highs"]


def test_the_scan_sees_imports_inside_functions_and_skips_type_checking_ones():
    assert "rareopt.solving.pipeline" in GRAPH["rareopt.results.solve"]
    assert "rareopt.solving.mpisppy" in GRAPH["rareopt.results.solve"]
    # the command line imports the frontier inside its command's function
    assert "rareopt.analysis.frontier" in GRAPH["rareopt.cli"]
    # the report layer names Result only for typing
    assert "rareopt.results.result" not in GRAPH["rareopt.report.text"]
