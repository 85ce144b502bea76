"""The rules of docs/architecture.md, checked on every run: modules stay small, imports form no
cycle, dependencies point one way (the import-linter contracts in pyproject.toml), and every
area says what it offers in its `__init__` (as httpx's test of its exported members does)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "jalsa"
ROOT = SRC.parents[1]
MAX_LINES = 600
AREAS = (
    "jalsa.live",
    "jalsa.conversation",
    "jalsa.inbox",
    "jalsa.watch",
    "jalsa.mobilize",
    "jalsa.report",
    "jalsa.team",
    "jalsa.platforms",
    "jalsa.store",
    "jalsa.sim",
)


def test_no_module_is_over_600_lines() -> None:
    big = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert big == {}


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    work: list[tuple[str, Iterator[str]]] = []

    def enter(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        work.append((v, iter(sorted(graph.find_modules_directly_imported_by(v)))))

    for root in sorted(graph.modules):
        if root in index:
            continue
        enter(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    enter(w)
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_import_cycles() -> None:
    graph = grimp.build_graph("jalsa", exclude_type_checking_imports=True, cache_dir=None)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "a.b", "a.c", "a.d"):
        graph.add_module(module)
    graph.add_import(importer="a.b", imported="a.c")
    graph.add_import(importer="a.c", imported="a.b")
    graph.add_import(importer="a.d", imported="a.b")
    assert _cycles(graph) == [["a.b", "a.c"]]


def test_the_import_contracts_hold() -> None:
    """`lint-imports` with the contracts in pyproject.toml: the areas never import the web or
    the CLI, and each layer uses only the ones below it. In its own process: import-linter
    configures logging, which would silence other tests' loggers."""
    run = (
        "import sys; from importlinter.cli import lint_imports; "
        f"sys.exit(lint_imports(config_filename={str(ROOT / 'pyproject.toml')!r}, "
        "no_cache=True, no_logo=True))"
    )
    done = subprocess.run(
        [sys.executable, "-c", run], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", AREAS)
def test_each_area_exports_what_it_says(name: str) -> None:
    """`__all__` lists exactly the public names the area's `__init__` defines or imports, each
    importable and documented."""
    area = importlib.import_module(name)
    exported = set(getattr(area, "__all__", ()))
    public = {
        member
        for member, value in vars(area).items()
        if not member.startswith("_")
        and member != "annotations"
        and not (inspect.ismodule(value) and value.__name__.startswith(f"{name}."))
    }
    # names an area resolves when first used (PEP 562 `__getattr__`) count once they resolve
    public |= {member for member in exported - public if hasattr(area, member)}
    assert exported, f"{name} has no __all__"
    assert exported == public
    # an export named like a module would hide it (`import jalsa.x.y as m` would get the export)
    modules = {info.name for info in pkgutil.iter_modules(area.__path__)}
    assert exported & modules == set()
    for member in exported:
        value = getattr(area, member)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name}.{member} has no docstring"
