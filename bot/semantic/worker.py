"""The background embedder: after each poll, and until the archive is back-filled, encode what is missing.

It never blocks a poll, a command or a delivery: encoding runs on the inference thread (queries first), and
each batch is written in its own short transaction. Any failure is logged and the loop carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.semantic.service import Semantic
from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)

IDLE_SECONDS = 600.0  # a round even without a wake-up: catches papers stored by another process
RETRY_SECONDS = 60.0


class Embedder:
    def __init__(self, semantic: Semantic, *, idle: float = IDLE_SECONDS, retry: float = RETRY_SECONDS) -> None:
        self.semantic = semantic
        self.idle = idle
        self.retry = retry
        self.rounds = 0  # completed rounds, for tests and /status to wait on
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="semantic-embedder")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        self.semantic.close()

    async def _run(self) -> None:
        if not await self.semantic.load():
            return  # lexical-only: load() logged why, once
        while True:
            delay = self.idle
            self._wake.clear()  # before the round: a wake-up during it means another round
            try:
                written = await self.semantic.embed_pending()
                if written:
                    embedded, total = self.semantic.progress()
                    log.info("embedded %d papers; semantic index: %d / %d", written, embedded, total)
            except Exception:
                log.exception("embedding papers failed; trying again in %.0f s", self.retry)
                delay = self.retry
            self.rounds += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
