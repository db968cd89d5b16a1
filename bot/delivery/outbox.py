"""Deciding what to deliver: which stored papers are owed a decision, and every other change to what is owed.

Each store of papers records its eligible papers (:func:`owe`); ``bot.delivery.deciding`` turns them into outbox
rows. Eligibility: every store re-checks the papers it added or updated that are recent (``ELIGIBLE_DAYS``), because
upvotes grow and a paper can cross a feed's threshold a day later. A paper that is new to the archive is
eligible for longer (``ELIGIBLE_MAX_DAYS``), so papers fetched when a source comes back from an outage are
still delivered. A new feed or topic first marks what is already eligible as ``skipped``: it starts from
papers that become eligible after it was added, never with a flood of old ones.

Whatever depends on the time (enqueue, baselines, prune) takes ``now`` (epoch seconds), so a caller with its
own clock decides what "recent" means; without it, the wall clock.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosqlite

from bot.db import Database
from bot.db.feeds import Feed
from bot.db.papers import StoreResult
from bot.matching import MatchStats
from bot.query import Query

log = logging.getLogger(__name__)

DAY = 86_400
ELIGIBLE_DAYS = 3
ELIGIBLE_MAX_DAYS = 7
BACKFILL_PAPERS = 5
RETENTION_DAYS = 90
DM_DAILY_CAP = 50  # papers per member per UTC day: queued at most, and sent at most (bot.delivery.batches)


def _now(now: int | None) -> int:
    return int(time.time()) if now is None else now


def day_start(now: float) -> int:
    """Midnight UTC of the day ``now`` falls in: where a member's daily DM count starts."""
    return int(datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp())


@dataclass
class EnqueueReport:
    """What deciding one or more stores' deliveries queued (``bot.delivery.deciding``)."""

    papers: int = 0
    channel_rows: int = 0
    user_rows: int = 0
    user_held: int = 0  # new matches past their member's daily cap: counted for the note, not queued
    matching: MatchStats | None = None  # of the last decision
    decisions: int = 0

    def add(self, other: EnqueueReport) -> None:
        self.papers += other.papers
        self.channel_rows += other.channel_rows
        self.user_rows += other.user_rows
        self.user_held += other.user_held
        self.matching = other.matching or self.matching
        self.decisions += other.decisions


async def owe(
    db: Database,
    conn: aiosqlite.Connection,
    stored: StoreResult,
    *,
    now: int | None = None,
    decision: int | None = None,
) -> int | None:
    """Record, inside the storing transaction, that the stored papers' deliveries are owed (``bot.db.decisions``).

    ``bot.delivery.deciding`` decides them after the commit, outside the write lock. A later chunk of the same
    poll passes the first chunk's ``decision``, so one poll's papers are ranked for DM slots together.
    Returns the decision, or None if no paper is eligible.
    """
    now = _now(now)
    new_ids = [paper.id for paper in stored.new]
    updated_ids = [paper.id for paper in stored.updated]
    if not new_ids and not updated_ids:
        return decision
    return await db.decisions.record(
        conn,
        decision=decision,
        now=now,
        new_ids=new_ids,
        new_since=now - ELIGIBLE_MAX_DAYS * DAY,
        updated_ids=updated_ids,
        updated_since=now - ELIGIBLE_DAYS * DAY,
    )


async def baseline_feed(
    db: Database,
    conn: aiosqlite.Connection,
    feed: Feed,
    query: Query | None,
    *,
    backfill: bool,
    now: int | None = None,
) -> tuple[int, int]:
    """Mark what the feed would match right now as already handled; with ``backfill``, queue today's top few.

    Returns (queued for backfill, skipped).
    """
    now = _now(now)
    fts = query.fts() if query else None
    queued = 0
    if backfill:
        queued = await db.deliveries.mark_feed_matches(
            conn, feed, fts, since=now - DAY, status="pending", reason="", limit=BACKFILL_PAPERS, now=now
        )
    skipped = await db.deliveries.mark_feed_matches(
        conn,
        feed,
        fts,
        since=now - ELIGIBLE_MAX_DAYS * DAY,
        status="skipped",
        reason="already listed when the feed was added",
        now=now,
    )
    return queued, skipped


async def baseline_topic(
    db: Database, conn: aiosqlite.Connection, user_id: int, topic_id: int, query: Query, *, now: int | None = None
) -> int:
    now = _now(now)
    return await db.deliveries.mark_topic_matches(
        conn,
        user_id=user_id,
        topic_id=topic_id,
        fts=query.fts(),
        since=now - ELIGIBLE_MAX_DAYS * DAY,
        reason="already listed when the topic was added",
        now=now,
    )


async def channel_gone(db: Database, channel_id: int, reason: str) -> bool:
    """A feed channel was deleted: remove its feed; nothing more is sent there. True if there was one."""
    async with db.transaction() as conn:
        removed = await db.feeds.remove(conn, channel_id)
        await db.deliveries.close_open(conn, kind="channel", target_id=channel_id, status="skipped", reason=reason)
        await db.queries.collect_garbage(conn)
    return removed is not None


async def guild_gone(db: Database, guild_id: int) -> int:
    """The bot left or was removed from a server: its feeds go, and so does everything queued for them."""
    async with db.transaction() as conn:
        removed = await db.feeds.remove_guild(conn, guild_id)
        await db.deliveries.close_open_in_guild(conn, guild_id, "the bot left the server")
        await db.queries.collect_garbage(conn)
    return removed


async def resume_dms(db: Database, user_id: int) -> bool:
    """The member is back (they used a command): try their DMs again. True if they were paused (tell them why)."""
    async with db.transaction() as conn:
        return await db.users.resume_dms(conn, user_id)


async def prune(db: Database, *, now: int | None = None) -> int:
    cutoff = _now(now) - RETENTION_DAYS * DAY
    async with db.transaction() as conn:
        return await db.deliveries.prune(conn, settled_before=cutoff, papers_before=cutoff)
