"""The lock files dev.py installs from agree with pyproject.toml and keep torch out."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)==(?P<version>\S+)")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(lock: Path) -> dict[str, str]:
    return {
        normalise(found["name"]): found["version"]
        for line in lock.read_text(encoding="utf-8").splitlines()
        if (found := PIN.match(line))
    }


def declared(*, extra: str | None) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *(project["optional-dependencies"][extra] if extra else [])]
    return {normalise(re.split(r"[<>=!~ ;\[]", item, maxsplit=1)[0]) for item in wanted}


@pytest.mark.parametrize(("lock", "extra"), [("requirements.lock", None), ("requirements-dev.lock", "test")])
def test_lock_pins_every_declared_dependency_with_hashes(lock: str, extra: str | None) -> None:
    path = ROOT / lock
    pins = pinned(path)
    assert declared(extra=extra) <= set(pins), f"run `python3 dev.py lock`: {path.name} is older than pyproject.toml"
    # Every pin is followed by its hashes (pip --require-hashes refuses the file otherwise).
    lines = path.read_text(encoding="utf-8").splitlines()
    for line, after in zip(lines, [*lines[1:], ""], strict=True):
        if PIN.match(line):
            assert line.endswith("\\") and after.strip().startswith("--hash=sha256:"), line


def test_runtime_lock_has_no_test_tools_and_no_torch() -> None:
    runtime = pinned(ROOT / "requirements.lock")
    assert not {"pytest", "ruff", "mypy", "hypothesis"} & set(runtime)
    for lock in ("requirements.lock", "requirements-dev.lock"):
        assert not {"torch", "sentence-transformers", "pandas", "matplotlib"} & set(pinned(ROOT / lock)), lock
