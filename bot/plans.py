"""Bringing stored topic/feed query plans up to date in the background, so start-up never waits for it.

Rebuilding every plan after an upgrade used to run in ``setup_hook`` in one transaction: about 10 minutes for
100k topics, with no commands and no deliveries meanwhile. Now ``PlanBuilder`` runs it in short transactions
(``CHUNK`` queries each) while the bot serves commands and delivers its outbox. Polling waits for ``ready``:
a topic without its plan would silently miss the papers of a poll made before it was indexed.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.db import Database
from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)

CHUNK = 500  # queries per transaction: the write lock is never held for long


class PlanBuilder:
    def __init__(self, db: Database, *, chunk: int | None = None) -> None:
        self.db = db
        self.chunk = chunk or CHUNK
        self.ready = asyncio.Event()
        self.indexed = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="plan-builder")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        started = time.perf_counter()
        while True:
            try:
                async with self.db.transaction() as conn:
                    done = await self.db.queries.index_unindexed(conn, limit=self.chunk)
            except Exception:
                # Never leave polling blocked for good: log, wait, try again.
                log.exception("indexing stored topic queries failed; retrying in 30 s")
                await asyncio.sleep(30)
                continue
            self.indexed += done
            if done < self.chunk:
                break
            log.info("indexed %d stored topic/feed queries so far", self.indexed)
            await asyncio.sleep(0)  # let commands and deliveries take the write lock between chunks
        if self.indexed:
            log.info(
                "indexed %d topic/feed queries stored by an older version in %.1f s",
                self.indexed,
                time.perf_counter() - started,
            )
        self.ready.set()
