"""SQL for per-user delivery state: the cached DM channel, whether DMs are paused, and today's held-back count."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiosqlite

if TYPE_CHECKING:
    from bot.db import Database


@dataclass(frozen=True)
class UserState:
    user_id: int
    dm_channel_id: int | None
    paused_at: int | None
    pause_code: int | None
    held: int = 0  # DM matches held back by the daily cap on held_day (bot.delivery.outbox)
    held_day: int | None = None


class UserRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def dm_channel(self, user_id: int) -> int | None:
        channel_id: int | None = await self.db.fetchval("SELECT dm_channel_id FROM users WHERE user_id = ?", (user_id,))
        return channel_id

    async def set_dm_channel(self, conn: aiosqlite.Connection, user_id: int, channel_id: int | None) -> None:
        await conn.execute(
            "INSERT INTO users (user_id, dm_channel_id) VALUES (?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET dm_channel_id = excluded.dm_channel_id",
            (user_id, channel_id),
        )

    async def pause_dms(self, conn: aiosqlite.Connection, user_id: int, code: int | None) -> None:
        await conn.execute(
            "INSERT INTO users (user_id, dm_paused_at, dm_pause_code) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET dm_paused_at = excluded.dm_paused_at, "
            "dm_pause_code = excluded.dm_pause_code",
            (user_id, int(time.time()), code),
        )

    async def is_paused(self, user_id: int) -> bool:
        return await self.db.fetchval("SELECT dm_paused_at FROM users WHERE user_id = ?", (user_id,)) is not None

    async def resume_dms(self, conn: aiosqlite.Connection, user_id: int) -> bool:
        """Clear a pause; True when there was one (so the caller tells the user)."""
        async with conn.execute(
            "UPDATE users SET dm_paused_at = NULL, dm_pause_code = NULL "
            "WHERE user_id = ? AND dm_paused_at IS NOT NULL RETURNING user_id",
            (user_id,),
        ) as cursor:
            return await cursor.fetchone() is not None

    async def held(self, user_id: int, day: int) -> int:
        """Matches held back by the daily DM cap on ``day`` (midnight UTC), counted when they were queued."""
        held: int | None = await self.db.fetchval(
            "SELECT dm_held FROM users WHERE user_id = ? AND dm_held_day = ?", (user_id, day)
        )
        return held or 0

    async def state(self, user_id: int) -> UserState | None:
        row = await self.db.fetchone(
            "SELECT user_id, dm_channel_id, dm_paused_at, dm_pause_code, dm_held, dm_held_day FROM users "
            "WHERE user_id = ?",
            (user_id,),
        )
        if row is None:
            return None
        return UserState(
            row["user_id"],
            row["dm_channel_id"],
            row["dm_paused_at"],
            row["dm_pause_code"],
            row["dm_held"],
            row["dm_held_day"],
        )

    async def remove(self, conn: aiosqlite.Connection, user_id: int) -> bool:
        async with conn.execute("DELETE FROM users WHERE user_id = ? RETURNING user_id", (user_id,)) as cursor:
            return await cursor.fetchone() is not None
