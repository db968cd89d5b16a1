"""Stopping the bot's background tasks, one way for all of them; and long Python work that shares the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Iterator
from typing import Any

# How long Python work on the event loop runs between two yields. Much shorter starves aiosqlite's threads of the
# GIL (the loop gives it back only for an instant); much longer makes every database call of a command wait that
# long per await. Measured with a 50 ms writer beside 3 s of work: 1 ms slices let it write once, 25 ms twelve
# times, 100 ms slices four times (docs/benchmarks.md, "Deciding outside the write lock").
SLICE_SECONDS = 0.02


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait until it has unwound, so a stop never leaves it running beside a closed
    database; its CancelledError is the expected end and is not passed on."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class Slices:
    """Cut CPU-bound Python on the event loop into slices: ``await slices.pause()`` in the loop body yields once
    ``SLICE_SECONDS`` have passed since the last yield."""

    def __init__(self, seconds: float = SLICE_SECONDS) -> None:
        self.seconds = seconds
        self._since = time.perf_counter()

    async def pause(self) -> None:
        now = time.perf_counter()
        if now - self._since >= self.seconds:
            await asyncio.sleep(0)
            self._since = time.perf_counter()


_paused = 0  # callers inside without_cycle_collection; the collector runs again when the last one leaves
_was_enabled = True


@contextlib.contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Hold off Python's cycle collector while building many short-lived, acyclic objects (a poll's decoded query
    plans: hundreds of thousands of dicts and lists). Reference counting still frees them; without this, three
    full collections of 0.4-0.6 s each stopped the event loop while one poll was matched at 100k topics
    (docs/benchmarks.md, "Deciding outside the write lock"). Overlapping callers (coroutines) share one pause."""
    global _paused, _was_enabled
    if _paused == 0:
        _was_enabled = gc.isenabled()
        gc.disable()
    _paused += 1
    try:
        yield
    finally:
        _paused -= 1
        if _paused == 0 and _was_enabled:
            gc.enable()
