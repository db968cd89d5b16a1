"""WAL checkpoints run off the write path and keep the WAL bounded (bot/db/checkpoints.py)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from bot.db import Database
from bot.db.checkpoints import Checkpointer, wal_size

KIB = 1024
VALUE = "x" * (32 * KIB)


async def _write(db: Database, count: int, start: int = 0) -> None:
    for number in range(start, start + count):
        async with db.transaction() as conn:
            await db.meta.set(conn, f"k{number % 50}", f"{number}{VALUE}")


async def test_while_the_task_runs_commits_no_longer_checkpoint(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.db")
    checkpoints = Checkpointer(db, interval=3600)  # started, but its first look comes after the writes
    try:
        await checkpoints.start()
        await _write(db, 300)  # ~10 MiB of WAL: SQLite's own checkpoint would have restarted it at ~4 MiB
        assert wal_size(db.path) > 6 * 1024 * KIB
    finally:
        await checkpoints.stop()
        await db.close()


async def test_the_wal_stays_bounded_across_many_writes(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.db")
    checkpoints = Checkpointer(
        db, passive_bytes=256 * KIB, ceiling_bytes=8 * 1024 * KIB, idle_seconds=3600, interval=3600
    )
    try:
        await checkpoints.start()  # its loop sleeps for the hour; the test ticks by hand
        largest = 0
        modes = []
        for round_ in range(40):
            await _write(db, 10, start=round_ * 10)
            modes.append(await checkpoints.tick())
            largest = max(largest, wal_size(db.path))
        assert "PASSIVE" in modes
        assert largest < 1024 * KIB  # the threshold plus one round of writes, never the 6 MiB written
        assert checkpoints.stats.wal_bytes == wal_size(db.path)
        assert await db.meta.get("k49") == f"399{VALUE}"
    finally:
        await checkpoints.stop()
        await db.close()


async def test_an_idle_database_gets_its_wal_truncated_once(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.db")
    checkpoints = Checkpointer(db, idle_seconds=0, interval=3600)
    try:
        await checkpoints.start()
        await _write(db, 5)
        assert wal_size(db.path) > 0
        assert await checkpoints.tick() == "TRUNCATE"
        assert wal_size(db.path) == 0
        assert await checkpoints.tick() is None
        assert await db.meta.get("k4") == f"4{VALUE}"
    finally:
        await checkpoints.stop()
        await db.close()


async def test_a_reader_holding_a_snapshot_past_the_ceiling_is_logged_then_recovered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = await Database.open(tmp_path / "bot.db")
    await _write(db, 1)
    checkpoints = Checkpointer(
        db, passive_bytes=64 * KIB, ceiling_bytes=512 * KIB, idle_seconds=3600, interval=3600, busy_ms=50
    )
    reader = sqlite3.connect(db.path, isolation_level=None)
    try:
        await checkpoints.start()
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM meta").fetchone()  # holds its snapshot until COMMIT
        await _write(db, 60, start=1)
        with caplog.at_level(logging.WARNING, logger="bot.db.checkpoints"):
            assert await checkpoints.tick() == "TRUNCATE"
        assert wal_size(db.path) >= 512 * KIB
        assert any("reader is holding" in record.getMessage() for record in caplog.records)
        reader.execute("COMMIT")
        assert await checkpoints.tick() == "TRUNCATE"
        assert wal_size(db.path) == 0
    finally:
        reader.close()
        await checkpoints.stop()
        await db.close()


async def test_the_background_task_starts_and_stops_cleanly(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.db")
    checkpoints = Checkpointer(db, idle_seconds=0, interval=0.01)
    try:
        await _write(db, 3)
        await checkpoints.start()
        for _ in range(500):  # a condition with a timeout: at most 5 s
            if checkpoints.stats.truncates:
                break
            await asyncio.sleep(0.01)
        assert checkpoints.stats.truncates >= 1
    finally:
        await checkpoints.stop()
        await db.close()
