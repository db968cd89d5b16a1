"""Stopping the bot's background tasks, one way for all of them."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait until it has unwound, so a stop never leaves it running beside a closed
    database; its CancelledError is the expected end and is not passed on."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
