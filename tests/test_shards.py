"""Several processes on one database: shard settings, which targets a process serves, the poller lease,
migrations started together, and outbox claims from two connections (as two processes make them)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.db import Database
from bot.db.migrations import SCHEMA_VERSION
from bot.lease import POLLER, Lease
from bot.looplag import HEARTBEAT_KEY, MAX_LAG_KEY, LoopMonitor
from bot.shards import ShardSet


def _settings(**values: object) -> ShardSet:
    return ShardSet.from_settings(load_settings(_env_file=None, **values))


def test_shard_ids_accept_lists_and_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHARD_COUNT", "8")
    monkeypatch.setenv("SHARD_IDS", "0-2, 5,2")
    settings = load_settings(_env_file=None)
    assert settings.shard_count == 8
    assert settings.shard_ids == [0, 1, 2, 5]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SHARD_IDS": "0"}, "SHARD_IDS needs SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "1,2"}, "SHARD_IDS [2] must be below SHARD_COUNT (2)"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "one"}, "SHARD_IDS: 'one' is not a shard id"),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "3-1"}, "SHARD_IDS: '3-1' is an empty range"),
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT"),
        ({"POLLER_LEASE_SECONDS": "1"}, "POLLER_LEASE_SECONDS"),
    ],
)
def test_bad_shard_settings_are_one_line(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def guild_on(shard: int, count: int) -> int:
    return ((1_000_000 * count + shard) << 22) | 12345


def test_routing_by_guild_shard_and_dms_on_shard_zero() -> None:
    everything = _settings()
    assert everything.everything
    assert everything.serves("channel", guild_on(3, 4)) and everything.serves("user", None)
    assert _settings(shard_count=4).everything  # all four in this process

    first = _settings(shard_count=4, shard_ids="0,1")
    second = _settings(shard_count=4, shard_ids="2-3")
    for shard in range(4):
        gid = guild_on(shard, 4)
        assert first.shard_of(gid) == shard
        assert first.serves("channel", gid) != second.serves("channel", gid)  # exactly one serves it
        assert first.serves("channel", gid) == (shard < 2)
    assert first.serves("user", None) and not second.serves("user", None)
    assert first.describe() == "shards [0, 1] of 4"


async def test_lease_is_held_by_one_and_taken_over_when_it_expires(db_path: Path) -> None:
    now = [1_000.0]
    first_db, second_db = await Database.open(db_path), await Database.open(db_path)
    try:
        first = Lease(first_db, POLLER, ttl=30, slot="host/shards [0]", holder="a", clock=lambda: now[0])
        second = Lease(second_db, POLLER, ttl=30, slot="host/shards [1]", holder="b", clock=lambda: now[0])
        assert await first.renew()
        assert not await second.renew()
        assert first.held and not second.held

        now[0] += 20  # renewed in time: still first's
        assert await first.renew()
        now[0] += 29
        assert not await second.renew()

        now[0] += 2  # first stopped renewing 31 s ago: its lease ran out and second takes it over
        assert not first.held
        assert await second.renew()  # type: ignore[unreachable]  # mypy keeps first.held narrowed across awaits
        assert not await first.renew()
        assert await first_db.leases.holder(POLLER, now=now[0]) == "b"

        await second.release()  # a clean stop hands it over at once
        assert await first.renew()

        # first is SIGKILLed and restarted (same slot, new holder): it takes its own lease back at once.
        restarted = Lease(second_db, POLLER, ttl=30, slot="host/shards [0]", holder="a2", clock=lambda: now[0])
        assert await restarted.renew()
        assert not await second.renew()
    finally:
        await first_db.close()
        await second_db.close()


async def test_processes_starting_together_migrate_once(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    opened = await asyncio.gather(*(Database.open(path) for _ in range(4)))
    try:
        for db in opened:
            assert await db.fetchval("PRAGMA user_version") == SCHEMA_VERSION
            assert await db.fetchval("SELECT COUNT(*) FROM leases") == 0
    finally:
        for db in opened:
            await db.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


async def test_a_row_is_claimed_by_one_connection_only(db_path: Path) -> None:
    first_db, second_db = await Database.open(db_path), await Database.open(db_path)
    try:
        async with first_db.transaction() as conn:
            await conn.execute(
                "INSERT INTO deliveries (target_kind, target_id, paper_id, guild_id, created_at) "
                "VALUES ('channel', 1, '2601.00001', 5, 0)"
            )
        row_id = await first_db.fetchval("SELECT id FROM deliveries")

        async def claim(db: Database, batch: str) -> None:
            async with db.transaction() as conn:
                await db.deliveries.claim(conn, [row_id], batch, now=1)

        await asyncio.gather(claim(first_db, "one"), claim(second_db, "two"))
        rows = await first_db.fetchall("SELECT batch, attempts FROM deliveries")
        assert [tuple(row) for row in rows] in ([("one", 1)], [("two", 1)])
    finally:
        await first_db.close()
        await second_db.close()


async def test_loop_monitor_records_a_stall_and_a_heartbeat(db: Database) -> None:
    monitor = LoopMonitor(db, tick=0.01, persist_every=0.05)
    task = asyncio.create_task(monitor.run())
    try:
        await asyncio.sleep(0.02)  # let the monitor start its first tick
        time.sleep(0.3)  # noqa: ASYNC251 - blocking the loop on purpose is the stall the monitor must see
        deadline = time.monotonic() + 5
        while await db.meta.get(MAX_LAG_KEY) is None or float(await db.meta.get(MAX_LAG_KEY) or 0) < 250:
            assert time.monotonic() < deadline, "stall not recorded"
            await asyncio.sleep(0.02)
        assert float(await db.meta.get(HEARTBEAT_KEY) or 0) > time.time() - 5
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
