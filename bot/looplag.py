"""An event-loop lag monitor: how late a short sleep wakes up is how long something blocked the loop.

The longest stall since start and a heartbeat go to the ``meta`` table every few seconds, so an operator
(or the soak benchmark) can read them from the database without asking the process.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time

from bot.db import Database

log = logging.getLogger(__name__)

TICK = 0.1
PERSIST_EVERY = 5.0
STALL_WARNING = 1.0  # seconds; a stall this long delays heartbeats and interaction answers
# Not ``bot.health``'s key: that one holds the JSON heartbeat ``python -m bot health`` reads, and writing a bare
# timestamp over it every few seconds made the health check report the bot unhealthy ("unreadable").
HEARTBEAT_KEY = "looplag:heartbeat"
MAX_LAG_KEY = "health:loop_lag_max_ms"


class LoopMonitor:
    def __init__(self, db: Database, *, tick: float = TICK, persist_every: float = PERSIST_EVERY) -> None:
        self.db = db
        self.tick = tick
        self.persist_every = persist_every
        self.max_lag = 0.0

    async def run(self) -> None:
        last_persist = time.monotonic()
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.tick)
            lag = max(0.0, time.monotonic() - before - self.tick)
            if lag > self.max_lag:
                self.max_lag = lag
                if lag >= STALL_WARNING:
                    log.warning("the event loop was blocked for %.2f s", lag)
            if time.monotonic() - last_persist >= self.persist_every:
                last_persist = time.monotonic()
                await self._persist()

    async def _persist(self) -> None:
        try:
            async with self.db.transaction() as conn:
                await self.db.meta.set(conn, HEARTBEAT_KEY, f"{time.time():.3f}")
                await self.db.meta.set(conn, MAX_LAG_KEY, f"{self.max_lag * 1000:.1f}")
        except sqlite3.Error as error:  # a busy database must not stop the monitor
            log.warning("could not record the heartbeat: %s", error)
