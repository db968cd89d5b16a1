"""SQL for users' topic subscriptions."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import aiosqlite

from bot.db.rows import row_mapper, times

if TYPE_CHECKING:
    from bot.db import Database


@dataclass(frozen=True)
class Topic:
    id: int
    user_id: int
    query: str
    created_at: datetime


_topic = row_mapper(Topic, times("created_at"))


class TopicRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def for_user(self, user_id: int) -> list[Topic]:
        rows = await self.db.fetchall(
            "SELECT id, user_id, query, created_at FROM topics WHERE user_id = ? ORDER BY created_at, id", (user_id,)
        )
        return [_topic(row) for row in rows]

    async def count_for_user(self, conn: aiosqlite.Connection, user_id: int) -> int:
        async with conn.execute("SELECT COUNT(*) FROM topics WHERE user_id = ?", (user_id,)) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def add(
        self, conn: aiosqlite.Connection, user_id: int, query: str, query_id: int | None = None
    ) -> Topic | None:
        """The new topic, or None when the user already follows exactly this query."""
        async with conn.execute(
            "INSERT INTO topics (user_id, query, created_at, query_id) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_id, query) DO NOTHING RETURNING id, user_id, query, created_at",
            (user_id, query, int(time.time()), query_id),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _topic(row)

    async def remove(self, conn: aiosqlite.Connection, user_id: int, query: str) -> Topic | None:
        async with conn.execute(
            "DELETE FROM topics WHERE user_id = ? AND query = ? RETURNING id, user_id, query, created_at",
            (user_id, query),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _topic(row)

    async def remove_by_id(self, conn: aiosqlite.Connection, user_id: int, topic_id: int) -> Topic | None:
        async with conn.execute(
            "DELETE FROM topics WHERE user_id = ? AND id = ? RETURNING id, user_id, query, created_at",
            (user_id, topic_id),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _topic(row)

    async def get(self, topic_id: int) -> Topic | None:
        row = await self.db.fetchone("SELECT id, user_id, query, created_at FROM topics WHERE id = ?", (topic_id,))
        return None if row is None else _topic(row)

    async def remove_all(self, conn: aiosqlite.Connection, user_id: int) -> int:
        async with conn.execute("DELETE FROM topics WHERE user_id = ? RETURNING id", (user_id,)) as cursor:
            return len(list(await cursor.fetchall()))
