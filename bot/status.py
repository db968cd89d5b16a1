"""What /status reports, gathered in one place so the command and any future health check agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.db import Database
from bot.db.checkpoints import wal_size
from bot.db.deliveries import Counts
from bot.db.feeds import Feed
from bot.db.sources import SourceState
from bot.semantic import Semantic


@dataclass
class Status:
    started_at: datetime
    papers: int
    sources: list[SourceState]
    enabled_sources: list[str]
    next_poll_at: datetime | None
    poll_interval: int
    guild_id: int | None = None  # asked in a server: its feeds and posts are part of the report
    guild_feeds: list[Feed] = field(default_factory=list)
    guild_deliveries: Counts = field(default_factory=Counts)
    your_dms: Counts = field(default_factory=Counts)
    dms_paused: bool = False
    semantic_progress: tuple[int, int] | None = None  # (embedded, total) when semantic search is on
    semantic_off: str | None = None  # why it is off (or still loading)
    wal_bytes: int | None = None  # the write-ahead log's size: the checkpoints keep it bounded
    owed_decisions: int = 0  # stores whose deliveries are not decided yet (bot.delivery.deciding)


async def collect(
    db: Database,
    *,
    started_at: datetime,
    enabled_sources: list[str],
    next_poll_at: datetime | None,
    poll_interval: int,
    guild_id: int | None,
    user_id: int | None = None,
    semantic: Semantic | None = None,
) -> Status:
    states = await db.sources.all()
    return Status(
        started_at=started_at,
        papers=await db.papers.count(),
        sources=[states.get(name) or SourceState(name=name) for name in enabled_sources],
        enabled_sources=enabled_sources,
        next_poll_at=next_poll_at,
        poll_interval=poll_interval,
        guild_id=guild_id,
        guild_feeds=await db.feeds.for_guild(guild_id) if guild_id else [],
        guild_deliveries=await db.deliveries.counts(guild_id=guild_id) if guild_id else Counts(),
        your_dms=await db.deliveries.counts(user_id=user_id) if user_id else Counts(),
        dms_paused=await db.users.is_paused(user_id) if user_id else False,
        semantic_progress=semantic.progress() if semantic is not None and semantic.available else None,
        semantic_off=None if semantic is None or semantic.available else semantic.reason or "unknown reason",
        wal_bytes=wal_size(db.path),
        owed_decisions=await db.decisions.count(),
    )
