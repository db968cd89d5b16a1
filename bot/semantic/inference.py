"""The one thread that runs the model: queries jump ahead of background batches.

Model inference is CPU-bound and must never run on the event loop. One dedicated thread keeps the model's
memory and BLAS threads to one place; a priority queue lets a member's query run before the back-fill's
next batch (it still waits for the batch being encoded, ~0.4 s at most with batches of 4).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

QUERY, BACKGROUND = 0, 1
_STOP = object()


class InferenceThread:
    def __init__(self, name: str = "semantic-inference") -> None:
        self._queue: queue.PriorityQueue[tuple[int, int, Any]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            _, _, item = self._queue.get()
            if item is _STOP:
                return
            future, function, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function(*args))
            except BaseException as error:  # handed to the awaiting coroutine, never lost
                future.set_exception(error)

    async def run(self, priority: int, function: Callable[..., T], *args: Any) -> T:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._queue.put((priority, next(self._order), (future, function, args)))
        return await asyncio.wrap_future(future)

    def stop(self) -> None:
        self._queue.put((-1, -1, _STOP))
