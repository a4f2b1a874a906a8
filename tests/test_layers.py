"""The package's layers, read from the source: which module may import which.

Every module of `azero` (Python files, and the Cython `.pyx/.pxd` files by a simple regex over their `import`
and `cimport` lines) is scanned for its imports, including those inside functions. The arrows point one way:

- `azero._core` (the compiled core) imports nothing from `azero` outside `_core` but leaves: modules that
  themselves import nothing from `azero` (the op table `azero._core.ops`, plain data, is one);
- only the MPI layer (`azero.islands`, `azero.sweep`, `azero.cli`) imports `azero.islands` or `mpi4py`: the
  experiment loop, the run store and the analysis never do;
- the run store's core (`azero.runs`, except `azero.runs.resume`, which uses both) never imports the loop;
- nothing imports `azero.cli` but `azero.__main__`, and no module imports the package root `azero`;
- no import cycles among azero's modules (imports under `if TYPE_CHECKING:` are type-only and do not count).

Each broken rule fails with one line per offending import: the file, the arrow and the rule.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import NamedTuple

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "azero"
MPI_LAYER = {"azero.islands", "azero.sweep", "azero.cli"}
# A Cython line importing or cimporting (a parenthesised name list may continue on the next lines).
CYTHON_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+c?import\b|c?import\s+([\w.]+(?:\s*,\s*[\w.]+)*))", re.M)


class Arrow(NamedTuple):
    """One import: `source` module imports `target` (a module, or a module's name), at `where` (file:line)."""

    source: str
    target: str
    where: str
    type_only: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, list[Path]]:
    """Every module of the package by name, with its source files (a .pyx and its .pxd are one module)."""
    modules: dict[str, list[Path]] = {}
    for pattern in ("*.py", "*.pyx", "*.pxd"):
        for path in sorted(PACKAGE.rglob(pattern)):
            if "build" not in path.relative_to(PACKAGE).parts:
                modules.setdefault(module_name(path), []).append(path)
    return modules


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def python_imports(path: Path, name: str, known: set[str]) -> list[Arrow]:
    """The imports of a Python file anywhere in it; `from package import x` points at module package.x when
    there is one, else at the package."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    arrows: list[Arrow] = []

    def visit(node: ast.AST, type_only: bool) -> None:
        where = f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            arrows.extend(Arrow(name, alias.name, where, type_only) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                target = f"{base}.{alias.name}"
                arrows.append(Arrow(name, target if target in known else base, where, type_only))
        if isinstance(node, ast.If) and is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_only)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, type_only)

    visit(tree, False)
    return arrows


def cython_imports(path: Path, name: str) -> list[Arrow]:
    """The import and cimport lines of a Cython file (module level or not), by regex."""
    text = path.read_text(encoding="utf-8")
    arrows = []
    for match in CYTHON_IMPORT.finditer(text):
        where = f"{path.relative_to(PACKAGE.parent)}:{text.count(chr(10), 0, match.start()) + 1}"
        targets = [match.group(1)] if match.group(1) else [t.strip() for t in match.group(2).split(",")]
        arrows.extend(Arrow(name, target, where, False) for target in targets)
    return arrows


def all_arrows() -> list[Arrow]:
    modules = package_modules()
    known = set(modules)
    arrows = []
    for name, paths in modules.items():
        for path in paths:
            arrows += python_imports(path, name, known) if path.suffix == ".py" else cython_imports(path, name)
    return arrows


ARROWS = all_arrows()


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def report(broken: list[str]) -> None:
    if broken:
        pytest.fail("\n".join(sorted(set(broken))), pytrace=False)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path [a, b, ..., a], or None (depth-first search, in name order)."""
    state: dict[str, int] = {}      # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


# ---------------------------------------------------------------------------------------------------------
# The scanner sees what it must


def test_the_scanner_finds_imports_in_functions_cimports_and_type_only_blocks():
    found = {(a.source, a.target, a.type_only) for a in ARROWS}
    assert ("azero.cli", "azero.runs.resume", False) in found              # inside a function
    assert ("azero._core.evolution", "azero._core.evaluator", False) in found   # a .pxd cimport
    assert ("azero._core.executor", "azero._core.checks", False) in found  # a .pyx Python import
    assert ("azero.success", "azero.search", True) in found                # under `if TYPE_CHECKING:`
    assert ("azero.runs.writer", "azero.runs.schema", False) in found      # a multi-line from-import
    assert ("azero.islands", "mpi4py", False) in found


def test_find_cycle_names_the_path():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"b"}}) == ["b", "c", "b"]


# ---------------------------------------------------------------------------------------------------------
# The rules


def test_core_imports_nothing_above_it():
    report([f"{a.where}: {a.source} imports {a.target} (azero._core imports nothing from azero outside _core)"
            for a in ARROWS if within(a.source, "azero._core") and within(a.target, "azero")
            and not within(a.target, "azero._core")])


def test_only_the_mpi_layer_imports_islands_or_mpi4py():
    report([f"{a.where}: {a.source} imports {a.target} (only {', '.join(sorted(MPI_LAYER))} may: the loop, the "
            f"run store and the analysis run without MPI)"
            for a in ARROWS if a.source not in MPI_LAYER and (within(a.target, "mpi4py") or
                                                             within(a.target, "azero.islands"))])


def test_the_run_store_stays_below_the_experiment_loop():
    report([f"{a.where}: {a.source} imports {a.target} (azero.runs never imports the loop; only azero.runs.resume "
            f"uses both)"
            for a in ARROWS if within(a.source, "azero.runs") and a.source != "azero.runs.resume"
            and (within(a.target, "azero.search") or within(a.target, "azero.runs.resume"))])


def test_nothing_imports_the_cli_or_the_package_root():
    report([f"{a.where}: {a.source} imports {a.target} (only azero.__main__ imports the command line)"
            for a in ARROWS if within(a.target, "azero.cli") and a.source != "azero.__main__"] +
           [f"{a.where}: {a.source} imports the package root {a.target} (import the submodule that defines the name)"
            for a in ARROWS if a.target == "azero" and a.source != "azero"])


def test_no_import_cycles():
    graph: dict[str, set[str]] = {}
    for a in ARROWS:
        if not a.type_only and within(a.target, "azero") and a.target != a.source:
            graph.setdefault(a.source, set()).add(a.target)
    cycle = find_cycle(graph)
    if cycle is not None:
        pytest.fail(f"import cycle: {' -> '.join(cycle)}", pytrace=False)


def test_public_names_are_not_module_names():
    import importlib
    import pkgutil

    import azero

    submodules = {info.name for info in pkgutil.iter_modules(azero.__path__)}
    clashes = [name for name in azero.__all__ if name in submodules
               and getattr(azero, name) is not importlib.import_module(f"azero.{name}")]
    assert clashes == [], f"azero.{clashes[0]} is both a public name and a module"
    assert importlib.import_module("azero.search").Search is azero.Search
