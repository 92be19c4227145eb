"""The package layout is the architecture: layered packages, imports only downward, no cycles, small modules.

Every ``cocomposer`` import in the source (at module level or inside a function alike) is read with :mod:`ast`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "cocomposer"
# Lower layers never import higher ones; packages of one rank never import each other.
RANK = {
    "": 0,  # cocomposer/__init__.py: the version
    "errors": 0,
    "midi_bytes": 0,
    "percentiles": 1,
    "console": 0,  # help text, progress, quiet stderr: what every command shares at the terminal
    "music": 1,
    "midi": 1,
    "timing": 1,
    "model": 2,
    "engine": 3,
    "training": 3,
    "bench": 4,
    "app": 5,
    "data": 0,
}
MAX_LINES = 450
HEAVY = ("torch", "music21", "symusic", "onnx")  # the train extra; "onnx" alone, not onnxruntime
ALLOWED_HEAVY = ("training", "bench")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "cocomposer":
                found.update(f"cocomposer.{a.name}" if a.name != "__version__" else "cocomposer" for a in node.names)
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


MODULES = _modules()
GRAPH = {m: {d for d in _imports(p) if d.split(".")[0] == "cocomposer" and d != m} for m, p in MODULES.items()}


def test_every_package_has_a_rank() -> None:
    assert {_package(m) for m in MODULES} <= set(RANK), "a new package needs its place in RANK"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module: str) -> None:
    own = _package(module)
    for dep in GRAPH[module]:
        other = _package(dep)
        if other == own:
            continue
        assert RANK[other] < RANK[own], f"{module} imports {dep}: {other or 'the root'} is not below {own}"


def test_no_import_cycles() -> None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for dep in sorted(GRAPH.get(module, ())):
            dep = dep if dep in GRAPH else dep.rsplit(".", 1)[0]  # `from cocomposer.x import name`
            if state.get(dep) == 1:
                raise AssertionError(" -> ".join([*path, module, dep]))
            if dep in GRAPH and not state.get(dep):
                visit(dep, [*path, module])
        state[module] = 2

    for module in sorted(GRAPH):
        if not state.get(module):
            visit(module, [])


def test_the_engine_never_imports_qt_the_panel_or_the_train_extra() -> None:
    for module, path in MODULES.items():
        imported = {name.split(".")[0] for name in _imports(path)}
        assert not imported & {"PyQt6", "cocomposer_panel", "ui"}, f"{module} imports the panel or Qt"
        if _package(module) not in ALLOWED_HEAVY:
            assert not imported & set(HEAVY), f"{module} imports {imported & set(HEAVY)}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module: str) -> None:
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it by job"


def test_no_module_names_that_differ_by_two_letters() -> None:
    names = sorted({m.rsplit(".", 1)[-1] for m in MODULES})
    for a in names:
        for b in names:
            if a < b and len(a) >= 5 and (b.startswith(a) and len(b) - len(a) <= 2):
                raise AssertionError(f"{a} and {b} are easy to confuse")


BUILTIN_ERRORS = {"ValueError", "RuntimeError", "TypeError", "KeyError", "IndexError", "LookupError", "OSError",
                  "Exception", "AssertionError", "NotImplementedError"}  # fmt: skip
# json.dumps(default=...) must raise TypeError for a value it cannot encode: that is the protocol, not our error.
BUILTIN_ALLOWED = {("cocomposer.bench.musicality", "TypeError")}


def _raises(tree: ast.AST) -> list[tuple[ast.Raise, bool]]:
    """Every raise statement, and whether it sits inside an ``except`` handler."""
    found: list[tuple[ast.Raise, bool]] = []

    def walk(node: ast.AST, in_handler: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                walk(child, False)
            elif isinstance(child, ast.ExceptHandler):
                walk(child, True)
            else:
                if isinstance(child, ast.Raise):
                    found.append((child, in_handler))
                walk(child, in_handler)

    walk(tree, False)
    return found


def test_every_error_raised_on_purpose_is_a_cocomposer_error_raised_with_its_cause() -> None:
    wrong = []
    for module, path in _modules().items():
        for node, in_handler in _raises(ast.parse(path.read_text())):
            call = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = call.id if isinstance(call, ast.Name) else None
            if name in BUILTIN_ERRORS and (module, name) not in BUILTIN_ALLOWED:
                wrong.append(f"{module}:{node.lineno} raises {name}, not a CocomposerError subclass")
            if in_handler and node.exc is not None and node.cause is None and isinstance(node.exc, ast.Call):
                wrong.append(f"{module}:{node.lineno} raises a new error in an except block without 'from'")
    assert not wrong, "\n".join(wrong)


def test_test_modules_have_names_of_their_own() -> None:
    """pytest imports test modules by basename (no packages under tests/): two of one name cannot run together."""
    tests = Path(__file__).resolve().parents[1]
    names = [path.name for path in tests.rglob("test_*.py")]
    assert len(names) == len(set(names)), sorted(name for name in names if names.count(name) > 1)
