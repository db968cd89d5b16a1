#!/usr/bin/env python3
"""One entry point for a fresh clone: creates or reuses ``.venv`` and runs the bot, the tests or the linters.

Standard library only, so it works on a machine that has nothing but Python 3.11+ and pip.

    python3 dev.py run [bot arguments]   # the bot (python -m bot ...); installs only the runtime lock
    python3 dev.py check                 # the fast tier: lint + types + tests not marked slow, in parallel
    python3 dev.py test                  # lint + format check + types + the whole test suite (what CI runs)
    python3 dev.py pytest [args]         # only pytest, with your arguments
    python3 dev.py lint | fmt            # ruff check + format check + mypy | apply ruff format and fixes
    python3 dev.py bench [args]          # the benchmark suite (python -m bench ...)
    python3 dev.py lock                  # re-resolve requirements*.lock from pyproject.toml's ranges (uv)

Installs come from the lock files (exact versions, hashes checked); pyproject.toml keeps the ranges.
"""

from __future__ import annotations

import sys

# dev.py runs under whatever python3 the machine has, so say clearly when it is too old.
if sys.version_info < (3, 11):  # noqa: UP036
    sys.exit(f"dev.py: paperbot needs Python 3.11 or newer; this is {sys.version.split()[0]}")

import hashlib
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".paperbot-deps"
RUNTIME_LOCK = ROOT / "requirements.lock"  # the bot's dependencies
DEV_LOCK = ROOT / "requirements-dev.lock"  # those plus the test extra (pytest, ruff, mypy, ...)
UV = "uv>=0.5,<1"  # only `dev.py lock` needs it; installs use plain pip
COMMANDS = {"run", "check", "test", "pytest", "lint", "fmt", "bench", "lock"}


def venv_python() -> Path:
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def stamp_for(lock: Path) -> str:
    """Changes when the lock's content, its name or the interpreter does: that is when to reinstall."""
    text = "\n".join([sys.version, lock.name, lock.read_text(encoding="utf-8")])
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


def ensure_environment(*, runtime_only: bool = False) -> Path:
    """``.venv`` with the dev lock installed (or at least the runtime lock, for ``run``)."""
    if not venv_python().exists():
        create_venv()
    installed = STAMP.read_text().strip() if STAMP.exists() else ""
    # The dev lock holds the runtime one, so an environment set up for the tests can also run the bot.
    good = {stamp_for(RUNTIME_LOCK), stamp_for(DEV_LOCK)} if runtime_only else {stamp_for(DEV_LOCK)}
    if installed not in good:
        lock = RUNTIME_LOCK if runtime_only else DEV_LOCK
        print(f"dev.py: installing {lock.name} into .venv", file=sys.stderr)
        py = str(venv_python())
        pip = [py, "-m", "pip", "--disable-pip-version-check", "--quiet"]
        subprocess.run([*pip, "install", "--upgrade", "pip"], check=False)
        subprocess.run([*pip, "install", "--require-hashes", "--no-deps", "-r", str(lock)], check=True)
        # The project itself, editable and without dependencies: the lock already chose them.
        editable = subprocess.run(
            [*pip, "install", "--no-deps", "--editable", str(ROOT)], capture_output=True, text=True, check=False
        )
        if editable.returncode != 0:  # setuptools is chatty even when it works; show it only when it did not
            sys.exit(f"dev.py: installing the project failed:\n{editable.stdout}{editable.stderr}")
        STAMP.write_text(stamp_for(lock) + "\n")
    return venv_python()


def lock() -> int:
    """Re-resolve both lock files from pyproject.toml with uv (its [tool.uv] settings apply)."""
    py = str(ensure_environment())
    pip = [py, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    if subprocess.run([py, "-m", "uv", "--version"], capture_output=True, check=False).returncode != 0:
        subprocess.run([*pip, "install", UV], check=True)
    compile_ = [py, "-m", "uv", "pip", "compile", "pyproject.toml", "--universal", "--python-version", "3.11"]
    compile_ += ["--generate-hashes", "--quiet", "--no-header"]
    for target, extra in ((RUNTIME_LOCK, []), (DEV_LOCK, ["--extra", "test"])):
        code = run([*compile_, *extra, "--output-file", target.name])
        if code:
            return code
    return 0


def run(argv: list[str]) -> int:
    return subprocess.run(argv, cwd=ROOT, check=False).returncode


def main(args: list[str]) -> int:
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        # Refused before anything is built or installed.
        print(f"dev.py: unknown command {command!r}\n{__doc__}", file=sys.stderr)
        return 2
    if command == "lock":
        return lock()
    if command == "run":
        return run([str(ensure_environment(runtime_only=True)), "-m", "bot", *rest])
    py = str(ensure_environment())
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
    if command == "check":
        return main(["lint"]) or run([py, "-m", "pytest", "-m", "not slow", "-n", "auto", *rest])
    # test: everything CI runs.
    return main(["lint"]) or run([py, "-m", "pytest", *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
