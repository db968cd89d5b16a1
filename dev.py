#!/usr/bin/env python3
"""One entry point for a fresh clone: creates or reuses ``.venv`` and runs the bot, the tests or the linters.

Standard library only, so it works on a machine that has nothing but Python 3.11+ and pip.

    python3 dev.py run [bot arguments]   # the bot (python -m bot ...)
    python3 dev.py test                  # lint + format check + types + the whole test suite (what CI runs)
    python3 dev.py pytest [args]         # only pytest, with your arguments
    python3 dev.py lint | fmt            # ruff check + format check + mypy | apply ruff format and fixes
    python3 dev.py bench [args]          # the benchmark suite (python -m bench ...)
"""

from __future__ import annotations

import sys

# dev.py runs under whatever python3 the machine has, so say clearly when it is too old.
if sys.version_info < (3, 11):  # noqa: UP036
    sys.exit(f"dev.py: paperbot needs Python 3.11 or newer; this is {sys.version.split()[0]}")

import hashlib
import os
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".paperbot-deps"


def venv_python() -> Path:
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def wanted_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["test"]]


def stamp_for(requirements: list[str]) -> str:
    text = "\n".join([sys.version, *requirements])
    return hashlib.sha256(text.encode()).hexdigest()


def create_venv() -> None:
    print(f"dev.py: creating a virtual environment in {VENV}", file=sys.stderr)
    done = subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=False).returncode == 0
    if done and venv_python().exists():
        return
    # Some distributions ship Python without ensurepip; virtualenv from PyPI does the same job.
    print("dev.py: 'python -m venv' failed; trying virtualenv from PyPI", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "pip", "install", "--user", "--quiet", "virtualenv"], check=True)
    subprocess.run([sys.executable, "-m", "virtualenv", str(VENV)], check=True)


def ensure_environment() -> Path:
    requirements = wanted_requirements()
    if not venv_python().exists():
        create_venv()
    stamp = stamp_for(requirements)
    if not STAMP.exists() or STAMP.read_text().strip() != stamp:
        print("dev.py: installing dependencies into .venv", file=sys.stderr)
        py = str(venv_python())
        pip = [py, "-m", "pip", "--disable-pip-version-check", "--quiet"]
        subprocess.run([*pip, "install", "--upgrade", "pip"], check=False)
        subprocess.run([*pip, "install", *requirements], check=True)
        STAMP.write_text(stamp + "\n")
    return venv_python()


def run(argv: list[str]) -> int:
    return subprocess.run(argv, cwd=ROOT, check=False).returncode


def main(args: list[str]) -> int:
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    py = str(ensure_environment())
    if command == "run":
        return run([py, "-m", "bot", *rest])
    if command == "bench":
        return run([py, "-m", "bench", *rest])
    if command == "lint":
        return (
            run([py, "-m", "ruff", "check", "."])
            or run([py, "-m", "ruff", "format", "--check", "."])
            or run([py, "-m", "mypy"])  # files and strictness: [tool.mypy] in pyproject.toml
        )
    if command == "fmt":
        return run([py, "-m", "ruff", "check", "--fix", "."]) or run([py, "-m", "ruff", "format", "."])
    if command == "pytest":
        return run([py, "-m", "pytest", *rest])
    if command == "test":
        return main(["lint"]) or run([py, "-m", "pytest", *rest])
    print(f"dev.py: unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
