"""The DM side of enqueueing: each member's slots for today, filled with their best matches, the rest counted.

A poll's matches (``temp.match_pairs``) can be millions of (member, paper) pairs while a member receives at most
``DM_DAILY_CAP`` papers a day, so only the rows that fit are written, inside the poll's transaction. Rules and why:
docs/delivery.md ("The daily DM cap is applied when rows are queued"); figures: docs/benchmarks.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

# When a paper counts as recent: its daily listing, else its publication, else when we first saw it (the clock of
# every eligibility rule in bot.db.deliveries too).
PAPER_TIME = "COALESCE(p.listed_at, p.published_at, p.first_seen_at)"
# The batch's papers in the order they win a member's daily DM slots: most upvoted (what readers of the day picked
# out; arXiv-only papers have none), then newest.
PAPER_RANK = f"COALESCE(p.upvotes, 0) DESC, {PAPER_TIME} DESC, p.arxiv_id"
# Scratch tables of enqueue, on the writer's connection, emptied after each use.
_DM_TABLES = (
    "dm_rank (pk INTEGER PRIMARY KEY, rank INTEGER NOT NULL UNIQUE, is_new INTEGER NOT NULL, arxiv_id TEXT NOT NULL)",
    "dm_pairs (user_id INTEGER NOT NULL, rank INTEGER NOT NULL, topic_id INTEGER NOT NULL, is_new INTEGER NOT NULL, "
    "PRIMARY KEY (user_id, rank)) WITHOUT ROWID",
    "dm_used (user_id INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
    "dm_users (user_id INTEGER PRIMARY KEY, new_pairs INTEGER NOT NULL, room INTEGER NOT NULL, cutoff INTEGER, "
    "held INTEGER)",
)


@dataclass(frozen=True)
class TopicRows:
    rows: int  # DM rows queued
    held: int  # new matches past their user's daily cap: counted, not queued


async def _count(conn: aiosqlite.Connection, sql: str, params: Sequence[object] = ()) -> int:
    """A number read inside the caller's transaction (``Database.fetchval`` reads on the reader connection)."""
    async with conn.execute(sql, params) as cursor:
        row = await cursor.fetchone()
    return 0 if row is None or row[0] is None else int(row[0])


async def enqueue(conn: aiosqlite.Connection, now: int, *, cap: int, day: int, new_ids: Sequence[str]) -> TopicRows:
    """One row per (user, paper) however many of the user's topics match, up to what each user may still get.

    A user's room is ``cap`` minus their open DM rows and those sent since ``day`` (midnight UTC). It goes to
    their best matches (:data:`PAPER_RANK`); the papers new to the archive (``new_ids``) left out are counted in
    ``users.dm_held`` for ``day`` and get no row.

    Set-based, in SQLite, without a sort or a window function over the pairs (millions at 100k topics): the
    batch's papers are ranked once (a few hundred rows); topics are read in user order and each (user, paper)
    pair lands once in a table keyed by (user, rank), so each user's pairs arrive together and come out best
    first; each user's cut-off is then one short index walk, and only the rows up to it are written.
    """
    for table in _DM_TABLES:
        await conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table}")
        await conn.execute(f"DELETE FROM temp.{table.split(' ', 1)[0]}")
    await conn.execute(
        "INSERT INTO temp.dm_rank (pk, rank, is_new, arxiv_id) "
        f"SELECT p.pk, ROW_NUMBER() OVER (ORDER BY {PAPER_RANK}), "
        "  p.arxiv_id IN (SELECT value FROM json_each(?)), p.arxiv_id "
        "FROM temp.batch_papers b JOIN papers p ON p.pk = b.pk",
        (json.dumps(list(new_ids)),),
    )
    # Each (user, paper) once, the earliest matching topic noted; a paper that already has the user's row (an
    # update) is not offered again. The index lets topics be read in user order (see the docstring); it is
    # dropped again below, so the next poll's matcher does not maintain it.
    await conn.execute("CREATE INDEX IF NOT EXISTS temp.match_pairs_query ON match_pairs (query_id, paper_pk)")
    await conn.execute(
        "INSERT INTO temp.dm_pairs (user_id, rank, topic_id, is_new) "
        "SELECT t.user_id, r.rank, t.id, r.is_new FROM topics t "
        "JOIN temp.match_pairs m ON m.query_id = t.query_id JOIN temp.dm_rank r ON r.pk = m.paper_pk "
        "WHERE r.is_new OR NOT EXISTS (SELECT 1 FROM deliveries d "
        "  WHERE d.target_kind = 'user' AND d.target_id = t.user_id AND d.paper_id = r.arxiv_id) "
        "ORDER BY t.user_id "
        "ON CONFLICT (user_id, rank) DO UPDATE SET topic_id = MIN(topic_id, excluded.topic_id)"
    )
    await conn.execute("DROP INDEX IF EXISTS temp.match_pairs_query")
    # Each user's room: the cap less their open rows (any day's: they go out before anything new) and today's
    # sent ones; the cut-off is the rank of the last pair that fits.
    await conn.execute(
        "INSERT INTO temp.dm_used (user_id, n) SELECT target_id, COUNT(*) FROM ("
        "  SELECT target_id FROM deliveries WHERE target_kind = 'user' AND status IN ('pending', 'sending') "
        "  UNION ALL "
        "  SELECT target_id FROM deliveries WHERE status = 'sent' AND sent_at >= ? AND target_kind = 'user'"
        ") GROUP BY target_id",
        (day,),
    )
    await conn.execute(
        "INSERT INTO temp.dm_users (user_id, new_pairs, room) "
        "SELECT p.user_id, SUM(p.is_new), "
        "  ? - COALESCE((SELECT u.n FROM temp.dm_used u WHERE u.user_id = p.user_id), 0) "
        "FROM temp.dm_pairs p GROUP BY p.user_id",
        (cap,),
    )
    # The cut-off: the rank of the room-th pair, one short index walk per user. OFFSET cannot be correlated,
    # so one statement per distinct room (at most ``cap`` of them; usually one).
    await conn.execute("UPDATE temp.dm_users SET cutoff = -1 WHERE room <= 0")
    async with conn.execute("SELECT DISTINCT room FROM temp.dm_users WHERE room > 0") as cursor:
        rooms = [int(row[0]) for row in await cursor.fetchall()]
    for room in rooms:
        await conn.execute(
            "UPDATE temp.dm_users SET cutoff = COALESCE((SELECT p.rank FROM temp.dm_pairs p "
            f"  WHERE p.user_id = dm_users.user_id ORDER BY p.rank LIMIT 1 OFFSET ?), {1 << 62}) WHERE room = ?",
            (room - 1, room),
        )
    async with conn.execute(
        "INSERT OR IGNORE INTO deliveries (target_kind, target_id, paper_id, topic_id, status, created_at) "
        "SELECT 'user', u.user_id, r.arxiv_id, p.topic_id, 'pending', ? "
        "FROM temp.dm_users u JOIN temp.dm_pairs p ON p.user_id = u.user_id AND p.rank <= u.cutoff "
        "JOIN temp.dm_rank r ON r.rank = p.rank ORDER BY u.user_id, p.rank",
        (now,),
    ) as cursor:
        rows = cursor.rowcount
    # The new papers each user was offered that did not fit: counted for the daily-limit note, not queued.
    await conn.execute(
        "UPDATE temp.dm_users SET held = new_pairs - ("
        "  SELECT COUNT(*) FROM temp.dm_pairs p WHERE p.user_id = dm_users.user_id AND p.rank <= dm_users.cutoff "
        "  AND p.is_new)"
    )
    await conn.execute(
        "INSERT INTO users (user_id, dm_held, dm_held_day) "
        "SELECT user_id, held, ? FROM temp.dm_users WHERE held > 0 "
        "ON CONFLICT (user_id) DO UPDATE SET dm_held = excluded.dm_held + "
        "  CASE WHEN users.dm_held_day = excluded.dm_held_day THEN users.dm_held ELSE 0 END, "
        "dm_held_day = excluded.dm_held_day",
        (day,),
    )
    held = await _count(conn, "SELECT SUM(held) FROM temp.dm_users")
    for table in _DM_TABLES:
        await conn.execute(f"DELETE FROM temp.{table.split(' ', 1)[0]}")
    return TopicRows(rows=rows, held=held)
