"""SQL for small key/value bookkeeping (for example the hash of the last synced command schema)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiosqlite

if TYPE_CHECKING:
    from bot.db import Database


class MetaRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, key: str) -> str | None:
        value = await self.db.fetchval("SELECT value FROM meta WHERE key = ?", (key,))
        return None if value is None else str(value)

    async def set(self, conn: aiosqlite.Connection, key: str, value: str) -> None:
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def keys(self, prefix: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT key FROM meta WHERE substr(key, 1, length(?)) = ? ORDER BY key", (prefix, prefix)
        )
        return [str(row[0]) for row in rows]

    async def delete(self, conn: aiosqlite.Connection, key: str) -> None:
        await conn.execute("DELETE FROM meta WHERE key = ?", (key,))
