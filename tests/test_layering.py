"""The house's floors: which module may import which, read from the code's own imports.

A module may import modules on its own floor or below, never above, and no run-time import goes round in a
circle. Imports under ``if TYPE_CHECKING:`` are not run, so they may point anywhere (type hints only). To place a
new module, add its name (or rely on its package's entry) to LAYERS; the most specific entry wins.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Container
from pathlib import Path

import pytest

from testing.paths import ROOT

PACKAGES = ["bot", "cogs", "testing", "bench"]

# Lowest floor first. Entries are module names or package prefixes.
LAYERS: list[tuple[str, list[str]]] = [
    # Plain values and text rules that everything shares; no I/O.
    (
        "foundation",
        ["bot", "bot.text", "bot.errors", "bot.logs", "bot.config", "bot.interactions", "bot.models", "bot.tasks"],
    ),
    ("query language", ["bot.query"]),
    # SQL (all of it) and the sources' HTTP: each only turns rows or responses into models.
    ("storage and fetching", ["bot.db", "bot.sources"]),
    # Pure functions from models to Discord objects, used by delivery as well as the cogs.
    (
        "render primitives",
        [
            "bot.render",
            "bot.render.base",
            "bot.render.papers",
            "bot.render.delivery",
            "bot.render.weekly",
            "bot.render.help",
        ],
    ),
    # Deciding deliveries: percolator, outbox, and deciding a store's papers after its transaction.
    ("outbox", ["bot.matching", "bot.delivery", "bot.delivery.outbox", "bot.delivery.deciding", "bot.delivery.pacer"]),
    # Services: what a command or the poller asks for, one module each.
    (
        "services",
        [
            "bot.archive",
            "bot.search",
            "bot.relaxed",
            "bot.lookup",
            "bot.feeds",
            "bot.subscriptions",
            "bot.status",
            "bot.poller",
            "bot.plans",
            "bot.semantic",
            "bot.related",
            "bot.library",
            "bot.foryou",
            "bot.weekly",
            "bot.mydata",
            "bot.lease",
            "bot.looplag",
            "bot.health",
        ],
    ),
    # Sending the outbox to Discord.
    ("dispatch", ["bot.delivery.plan", "bot.delivery.send", "bot.delivery.faults", "bot.delivery.batches"]),
    ("dispatcher", ["bot.delivery.dispatcher"]),
    # Why a paper was or wasn't delivered: reads the outbox's own planning rules.
    ("explanations", ["bot.explain"]),
    # Rendering the services' results, and the persistent views built from them.
    (
        "service rendering",
        [
            "bot.render.feeds",
            "bot.render.search",
            "bot.render.status",
            "bot.render.topics",
            "bot.render.why",
            "bot.render.mydata",
            "bot.render.actions",
            "bot.render.foryou",
        ],
    ),
    ("views", ["bot.views"]),
    ("application", ["bot.app"]),
    ("command line", ["bot.cli", "bot.__main__"]),
    # Thin Discord glue: parse, call the core, render.
    ("cogs", ["cogs"]),
    # Stand-ins and harness for tests and benchmarks; never pytest.
    ("testing", ["testing"]),
    ("benchmarks", ["bench"]),
]

# Names a package must never import, whatever floor they would be on.
FORBIDDEN: dict[str, set[str]] = {
    "bot": {"cogs", "testing", "bench", "tests", "pytest"},
    "cogs": {"testing", "bench", "tests", "pytest"},
    "testing": {"tests", "pytest", "bench"},
    "bench": {"tests", "pytest"},
}


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(body: list[ast.stmt]) -> list[ast.AST]:
    """Every node except what sits under ``if TYPE_CHECKING:`` (its ``else`` does run)."""
    nodes: list[ast.AST] = []
    for statement in body:
        if isinstance(statement, ast.If) and _is_type_checking(statement.test):
            nodes.extend(_runtime_nodes(statement.orelse))
            continue
        nodes.append(statement)
        for field in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(statement, field, None)
            if isinstance(inner, list):
                nodes.extend(_runtime_nodes([item for item in inner if isinstance(item, ast.stmt)]))
                for handler in inner:
                    if isinstance(handler, ast.ExceptHandler):
                        nodes.extend(_runtime_nodes(handler.body))
    return nodes


def imported_names(name: str, path: Path, modules: Container[str] = ()) -> set[str]:
    """Absolute names of what ``name`` imports at run time.

    ``from a import b`` gives ``a.b`` when that is one of ``modules`` (a package's ``__init__`` runs before any of
    its submodules anyway, so that is no arrow of this module's), otherwise ``a`` and ``a.b``.
    """
    names: set[str] = set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8")).body):
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import):
                names.update(alias.name for alias in inner.names)
            elif isinstance(inner, ast.ImportFrom):
                if inner.level:
                    base = package[: len(package) - (inner.level - 1)]
                    module = ".".join([*base, *([inner.module] if inner.module else [])])
                else:
                    module = inner.module or ""
                full = {f"{module}.{alias.name}" for alias in inner.names}
                names.update(full)
                if not all(item in modules for item in full):
                    names.add(module)
    return names


def import_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports at run time (a name resolves to its longest module prefix)."""
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in imported_names(name, path, modules):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def floor_of(module: str) -> int:
    best, best_length = -1, -1
    for index, (_, entries) in enumerate(LAYERS):
        for entry in entries:
            if (module == entry or module.startswith(entry + ".")) and len(entry) > best_length:
                best, best_length = index, len(entry)
    assert best >= 0, f"{module} is on no floor: add it to LAYERS in tests/test_layering.py"
    return best


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_checks_catch_a_circle_and_an_arrow_up() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert floor_of("bot.db.papers") < floor_of("bot.search") < floor_of("bot.app") < floor_of("cogs.papers")
    assert floor_of("bot.render.base") < floor_of("bot.render.search")  # the more specific entry wins


def test_type_checking_imports_are_not_run_time_imports(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\nimport a\nif TYPE_CHECKING:\n    import b\nelse:\n    import c\n"
        "def f():\n    from d import e\n",
        encoding="utf-8",
    )
    assert imported_names("m", source) == {"typing", "typing.TYPE_CHECKING", "a", "c", "d", "d.e"}


def test_every_module_has_a_floor_and_no_import_points_up() -> None:
    graph = import_graph()
    upward = [
        f"{module} ({LAYERS[floor_of(module)][0]}) imports {target} ({LAYERS[floor_of(target)][0]})"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if floor_of(target) > floor_of(module)
    ]
    assert upward == []


def test_no_import_circle() -> None:
    assert find_cycle(import_graph()) is None


def test_packages_never_import_what_sits_above_them() -> None:
    bad = []
    for name, path in project_modules().items():
        banned = FORBIDDEN[name.split(".")[0]]
        bad += [
            f"{name} imports {imported}" for imported in imported_names(name, path) if imported.split(".")[0] in banned
        ]
    assert bad == []


@pytest.mark.slow
def test_each_module_imports_alone() -> None:
    """Import every module in a clean state of the project's modules, so none relies on another imported first."""
    names = [name for name in project_modules() if not name.endswith("__main__")]
    script = (
        "import importlib, json, sys\n"
        "failed = {}\n"
        f"for name in {names!r}:\n"
        "    for loaded in [m for m in sys.modules if m.split('.')[0] in {'bot', 'cogs', 'testing', 'bench'}]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as error:\n"
        "        failed[name] = f'{type(error).__name__}: {error}'\n"
        "print(json.dumps(failed))\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter on our own modules
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {}
