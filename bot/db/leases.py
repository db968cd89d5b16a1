"""SQL for leases: a named job that exactly one of several processes sharing the database may do."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiosqlite

if TYPE_CHECKING:
    from bot.db import Database


class LeaseRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def acquire(
        self, conn: aiosqlite.Connection, name: str, holder: str, *, slot: str, now: float, ttl: float
    ) -> bool:
        """Take or renew ``name`` until ``now + ttl``: True if ``holder`` has it.

        It is taken when free, expired, or held by the same ``slot`` (this process's earlier life, killed
        before it could release it: the same host and shards never run twice at once).
        """
        await conn.execute(
            "INSERT INTO leases (name, holder, slot, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, slot = excluded.slot, "
            "expires_at = excluded.expires_at "
            "WHERE leases.holder = excluded.holder OR leases.slot = excluded.slot OR leases.expires_at <= ?",
            (name, holder, slot, now + ttl, now),
        )
        async with conn.execute("SELECT holder FROM leases WHERE name = ?", (name,)) as cursor:
            row = await cursor.fetchone()
        return row is not None and row[0] == holder

    async def release(self, conn: aiosqlite.Connection, name: str, holder: str) -> None:
        """Give the lease up at once (a clean stop), so another process need not wait for it to expire."""
        await conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    async def holder(self, name: str, *, now: float) -> str | None:
        holder = await self.db.fetchval("SELECT holder FROM leases WHERE name = ? AND expires_at > ?", (name, now))
        return None if holder is None else str(holder)
