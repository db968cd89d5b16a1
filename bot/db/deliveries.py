"""SQL for the delivery outbox: enqueueing eligible (target, paper) pairs and tracking each send.

Every row is unique on (target, paper), so a paper reaches a channel or a user at most once, ever:
enqueueing is ``INSERT OR IGNORE``, and rows are never deleted while their paper could become eligible
again (see :meth:`DeliveryRepository.prune`).

Row life: ``pending`` → ``sending`` (claimed into a batch whose nonce is stored *before* the request goes
out) → ``sent`` (with the Discord message id) | ``failed`` (a permanent error, or retries exhausted) |
``skipped`` (deliberately never sent: before a feed/topic existed, feed removed, daily cap).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import aiosqlite

from bot.db.dm_slots import PAPER_TIME as PAPER_TIME  # re-exported: one definition, also used here
from bot.db.rows import row_mapper

if TYPE_CHECKING:
    from bot.db import Database
    from bot.db.feeds import Feed

TargetKind = Literal["channel", "user"]
OPEN = ("pending", "sending")


@dataclass(frozen=True)
class Delivery:
    id: int
    target_kind: TargetKind
    target_id: int
    paper_id: str
    guild_id: int | None
    feed_id: int | None
    topic_id: int | None
    status: str
    batch: str | None
    claimed_at: int | None
    attempts: int
    next_attempt_at: float | None


_delivery = row_mapper(Delivery)


@dataclass(frozen=True)
class Record:
    """A row as explained to people: what happened to one (target, paper) pair and when."""

    target_kind: TargetKind
    target_id: int
    paper_id: str
    guild_id: int | None
    feed_id: int | None
    topic_id: int | None
    status: str
    created_at: int
    sent_at: int | None
    message_id: int | None
    last_error: str | None
    last_error_code: int | None
    attempts: int

    @property
    def created_at_dt(self) -> datetime:
        return datetime.fromtimestamp(self.created_at, UTC)

    @property
    def sent_at_dt(self) -> datetime | None:
        return None if self.sent_at is None else datetime.fromtimestamp(self.sent_at, UTC)


_RECORD_FIELDS = (
    "target_kind, target_id, paper_id, guild_id, feed_id, topic_id, status, created_at, sent_at, message_id, "
    "last_error, last_error_code, attempts"
)


def _record(row: sqlite3.Row) -> Record:
    return Record(**{name: row[name] for name in _RECORD_FIELDS.split(", ")})


_FIELDS = (
    "id, target_kind, target_id, paper_id, guild_id, feed_id, topic_id, status, batch, claimed_at, attempts, "
    "next_attempt_at"
)


@dataclass(frozen=True)
class Forgotten:
    pending: int  # DMs that were still to be sent
    history: int  # other rows: sent long ago, failed, skipped
    kept: int  # sent rows exactly-once still needs, stripped of everything else


@dataclass
class Counts:
    pending: int = 0
    sent_24h: int = 0
    failed: int = 0


class DeliveryRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- enqueueing (bot.delivery.deciding: feeds here, DMs in bot.db.dm_slots) --------------------------

    async def enqueue_feeds(self, conn: aiosqlite.Connection, now: int) -> int:
        """Every enabled feed × every paper of ``temp.batch_papers`` that passes the feed's filters.

        Feeds without a topic take every batch paper; feeds with one take their query's pairs in
        ``temp.match_pairs``, read in one pass that looks each pair's feeds up by query (``feeds_query``). Asking
        "does this feed's query match this paper" once per (feed, paper) instead scanned the unindexed pairs
        table each time: 50 topic feeds, 1,000 papers and 200k pairs took 259 s, in the write lock.
        """
        filters = (
            "f.disabled_reason IS NULL AND (p.sources & f.sources) != 0 AND COALESCE(p.upvotes, 0) >= f.min_upvotes"
        )
        columns = (
            f"f.channel_id, p.arxiv_id, f.guild_id, f.id AS feed_id, {PAPER_TIME} AS t, COALESCE(p.upvotes, 0) AS up"
        )
        async with conn.execute(
            "INSERT OR IGNORE INTO deliveries "
            "(target_kind, target_id, paper_id, guild_id, feed_id, status, created_at) "
            "SELECT 'channel', channel_id, arxiv_id, guild_id, feed_id, 'pending', ? FROM ("
            f"  SELECT {columns} FROM temp.batch_papers b CROSS JOIN papers p ON p.pk = b.pk CROSS JOIN feeds f "
            f"  WHERE f.query_id IS NULL AND {filters} "
            "  UNION ALL "
            f"  SELECT {columns} FROM temp.match_pairs m CROSS JOIN feeds f ON f.query_id = m.query_id "
            f"  CROSS JOIN papers p ON p.pk = m.paper_pk WHERE {filters}"
            ") ORDER BY feed_id, t, up DESC, arxiv_id",
            (now,),
        ) as cursor:
            return cursor.rowcount

    async def mark_feed_matches(
        self,
        conn: aiosqlite.Connection,
        feed: Feed,
        fts: str | None,
        *,
        since: int,
        status: str,
        reason: str,
        now: int,
        limit: int = -1,
    ) -> int:
        """Rows for what ``feed`` matches among papers since ``since`` (top upvoted first), unless present."""
        filters = f"{PAPER_TIME} >= ? AND (p.sources & ?) != 0 AND COALESCE(p.upvotes, 0) >= ?"
        params: list[object] = [since, int(feed.sources), feed.min_upvotes]
        if fts is None:
            sql = f"SELECT p.arxiv_id FROM papers p WHERE {filters}"
        else:
            sql = (
                "SELECT p.arxiv_id FROM papers_fts JOIN papers p ON p.pk = papers_fts.rowid "
                f"WHERE papers_fts MATCH ? AND {filters}"
            )
            params.insert(0, fts)
        return await self._mark_existing(
            conn,
            kind="channel",
            target_id=feed.channel_id,
            paper_sql=f"{sql} ORDER BY COALESCE(p.upvotes, 0) DESC, {PAPER_TIME} DESC",
            params=params,
            status=status,
            reason=reason,
            guild_id=feed.guild_id,
            feed_id=feed.id,
            now=now,
            limit=limit,
        )

    async def mark_topic_matches(
        self, conn: aiosqlite.Connection, *, user_id: int, topic_id: int, fts: str, since: int, reason: str, now: int
    ) -> int:
        return await self._mark_existing(
            conn,
            kind="user",
            target_id=user_id,
            paper_sql=(
                "SELECT p.arxiv_id FROM papers_fts JOIN papers p ON p.pk = papers_fts.rowid "
                f"WHERE papers_fts MATCH ? AND {PAPER_TIME} >= ?"
            ),
            params=[fts, since],
            status="skipped",
            reason=reason,
            topic_id=topic_id,
            now=now,
        )

    async def _mark_existing(
        self,
        conn: aiosqlite.Connection,
        *,
        kind: TargetKind,
        target_id: int,
        paper_sql: str,
        params: Sequence[object],
        status: str,
        reason: str,
        guild_id: int | None = None,
        feed_id: int | None = None,
        topic_id: int | None = None,
        now: int,
        limit: int = -1,
    ) -> int:
        """Insert rows for the papers ``paper_sql`` selects (a SELECT of ``p.arxiv_id``), unless present."""
        async with conn.execute(
            "INSERT OR IGNORE INTO deliveries (target_kind, target_id, paper_id, guild_id, feed_id, topic_id, "
            "status, created_at, last_error) "
            f"SELECT ?, ?, arxiv_id, ?, ?, ?, ?, ?, ? FROM ({paper_sql}) LIMIT ?",
            (kind, target_id, guild_id, feed_id, topic_id, status, now, reason, *params, limit),
        ) as cursor:
            return cursor.rowcount

    async def close_open(
        self,
        conn: aiosqlite.Connection,
        *,
        kind: TargetKind,
        target_id: int,
        status: str,
        reason: str,
        code: int | None = None,
    ) -> int:
        """Settle every open row of a target (feed removed: skipped; channel broken: failed, with Discord's code)."""
        async with conn.execute(
            "UPDATE deliveries SET status = ?, last_error = ?, last_error_code = ?, next_attempt_at = NULL "
            "WHERE target_kind = ? AND target_id = ? AND status IN ('pending', 'sending')",
            (status, reason, code, kind, target_id),
        ) as cursor:
            return cursor.rowcount

    async def close_open_in_guild(self, conn: aiosqlite.Connection, guild_id: int, reason: str) -> int:
        async with conn.execute(
            "UPDATE deliveries SET status = 'skipped', last_error = ?, next_attempt_at = NULL "
            "WHERE guild_id = ? AND target_kind = 'channel' AND status IN ('pending', 'sending')",
            (reason, guild_id),
        ) as cursor:
            return cursor.rowcount

    # --- dispatching --------------------------------------------------------------------------------

    async def open_targets(self) -> list[tuple[TargetKind, int, int | None]]:
        """(kind, target id, server id or None) of every target with open rows, oldest queued first."""
        rows = await self.db.fetchall(
            "SELECT target_kind, target_id, MAX(guild_id) AS guild_id, MIN(id) AS first FROM deliveries "
            "WHERE status IN ('pending', 'sending') GROUP BY target_kind, target_id ORDER BY first"
        )
        return [(row["target_kind"], row["target_id"], row["guild_id"]) for row in rows]

    async def open_rows(self, kind: TargetKind, target_id: int, limit: int = 50) -> list[Delivery]:
        rows = await self.db.fetchall(
            f"SELECT {_FIELDS} FROM deliveries WHERE target_kind = ? AND target_id = ? "
            "AND status IN ('pending', 'sending') ORDER BY (status = 'sending') DESC, id LIMIT ?",
            (kind, target_id, limit),
        )
        return [_delivery(row) for row in rows]

    async def batch_rows(self, batch: str) -> list[Delivery]:
        rows = await self.db.fetchall(
            f"SELECT {_FIELDS} FROM deliveries WHERE batch = ? AND status = 'sending' ORDER BY id", (batch,)
        )
        return [_delivery(row) for row in rows]

    async def claim(self, conn: aiosqlite.Connection, ids: Sequence[int], batch: str, now: int) -> None:
        await conn.execute(
            "UPDATE deliveries SET status = 'sending', batch = ?, claimed_at = ?, next_attempt_at = NULL, "
            "attempts = attempts + 1 "
            "WHERE id IN (SELECT value FROM json_each(?)) AND status = 'pending'",
            (batch, now, json.dumps(list(ids))),
        )

    async def start_attempt(self, conn: aiosqlite.Connection, batch: str) -> None:
        await conn.execute(
            "UPDATE deliveries SET attempts = attempts + 1 WHERE batch = ? AND status = 'sending'", (batch,)
        )

    async def mark_sent(
        self, conn: aiosqlite.Connection, batch: str, message_id: int, now: int, *, thread_wanted: bool = False
    ) -> int:
        async with conn.execute(
            "UPDATE deliveries SET status = 'sent', message_id = ?, sent_at = ?, next_attempt_at = NULL, "
            "last_error = NULL, last_error_code = NULL, thread_wanted = ? WHERE batch = ? AND status = 'sending'",
            (message_id, now, int(thread_wanted), batch),
        ) as cursor:
            return cursor.rowcount

    async def threads_wanted(self, limit: int = 500) -> list[tuple[int, int, str]]:
        """Sent feed posts still without their thread: (channel id, message id, paper id)."""
        rows = await self.db.fetchall(
            "SELECT target_id, message_id, paper_id FROM deliveries "
            "WHERE thread_wanted = 1 AND status = 'sent' AND message_id IS NOT NULL ORDER BY id LIMIT ?",
            (limit,),
        )
        return [(int(row[0]), int(row[1]), str(row[2])) for row in rows]

    async def thread_done(self, conn: aiosqlite.Connection, message_id: int) -> None:
        await conn.execute(
            "UPDATE deliveries SET thread_wanted = 0 WHERE message_id = ? AND thread_wanted = 1", (message_id,)
        )

    async def retry_later(
        self, conn: aiosqlite.Connection, batch: str, at: float, error: str, code: int | None
    ) -> None:
        await conn.execute(
            "UPDATE deliveries SET next_attempt_at = ?, last_error = ?, last_error_code = ? "
            "WHERE batch = ? AND status = 'sending'",
            (at, error[:500], code, batch),
        )

    async def fail(self, conn: aiosqlite.Connection, batch: str, error: str, code: int | None) -> None:
        await conn.execute(
            "UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, last_error = ?, last_error_code = ? "
            "WHERE batch = ? AND status = 'sending'",
            (error[:500], code, batch),
        )

    async def unclaim(self, conn: aiosqlite.Connection, batch: str) -> None:
        """Back to pending (DMs paused: nothing was delivered and nothing is lost)."""
        await conn.execute(
            "UPDATE deliveries SET status = 'pending', batch = NULL, claimed_at = NULL, next_attempt_at = NULL "
            "WHERE batch = ? AND status = 'sending'",
            (batch,),
        )

    async def skip(self, conn: aiosqlite.Connection, ids: Sequence[int], reason: str) -> None:
        await conn.execute(
            "UPDATE deliveries SET status = 'skipped', last_error = ? "
            "WHERE id IN (SELECT value FROM json_each(?)) AND status = 'pending'",
            (reason, json.dumps(list(ids))),
        )

    async def sent_since(self, kind: TargetKind, target_id: int, since: int) -> int:
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM deliveries WHERE target_kind = ? AND target_id = ? AND status = 'sent' "
                "AND sent_at >= ?",
                (kind, target_id, since),
            )
            or 0
        )

    async def next_retry_at(self) -> int | None:
        soonest: int | None = await self.db.fetchval(
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'sending'"
        )
        return soonest

    async def status_of(self, kind: TargetKind, target_id: int, paper_id: str) -> str | None:
        status: str | None = await self.db.fetchval(
            "SELECT status FROM deliveries WHERE target_kind = ? AND target_id = ? AND paper_id = ?",
            (kind, target_id, paper_id),
        )
        return status

    async def record(self, kind: TargetKind, target_id: int, paper_id: str) -> Record | None:
        row = await self.db.fetchone(
            f"SELECT {_RECORD_FIELDS} FROM deliveries WHERE target_kind = ? AND target_id = ? AND paper_id = ?",
            (kind, target_id, paper_id),
        )
        return None if row is None else _record(row)

    async def user_history(self, user_id: int, since: int) -> list[Record]:
        """A member's DM rows created or sent since ``since``, newest first (``/mydata export``)."""
        rows = await self.db.fetchall(
            f"SELECT {_RECORD_FIELDS} FROM deliveries WHERE target_kind = 'user' AND target_id = ? "
            "AND MAX(created_at, COALESCE(sent_at, 0)) >= ? ORDER BY id DESC",
            (user_id, since),
        )
        return [_record(row) for row in rows]

    async def forget_user(self, conn: aiosqlite.Connection, user_id: int, *, recent_since: int) -> Forgotten:
        """Delete a member's DM rows except what exactly-once still needs.

        Kept: rows sent for papers listed since ``recent_since``, the only papers a poll could enqueue again,
        stripped to (user, paper, status, sent_at) and pruned like any row. Rows in flight go too: a send
        that fails now must not return them to pending for a member who asked for nothing more.
        """
        async with conn.execute(
            "DELETE FROM deliveries WHERE target_kind = 'user' AND target_id = ? AND NOT ("
            "  status = 'sent' AND paper_id IN ("
            f"    SELECT p.arxiv_id FROM papers p WHERE {PAPER_TIME} >= ?)) RETURNING status",
            (user_id, recent_since),
        ) as cursor:
            statuses = [row[0] for row in await cursor.fetchall()]
        await conn.execute(
            "UPDATE deliveries SET topic_id = NULL, message_id = NULL, last_error = NULL, last_error_code = NULL "
            "WHERE target_kind = 'user' AND target_id = ? AND status = 'sent'",
            (user_id,),
        )
        async with conn.execute(
            "SELECT COUNT(*) FROM deliveries WHERE target_kind = 'user' AND target_id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        pending = sum(status in OPEN for status in statuses)
        return Forgotten(pending=pending, history=len(statuses) - pending, kept=int(row[0]) if row else 0)

    # --- reporting and housekeeping -----------------------------------------------------------------

    async def counts(self, *, guild_id: int | None = None, user_id: int | None = None) -> Counts:
        params: tuple[int, ...]
        if guild_id is not None:
            where, params = "guild_id = ? AND target_kind = 'channel'", (guild_id,)
        elif user_id is not None:
            where, params = "target_kind = 'user' AND target_id = ?", (user_id,)
        else:
            where, params = "1", ()
        row = await self.db.fetchone(
            "SELECT SUM(status IN ('pending', 'sending')) AS pending, "
            "SUM(status = 'sent' AND sent_at >= ?) AS sent, SUM(status = 'failed') AS failed "
            f"FROM deliveries WHERE {where}",
            (int(time.time()) - 86_400, *params),
        )
        if row is None:
            return Counts()
        return Counts(pending=row["pending"] or 0, sent_24h=row["sent"] or 0, failed=row["failed"] or 0)

    async def prune(self, conn: aiosqlite.Connection, *, settled_before: int, papers_before: int) -> int:
        """Delete settled rows older than the retention period whose paper can never be eligible again.

        A paper is only ever enqueued while it is recent (``bot.delivery.outbox.ELIGIBLE_MAX_DAYS``), so once its
        ``PAPER_TIME`` is older than ``papers_before`` no poll can insert its row again: deleting it cannot
        cause a re-post.
        """
        async with conn.execute(
            "DELETE FROM deliveries WHERE status IN ('sent', 'failed', 'skipped') "
            "AND COALESCE(sent_at, created_at) < ? AND paper_id IN ("
            f"  SELECT p.arxiv_id FROM papers p WHERE {PAPER_TIME} < ?)",
            (settled_before, papers_before),
        ) as cursor:
            return cursor.rowcount
