"""SQL for channel feeds (automatic posts configured with /feed)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import aiosqlite

from bot.db.rows import row_mapper, times
from bot.models import Source

if TYPE_CHECKING:
    from bot.db import Database

FeedMode = Literal["instant", "digest"]


@dataclass(frozen=True)
class FeedConfig:
    """What an admin chooses with /feed add."""

    guild_id: int
    channel_id: int
    topic: str | None = None
    min_upvotes: int = 0
    sources: Source = Source.HF | Source.ARXIV
    mode: FeedMode = "instant"
    digest_hour: int = 9
    timezone: str = "UTC"
    threads: bool = False
    created_by: int | None = None


@dataclass(frozen=True)
class Feed(FeedConfig):
    id: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    query_id: int | None = None
    last_digest_at: datetime | None = None

    @property
    def enabled(self) -> bool:
        return self.disabled_reason is None


_COLUMNS = (
    "id, guild_id, channel_id, topic, min_upvotes, sources, mode, digest_hour, timezone, threads, created_by, "
    "created_at, updated_at, disabled_reason, disabled_at, query_id, last_digest_at"
)


_feed = row_mapper(
    Feed,
    {"sources": Source, "threads": bool, **times("created_at", "updated_at", "disabled_at", "last_digest_at")},
)


class FeedRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(
        self, conn: aiosqlite.Connection, config: FeedConfig, query_id: int | None = None
    ) -> tuple[Feed, bool]:
        """Create the channel's feed or replace its settings (re-enabling it); True when it is new."""
        now = int(time.time())
        async with conn.execute("SELECT id FROM feeds WHERE channel_id = ?", (config.channel_id,)) as cursor:
            existed = await cursor.fetchone() is not None
        async with conn.execute(
            "INSERT INTO feeds (guild_id, channel_id, topic, min_upvotes, sources, mode, digest_hour, timezone, "
            "threads, created_by, created_at, updated_at, query_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (channel_id) DO UPDATE SET guild_id = excluded.guild_id, topic = excluded.topic, "
            "min_upvotes = excluded.min_upvotes, sources = excluded.sources, mode = excluded.mode, "
            "digest_hour = excluded.digest_hour, timezone = excluded.timezone, threads = excluded.threads, "
            "updated_at = excluded.updated_at, query_id = excluded.query_id, "
            "disabled_reason = NULL, disabled_at = NULL, "
            # A changed digest schedule starts counting from now, like a new feed.
            "last_digest_at = CASE WHEN feeds.mode = excluded.mode AND feeds.digest_hour = excluded.digest_hour "
            "AND feeds.timezone = excluded.timezone THEN feeds.last_digest_at ELSE excluded.updated_at END "
            f"RETURNING {_COLUMNS}",
            (
                config.guild_id,
                config.channel_id,
                config.topic,
                config.min_upvotes,
                int(config.sources),
                config.mode,
                config.digest_hour,
                config.timezone,
                int(config.threads),
                config.created_by,
                now,
                now,
                query_id,
            ),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return _feed(row), not existed

    async def get(self, channel_id: int) -> Feed | None:
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM feeds WHERE channel_id = ?", (channel_id,))
        return None if row is None else _feed(row)

    async def for_guild(self, guild_id: int) -> list[Feed]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM feeds WHERE guild_id = ? ORDER BY created_at, id", (guild_id,)
        )
        return [_feed(row) for row in rows]

    async def all_enabled(self) -> list[Feed]:
        rows = await self.db.fetchall(f"SELECT {_COLUMNS} FROM feeds WHERE disabled_reason IS NULL ORDER BY id")
        return [_feed(row) for row in rows]

    async def remove(self, conn: aiosqlite.Connection, channel_id: int) -> Feed | None:
        async with conn.execute(
            f"DELETE FROM feeds WHERE channel_id = ? RETURNING {_COLUMNS}", (channel_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _feed(row)

    async def remove_guild(self, conn: aiosqlite.Connection, guild_id: int) -> int:
        async with conn.execute("DELETE FROM feeds WHERE guild_id = ? RETURNING id", (guild_id,)) as cursor:
            return len(list(await cursor.fetchall()))

    async def disable(self, conn: aiosqlite.Connection, channel_id: int, reason: str) -> Feed | None:
        async with conn.execute(
            "UPDATE feeds SET disabled_reason = ?, disabled_at = ? WHERE channel_id = ? AND disabled_reason IS NULL "
            f"RETURNING {_COLUMNS}",
            (reason, int(time.time()), channel_id),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _feed(row)

    async def by_id(self, feed_id: int) -> Feed | None:
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM feeds WHERE id = ?", (feed_id,))
        return None if row is None else _feed(row)

    async def digests(self) -> list[Feed]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM feeds WHERE mode = 'digest' AND disabled_reason IS NULL ORDER BY id"
        )
        return [_feed(row) for row in rows]

    async def set_last_digest(self, conn: aiosqlite.Connection, feed_id: int, at: int) -> None:
        await conn.execute("UPDATE feeds SET last_digest_at = ? WHERE id = ?", (at, feed_id))
