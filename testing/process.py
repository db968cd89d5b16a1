"""``python -m bot ...`` in a subprocess, as an operator runs it, with an environment the test controls.

One place for what every such test needs: the caller's environment without any of the bot's own variables
(a developer's shell must not leak in), the project on ``PYTHONPATH`` (the subprocess runs in a temporary
folder, so no developer ``.env`` is read either), unbuffered output, and a timeout that kills the process
instead of leaving it behind.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from bot.config import Settings
from testing.paths import ROOT

# Every variable the bot reads: taken from what a test passes, never from the caller's environment.
OUR_VARIABLES = frozenset(name.upper() for name in Settings.model_fields)
DEFAULT_TIMEOUT = 60.0


class Finished(NamedTuple):
    code: int
    out: str
    err: str


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment a subprocess needs to see exactly ``settings``."""
    env = {key: value for key, value in os.environ.items() if key.upper() not in OUR_VARIABLES}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, list):
            value = ",".join(str(item) for item in value)
        elif hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[name.upper()] = str(value)
    return env


def bot_env(settings: Settings | None = None, **extra: str) -> dict[str, str]:
    """The environment for ``python -m bot``: ``settings`` (or none of the bot's variables), then ``extra``."""
    if settings is not None:
        env = settings_env(settings)
    else:
        env = {key: value for key, value in os.environ.items() if key.upper() not in OUR_VARIABLES}
    return env | {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"} | extra


def workdir(settings: Settings) -> Path:
    """The folder above the database's: the test's own temporary folder when it uses the ``db_path`` fixture."""
    return settings.database_path.parent.parent


async def spawn_bot(
    *args: str, env: Mapping[str, str], cwd: Path, stdout: int = asyncio.subprocess.PIPE
) -> asyncio.subprocess.Process:
    """Start ``python -m bot ARGS`` (stderr is always piped, so a failure can show it)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=dict(env),
        stdout=stdout,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(process: asyncio.subprocess.Process, timeout: float = DEFAULT_TIMEOUT) -> Finished:  # noqa: ASYNC109
    """Wait for the exit and the output; a process still running after ``timeout`` is killed, then TimeoutError."""
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=timeout)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return Finished(process.returncode, (out or b"").decode(), (err or b"").decode())


async def run_bot(
    *args: str,
    env: Mapping[str, str],
    cwd: Path,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
) -> Finished:
    """``python -m bot ARGS`` to completion: exit status, stdout and stderr."""
    return await finish(await spawn_bot(*args, env=env, cwd=cwd), timeout)


def query_db(
    path: Path, sql: str, params: tuple[Any, ...] = (), *, timeout: float = 1.0
) -> list[tuple[Any, ...]] | None:
    """Read a bot process's SQLite file from the outside, read-only; None while it does not exist, is not
    migrated yet or is locked for a moment (callers poll it with a timeout)."""
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
    except sqlite3.Error:
        return None
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def read_rows(path: Path, sql: str, params: tuple[Any, ...] = (), *, timeout: float = 1.0) -> list[tuple[Any, ...]]:
    """``query_db`` with "not readable yet" as no rows."""
    return query_db(path, sql, params, timeout=timeout) or []
