"""The one thread that runs the model: a member's query never waits behind the back-fill.

Model inference is CPU-bound and must never run on the event loop. One dedicated thread keeps the model's
memory and BLAS threads in one place. Queries go to their own queue, taken before any background job; and a
background job that calls ``yield_to_queries`` between steps (the encoder does, between layers) lets a query
that arrived meanwhile run at once, so a query waits for one layer of one batch, not for the batch (under
heavy load a batch of 8 papers took 13 s: docs/benchmarks.md, issue 13 part 3).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

QUERY, BACKGROUND = 0, 1

_Job = tuple["concurrent.futures.Future[Any]", Callable[..., Any], tuple[Any, ...]]


class InferenceThread:
    def __init__(self, name: str = "semantic-inference") -> None:
        self._ready = threading.Condition()
        self._queries: deque[_Job] = deque()
        self._background: deque[_Job] = deque()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _next(self) -> _Job | None:
        with self._ready:
            while not (self._stopped or self._queries or self._background):
                self._ready.wait()
            if self._stopped:
                return None
            return (self._queries or self._background).popleft()

    def _run(self) -> None:
        while (job := self._next()) is not None:
            self._execute(job)

    @staticmethod
    def _execute(job: _Job) -> None:
        future, function, args = job
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(function(*args))
        except BaseException as error:  # handed to the awaiting coroutine, never lost
            future.set_exception(error)

    async def run(self, priority: int, function: Callable[..., T], *args: Any) -> T:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._ready:
            (self._queries if priority == QUERY else self._background).append((future, function, args))
            self._ready.notify()
        return await asyncio.wrap_future(future)

    def yield_to_queries(self) -> None:
        """Run the queries waiting now; a background job calls this between its steps, on this thread."""
        if threading.current_thread() is not self._thread:
            return
        while True:
            with self._ready:
                if self._stopped or not self._queries:
                    return
                job = self._queries.popleft()
            self._execute(job)

    def stop(self) -> None:
        """The thread ends after the job it is running; jobs still queued are dropped."""
        with self._ready:
            self._stopped = True
            self._ready.notify()
