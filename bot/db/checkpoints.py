"""WAL checkpoints off the write path.

SQLite's automatic checkpoint runs inside the ``COMMIT`` that crosses 1,000 WAL pages, so a poll's commit paid
for copying the whole WAL into the database (0.5-2.5 s at 1M papers). While this task runs the writer's is
off (``wal_autocheckpoint=0``) and the task checkpoints instead, on its own connection so the copying never
queues behind or in front of a write. Without it (the CLI, the bench's corpus build) SQLite's stays on.

* PASSIVE once the WAL passes ``passive_bytes``: copies what no reader still needs, never waits for anyone;
* TRUNCATE once no write has happened for ``idle_seconds``: empties the WAL file, taken under the write lock
  so no write of ours waits on it;
* past ``ceiling_bytes`` a TRUNCATE under the write lock whatever the load, waiting for readers up to the busy
  timeout. A reader that holds an old snapshot can still keep the WAL from shrinking: that is logged as a
  warning each time, never silently grown past.

The same task merges the full-text index's segments (``bot.db.fts``) once no one else has written for
``merge_idle_seconds``: small steps, each its own write transaction, so a poll that arrives waits for one step
at most, and nothing is merged inside the poll's commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import aiosqlite

from bot.db.fts import MERGE_PAGES, merge_step
from bot.tasks import cancel_and_wait

if TYPE_CHECKING:
    from bot.db import Database

log = logging.getLogger(__name__)

PASSIVE_BYTES = 4 * 1024 * 1024
CEILING_BYTES = 128 * 1024 * 1024
IDLE_SECONDS = 30.0
INTERVAL_SECONDS = 1.0
CHECKPOINT_BUSY_MS = 5_000
WARN_EVERY_SECONDS = 60.0
SQLITE_AUTOCHECKPOINT_PAGES = 1_000  # SQLite's default, restored when the task stops
MERGE_IDLE_SECONDS = 2.0  # no write from anyone else for this long: merge the index
MERGE_BUDGET_SECONDS = 0.5  # of merge steps per look, so the loop keeps checkpointing on time


@dataclass
class CheckpointStats:
    """What /status and the logs report: the WAL's size now and what the checkpoints did."""

    wal_bytes: int = 0
    passive: int = 0
    truncates: int = 0
    forced: int = 0
    last_blocked_pages: int = 0  # WAL pages a reader's snapshot kept from being checkpointed, last time
    merge_steps: int = 0  # steps of full-text index merging (bot.db.fts), each its own short transaction
    merge_seconds: float = 0.0  # spent in them, holding the write lock


def wal_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + "-wal")


def wal_size(db_path: Path) -> int:
    try:
        return wal_path(db_path).stat().st_size
    except OSError:
        return 0


class Checkpointer:
    """The background checkpoint loop for one :class:`~bot.db.Database` (one per process)."""

    def __init__(
        self,
        db: Database,
        *,
        passive_bytes: int = PASSIVE_BYTES,
        ceiling_bytes: int = CEILING_BYTES,
        idle_seconds: float = IDLE_SECONDS,
        interval: float = INTERVAL_SECONDS,
        busy_ms: int = CHECKPOINT_BUSY_MS,
        merge_idle_seconds: float = MERGE_IDLE_SECONDS,
        merge_budget_seconds: float = MERGE_BUDGET_SECONDS,
        merge_pages: int = MERGE_PAGES,
    ) -> None:
        self.db = db
        self.passive_bytes = passive_bytes
        self.ceiling_bytes = ceiling_bytes
        self.idle_seconds = idle_seconds
        self.interval = interval
        self.busy_ms = busy_ms
        self.merge_idle_seconds = merge_idle_seconds
        self.merge_budget_seconds = merge_budget_seconds
        self.merge_pages = merge_pages
        self.stats = CheckpointStats()
        self._conn: aiosqlite.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._truncated_since_write = False
        self._seen_write = 0.0  # db.last_write_at when the last tick looked
        self._warned_at = -WARN_EVERY_SECONDS  # a blocked WAL is logged once a minute, not every tick
        self._own_write_at: float | None = None  # db.last_write_at right after our last merge step
        self._other_write_at = 0.0  # the last write that was not ours
        self._index_tidy = False  # the last merge step found nothing to do and no one wrote since

    async def start(self) -> None:
        if self._task is None and str(self.db.path) != ":memory:":
            await self.db.set_autocheckpoint(0)
            self._task = asyncio.create_task(self._run(), name="wal-checkpoints")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
            with contextlib.suppress(sqlite3.Error, ValueError):  # ValueError: the database is already closed
                await self.db.set_autocheckpoint(SQLITE_AUTOCHECKPOINT_PAGES)
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                await self._conn.close()
            self._conn = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.merge_index()
                await self.tick()
            except sqlite3.Error as error:  # a checkpoint or merge that fails is retried; never stops the loop
                log.warning("WAL checkpoint or index merge failed (%s); WAL is %s", error, _mib(self.stats.wal_bytes))

    async def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            self._conn = await aiosqlite.connect(self.db.path, isolation_level=None)
            await self._conn.execute(f"PRAGMA busy_timeout = {int(self.busy_ms)}")
        return self._conn

    async def tick(self) -> str | None:
        """One decision; returns the mode of the checkpoint it ran, if any (for tests and the bench)."""
        size = self.stats.wal_bytes = wal_size(self.db.path)
        if size == 0:
            return None
        idle = time.monotonic() - self.db.last_write_at >= self.idle_seconds
        wrote = self.db.last_write_at > self._seen_write
        self._seen_write = self.db.last_write_at
        if wrote:
            self._truncated_since_write = False
        if size >= self.ceiling_bytes:
            await self._checkpoint("TRUNCATE", locked=True)
            self.stats.forced += 1
            after = self.stats.wal_bytes = wal_size(self.db.path)
            if after >= self.ceiling_bytes and time.monotonic() - self._warned_at >= WARN_EVERY_SECONDS:
                self._warned_at = time.monotonic()
                log.warning(
                    "WAL is %s, over its %s ceiling, and a checkpoint could not shrink it: a reader is holding "
                    "an old snapshot (%d pages kept)",
                    _mib(after),
                    _mib(self.ceiling_bytes),
                    self.stats.last_blocked_pages,
                )
            return "TRUNCATE"
        if idle and not self._truncated_since_write:
            await self._checkpoint("TRUNCATE", locked=True)
            self.stats.truncates += 1
            self._truncated_since_write = True
            self.stats.wal_bytes = wal_size(self.db.path)
            return "TRUNCATE"
        if size >= self.passive_bytes and (wrote or self.stats.last_blocked_pages):
            await self._checkpoint("PASSIVE", locked=False)
            self.stats.passive += 1
            return "PASSIVE"
        return None

    async def merge_index(self) -> int:
        """Merge the full-text index's segments while no one else writes; returns the steps run."""
        if self.db.last_write_at != self._own_write_at:  # someone wrote since our last step
            self._other_write_at = self.db.last_write_at
            self._index_tidy = False
        if self._index_tidy or time.monotonic() - self._other_write_at < self.merge_idle_seconds:
            return 0
        started = time.perf_counter()
        steps = 0
        while time.perf_counter() - started < self.merge_budget_seconds:
            if steps and self.db.last_write_at != self._own_write_at:
                break  # a write came in between two steps: not idle any more
            async with self.db.transaction() as conn:
                merged = await merge_step(conn, self.merge_pages)
            self._own_write_at = self.db.last_write_at
            steps += 1
            if not merged:
                self._index_tidy = True
                break
            await asyncio.sleep(0)  # a writer waiting for the lock goes before our next step
        self.stats.merge_steps += steps
        self.stats.merge_seconds += time.perf_counter() - started
        return steps

    async def _checkpoint(self, mode: str, *, locked: bool) -> None:
        conn = await self._connection()
        started = time.perf_counter()
        if locked:
            async with self.db.write_lock():
                row = await (await conn.execute(f"PRAGMA wal_checkpoint({mode})")).fetchone()
        else:
            row = await (await conn.execute(f"PRAGMA wal_checkpoint({mode})")).fetchone()
        busy, log_pages, done = (int(v) for v in row) if row is not None else (0, 0, 0)
        self.stats.last_blocked_pages = max(0, log_pages - done)
        log.log(
            logging.INFO if mode == "TRUNCATE" else logging.DEBUG,
            "WAL checkpoint %s (WAL was %s): %d/%d pages in %.0f ms%s",
            mode,
            _mib(self.stats.wal_bytes),
            done,
            log_pages,
            (time.perf_counter() - started) * 1000,
            " (a reader or writer was busy)" if busy else "",
        )


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"
