"""``testing/`` and ``bench/`` run where only the bot's dependencies are installed (``python -m bench``).

Two checks, because each misses what the other finds: the source of every module, for imports of the test tools
or of ``tests`` (whose conftest imports pytest) anywhere, also inside functions; and importing every module in a
fresh interpreter where the test tools cannot be imported, for a dependency that pulls one in.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("testing", "bench")
# The "test" extra's import names, and tests/ itself.
FORBIDDEN = ("pytest", "_pytest", "pytest_asyncio", "xdist", "hypothesis", "tests")


def modules() -> list[tuple[str, Path]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    return found


def imported_names(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            names.append(node.module)
    return names


def test_the_packages_are_found() -> None:
    names = {name for name, _ in modules()}
    assert {"testing.fake_discord.server", "testing.bot_harness", "bench.fanout", "bench.corpus"} <= names


def test_no_module_imports_a_test_tool() -> None:
    offenders = {
        name: bad
        for name, path in modules()
        if (bad := [imported for imported in imported_names(path) if imported.split(".")[0] in FORBIDDEN])
    }
    assert offenders == {}, "testing/ and bench/ must run without the test extra"


def test_every_module_imports_without_the_test_tools() -> None:
    script = "\n".join(
        [
            "import importlib, sys",
            # A None entry makes 'import pytest' (and 'import pytest.x') raise ImportError.
            f"sys.modules.update(dict.fromkeys({FORBIDDEN!r}))",
            f"for name in {[name for name, _ in modules()]!r}:",
            "    importlib.import_module(name)",
        ]
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter importing our own modules
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
