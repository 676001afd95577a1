"""The package shows the pipeline: a module imports only from its own stage or an earlier one,
and no room is too big to read (modules <= 900 lines, functions <= 120 lines, unless the module's
docstring gives a reason under "Size:")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "forecast"
#: Stages in pipeline order; a module may import from its own rank or lower.
STAGES = {"ingest": 0, "forecasting": 1, "planning": 2, "backorders": 3, "publish": 4,
          "scenarios": 5}
TOP = 6  # config.py is read by everyone; cli, pipeline, analysis, demo sit on top
MAX_MODULE_LINES = 900
MAX_FUNCTION_LINES = 120


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


def _stage(dotted: str) -> int | None:
    parts = dotted.split(".")
    if parts[0] != "forecast" or len(parts) < 2:
        return None
    if parts[1] in STAGES:
        return STAGES[parts[1]]
    if parts[1] in ("config", "_lazy", "__init__"):
        return -1
    return TOP


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    return ".".join(rel.parts).removesuffix(".__init__")


def _imports(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from forecast import analysis` names a module too
            if node.module == "forecast":
                found += [(node.lineno, f"forecast.{a.name}") for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_come_from_the_same_or_an_earlier_stage(path: Path) -> None:
    module = _module_name(path)
    own = _stage(module)
    tree = ast.parse(path.read_text())
    later = [(line, name) for line, name in _imports(tree, module)
             if (stage := _stage(name)) is not None and own is not None and stage > max(own, 0)
             and not name.startswith(module)]
    assert not later, f"{module} imports from a later stage: {later}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_rooms_are_small_enough_to_read(path: Path) -> None:
    text = path.read_text()
    tree = ast.parse(text)
    docstring = ast.get_docstring(tree) or ""
    if "Size:" in docstring:  # a stated reason
        return
    lines = len(text.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name}: {lines} lines"
    long = [(n.name, n.end_lineno - n.lineno + 1) for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            and n.end_lineno - n.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{path.name}: functions over {MAX_FUNCTION_LINES} lines: {long}"


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_each_stage_names_its_public_functions(stage: str) -> None:
    import importlib

    package = importlib.import_module(f"forecast.{stage}")
    assert package.__all__, f"forecast.{stage} names no public function"
    for name in package.__all__:
        value = getattr(package, name)  # raises if the name is not where the package says
        if callable(value):  # functions and classes: defined in the stage itself
            assert value.__module__.startswith(f"forecast.{stage}."), name
