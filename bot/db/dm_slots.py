"""The DM side of enqueueing: each member's slots for today, filled with their best matches, the rest counted.

A poll's matches (``temp.match_pairs``) can be millions of (member, paper) pairs while a member receives at most
``DM_DAILY_CAP`` papers a day, so only the rows that fit are written. :func:`plan` decides every member's rows on a
read snapshot, into temporary tables; :func:`write` then writes one range of members per short transaction
(``bot.delivery.deciding``). Rules and why: docs/delivery.md ("The daily DM cap is applied when rows are queued");
figures: docs/benchmarks.md.
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
_NO_CUT = 1 << 62  # a query's cut-off rank when nothing is pruned
FIRST_USER, END = -(1 << 63), (1 << 63) - 1  # the bounds of every member range: [FIRST_USER, END)
# Scratch tables of one decision, on its own connection (Database.session), which closes after it.
_DM_TABLES = (
    "dm_rank (pk INTEGER PRIMARY KEY, rank INTEGER NOT NULL UNIQUE, is_new INTEGER NOT NULL, arxiv_id TEXT NOT NULL)",
    "dm_pairs (user_id INTEGER NOT NULL, rank INTEGER NOT NULL, topic_id INTEGER NOT NULL, is_new INTEGER NOT NULL, "
    "PRIMARY KEY (user_id, rank)) WITHOUT ROWID",
    "dm_used (user_id INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
    "dm_users (user_id INTEGER PRIMARY KEY, new_pairs INTEGER NOT NULL, pairs INTEGER NOT NULL, room INTEGER NOT NULL, "
    "cutoff INTEGER, held INTEGER, at_least INTEGER NOT NULL DEFAULT 0)",
    "dm_qp (query_id INTEGER NOT NULL, rank INTEGER NOT NULL, is_new INTEGER NOT NULL, "
    "PRIMARY KEY (query_id, rank)) WITHOUT ROWID",
    "dm_q (query_id INTEGER PRIMARY KEY, new_n INTEGER NOT NULL, cutoff INTEGER)",
)


@dataclass(frozen=True)
class TopicRows:
    rows: int  # DM rows queued
    held: int  # new matches past their user's daily cap: counted, not queued (a lower bound when pruned)


async def _count(conn: aiosqlite.Connection, sql: str, params: Sequence[object] = ()) -> int:
    """A number read inside the caller's transaction (``Database.fetchval`` reads on the reader connection)."""
    async with conn.execute(sql, params) as cursor:
        row = await cursor.fetchone()
    return 0 if row is None or row[0] is None else int(row[0])


async def plan(conn: aiosqlite.Connection, *, cap: int, day: int, new_pks: Sequence[int], prune: bool = True) -> None:
    """Decide, on ``conn``'s snapshot, each user's DM rows for the batch: one per (user, paper) however many of the
    user's topics match, up to what each user may still get today. Writes only temporary tables.

    A user's room is ``cap`` minus their open DM rows and those sent since ``day`` (midnight UTC). It goes to
    their best matches (:data:`PAPER_RANK`); the papers new to the archive (``new_pks``) left out are counted for
    ``users.dm_held`` and get no row.

    Set-based, in SQLite, without a sort or a window function over the pairs (millions at 100k topics): the
    batch's papers are ranked once (a few hundred rows); topics are read in user order and each (user, paper)
    pair lands once in a table keyed by (user, rank), so each user's pairs arrive together and come out best
    first; each user's cut-off is then one short index walk.

    ``prune``: before joining to users, each query keeps only its pairs up to its ``cap``-th new paper. Exact for
    who gets the slots (the ranking is per paper: a pair past that point has ``cap`` better new papers for every
    user of the query), and about 2.7x fewer pairs at the benchmark's selectivity. The held count is then exact
    unless a user has a pruned query and another matching one: it becomes a lower bound (the larger of the pruned
    union and the user's largest query), flagged in ``users.dm_held_at_least`` so the note says "at least".
    """
    await clear(conn)
    await conn.execute(
        "INSERT INTO temp.dm_rank (pk, rank, is_new, arxiv_id) "
        f"SELECT p.pk, ROW_NUMBER() OVER (ORDER BY {PAPER_RANK}), "
        "  p.pk IN (SELECT value FROM json_each(?)), p.arxiv_id "
        "FROM temp.batch_papers b CROSS JOIN papers p ON p.pk = b.pk",  # the batch outside: not a scan of papers
        (json.dumps(list(new_pks)),),
    )
    # The poll's pairs by (query, rank): read per topic in user order below, and cut per query when pruning.
    await conn.execute(
        "INSERT INTO temp.dm_qp (query_id, rank, is_new) "
        "SELECT m.query_id, r.rank, r.is_new FROM temp.match_pairs m JOIN temp.dm_rank r ON r.pk = m.paper_pk"
    )
    await conn.execute(
        f"INSERT INTO temp.dm_q (query_id, new_n, cutoff) SELECT query_id, SUM(is_new), {_NO_CUT} "
        "FROM temp.dm_qp GROUP BY query_id"
    )
    if prune:
        await conn.execute(
            "UPDATE temp.dm_q SET cutoff = (SELECT x.rank FROM temp.dm_qp x WHERE x.query_id = dm_q.query_id "
            "  AND x.is_new ORDER BY x.rank LIMIT 1 OFFSET ?) WHERE new_n > ?",
            (cap - 1, cap),
        )
    # Each (user, paper) once, the earliest matching topic noted; a paper that already has the user's row (an
    # update) is not offered again.
    await conn.execute(
        "INSERT INTO temp.dm_pairs (user_id, rank, topic_id, is_new) "
        "SELECT t.user_id, r.rank, t.id, r.is_new FROM topics t JOIN temp.dm_q q ON q.query_id = t.query_id "
        "JOIN temp.dm_qp m ON m.query_id = t.query_id AND m.rank <= q.cutoff JOIN temp.dm_rank r ON r.rank = m.rank "
        "WHERE r.is_new OR NOT EXISTS (SELECT 1 FROM deliveries d "
        "  WHERE d.target_kind = 'user' AND d.target_id = t.user_id AND d.paper_id = r.arxiv_id) "
        "ORDER BY t.user_id "
        "ON CONFLICT (user_id, rank) DO UPDATE SET topic_id = MIN(topic_id, excluded.topic_id)"
    )
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
        "INSERT INTO temp.dm_users (user_id, new_pairs, pairs, room) "
        "SELECT p.user_id, SUM(p.is_new), COUNT(*), "
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
    # The new papers each user was offered that did not fit: counted for the daily-limit note, not queued. With a
    # pruned query among several matching ones, the user's new matches are at least the larger of the pruned
    # union and their largest query: a lower bound, flagged.
    if prune:
        await conn.execute(
            "UPDATE temp.dm_users SET new_pairs = MAX(new_pairs, b.largest), at_least = b.pruned AND b.matching > 1 "
            "FROM (SELECT t.user_id, MAX(q.new_n) AS largest, MAX(q.cutoff < ?) AS pruned, "
            "  SUM(q.new_n > 0) AS matching FROM topics t JOIN temp.dm_q q ON q.query_id = t.query_id "
            "  GROUP BY t.user_id) b WHERE b.user_id = dm_users.user_id",
            (_NO_CUT,),
        )
    await conn.execute(
        "UPDATE temp.dm_users SET held = new_pairs - ("
        "  SELECT COUNT(*) FROM temp.dm_pairs p WHERE p.user_id = dm_users.user_id AND p.rank <= dm_users.cutoff "
        "  AND p.is_new)"
    )


async def ranges(conn: aiosqlite.Connection, *, start: int, rows: int) -> list[int]:
    """Upper bounds (exclusive) of the member ranges from ``start`` on, each about ``rows`` DM rows to write.

    The last bound is :data:`END`. A member never spans two ranges, and a member with a held count but no row
    still counts as one row (their ``users`` update).
    """
    async with conn.execute(
        "SELECT user_id, MAX(MIN(room, pairs), 1) FROM temp.dm_users "
        "WHERE user_id >= ? AND (room > 0 OR held > 0) ORDER BY user_id",
        (start,),
    ) as cursor:
        members = [(int(row[0]), int(row[1])) for row in await cursor.fetchall()]
    bounds: list[int] = []
    filled = 0
    for user_id, count in members:
        if filled and filled + count > rows:
            bounds.append(user_id)
            filled = 0
        filled += count
    return [*bounds, END]


async def write(conn: aiosqlite.Connection, now: int, *, day: int, low: int, high: int) -> TopicRows:
    """The planned rows and held counts of the users in [``low``, ``high``), in the caller's transaction.

    A member whose topics all went since the snapshot (``/mydata delete``, the last ``/unsubscribe``) gets
    nothing: the rows would be DMs they no longer asked for, and the held count would re-create their record.
    """
    still = "u.user_id >= ? AND u.user_id < ? AND EXISTS (SELECT 1 FROM topics t WHERE t.user_id = u.user_id)"
    async with conn.execute(
        "INSERT OR IGNORE INTO deliveries (target_kind, target_id, paper_id, topic_id, status, created_at) "
        "SELECT 'user', u.user_id, r.arxiv_id, p.topic_id, 'pending', ? "
        "FROM temp.dm_users u JOIN temp.dm_pairs p ON p.user_id = u.user_id AND p.rank <= u.cutoff "
        f"JOIN temp.dm_rank r ON r.rank = p.rank WHERE {still} ORDER BY u.user_id, p.rank",
        (now, low, high),
    ) as cursor:
        rows = cursor.rowcount
    await conn.execute(
        "INSERT INTO users (user_id, dm_held, dm_held_day, dm_held_at_least) "
        f"SELECT u.user_id, u.held, ?, u.at_least FROM temp.dm_users u WHERE u.held > 0 AND {still} "
        "ON CONFLICT (user_id) DO UPDATE SET dm_held = excluded.dm_held + "
        "  CASE WHEN users.dm_held_day = excluded.dm_held_day THEN users.dm_held ELSE 0 END, "
        "dm_held_at_least = excluded.dm_held_at_least OR "
        "  (users.dm_held_day = excluded.dm_held_day AND users.dm_held_at_least), "
        "dm_held_day = excluded.dm_held_day",
        (day, low, high),
    )
    held = await _count(conn, f"SELECT SUM(u.held) FROM temp.dm_users u WHERE u.held > 0 AND {still}", (low, high))
    return TopicRows(rows=rows, held=held)


async def clear(conn: aiosqlite.Connection) -> None:
    """Empty the scratch tables (created if this connection has none yet)."""
    for table in _DM_TABLES:
        await conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table}")
        await conn.execute(f"DELETE FROM temp.{table.split(' ', 1)[0]}")
