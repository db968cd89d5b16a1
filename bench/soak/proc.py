"""The bot process under test: start, SIGKILL, stop, and what the kernel says about it.

Its log goes to a file, not a pipe: a long run under faults logs more than a pipe holds, and a full pipe
would block the bot (a stall the soak would then blame on the bot).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from bot.config import Settings
from testing.process import bot_env


async def start(settings: Settings, cwd: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as sink:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=cwd,
            env=bot_env(settings),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=sink,
        )


async def kill(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGKILL)
    await process.wait()


async def stop(process: asyncio.subprocess.Process) -> int:
    """SIGTERM; a process that does not stop within 30 s is killed. Returns the exit status."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=30)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
    assert process.returncode is not None
    return process.returncode


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def open_fds(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
