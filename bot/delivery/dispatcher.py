"""The dispatcher: sends the outbox in rounds, serving up to ``WORKERS`` targets at once, until stopped.

It only composes the parts: ``plan`` says what is due, ``Batcher`` serves one target in order, ``Sender``
sends one batch exactly once, ``FaultHandler`` decides what a failure means, ``Pacer`` keeps every request
under the global rate limit. All of them read time from the dispatcher's ``clock`` (epoch seconds), so a
test that sets ``dispatcher.clock`` moves digest hours, retries and the DM day for all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable

import discord

from bot.db import Database
from bot.delivery import outbox, plan
from bot.delivery.batches import Batcher
from bot.delivery.faults import FaultHandler
from bot.delivery.pacer import Pacer
from bot.delivery.plan import Target
from bot.delivery.send import Sender

log = logging.getLogger(__name__)

WORKERS = 8  # targets served at once; each target gets one message at a time, in order
PRUNE_EVERY = 6 * 3600
# With several processes on one database, rows queued by the polling process wake no other process:
# each looks for new open rows this often (a cheap query on a partial index).
SHARED_IDLE_SECONDS = 2.0


class Dispatcher:
    def __init__(
        self,
        client: discord.Client,
        db: Database,
        *,
        rate: float = 45.0,
        max_attempts: int = 5,
        retry_base: float = 2.0,
        clock: Callable[[], float] = time.time,
        serves: plan.Serves | None = None,
    ) -> None:
        self.db = db
        self.serves = serves
        self.clock = clock
        self.stats: Counter[str] = Counter()
        self.pacer = Pacer(rate)
        self.faults = FaultHandler(db, max_attempts=max_attempts, retry_base=retry_base, now=self.now, stats=self.stats)
        self.sender = Sender(client, db, self.pacer, self.faults, now=self.now, stats=self.stats)
        self.batcher = Batcher(db, self.sender, now=self.now, stats=self.stats)
        self._wake = asyncio.Event()
        self._round = asyncio.Lock()  # one round at a time: a batch is only ever in one sender's hands
        self._last_prune = 0.0
        self._stopping = False

    def now(self) -> float:
        """The current time by ``clock``, read afresh each call so a replaced clock takes effect at once."""
        return self.clock()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run_forever(self) -> None:
        try:
            await self.sender.recover_threads()
        except Exception:
            log.exception("starting missing threads failed; trying again on the next start")
        while not self._stopping:
            self._wake.clear()
            try:
                await self.run_once()
                await self._maybe_prune()
            except Exception:
                # One bad round (a bug on odd data, a locked disk) must never stop deliveries for good.
                log.exception("delivery round failed; trying again shortly")
                self.stats["round_errors"] += 1
            timeout = await plan.idle_timeout(self.db, self.now())
            if self.serves is not None:
                timeout = min(timeout, SHARED_IDLE_SECONDS)
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation (a hang on shutdown).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    async def run_once(self) -> None:
        """Send everything that is due now; returns when every target is done or waiting."""
        async with self._round:
            targets = await plan.due_targets(self.db, self.now(), self.serves)
            if targets:
                gate = asyncio.Semaphore(WORKERS)
                await asyncio.gather(*(self._serve(target, gate) for target in targets))

    async def _serve(self, target: Target, gate: asyncio.Semaphore) -> None:
        async with gate:
            try:
                await self.batcher.serve(target)
            except Exception:
                log.exception("delivering to %s %s failed; it is retried next round", target.kind, target.target_id)
                self.stats["target_errors"] += 1

    async def _maybe_prune(self) -> None:
        if self.now() - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = self.now()
        removed = await outbox.prune(self.db, now=int(self.now()))
        if removed:
            log.info("pruned %d settled deliveries past the retention period", removed)
