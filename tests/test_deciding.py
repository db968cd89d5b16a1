"""Deciding a store's deliveries outside its transaction (``bot.delivery.deciding``): exactly once, resumable.

Real SQLite files, the real percolator and DM planner. The reference for every scenario is the same archive
decided in one go; a crash between member ranges, a second process deciding at the same time, or a member
leaving meanwhile must end in the same rows and held counts (or, for the member who left, in none).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import archive, delivery
from bot.db import Database, dm_slots
from bot.db.feeds import FeedConfig
from bot.delivery import deciding
from bot.delivery.plan import DM_DAILY_CAP
from bot.feeds import save_feed
from bot.matching import match
from bot.models import Paper
from bot.mydata import delete
from bot.subscriptions import subscribe
from testing.factories import make_paper
from testing.sqlite_faults import refusing

NOON = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
NOW = int(NOON.timestamp())
MEMBERS = [1_000 + n for n in range(12)]


def papers(first: int, count: int) -> list[Paper]:
    return [
        make_paper(
            f"2611.{first + n:05d}",
            f"A benchmark study number {first + n}" + (" of graphs" if n % 4 == 0 else ""),
            abstract=f"We benchmark things, experiment {first + n}.",
            upvotes=n % 17,
            listed_at=NOON - timedelta(minutes=n),
        )
        for n in range(count)
    ]


async def build(path: Path) -> Database:
    """A server feed, members with one to three topics, and a day already under way: some DMs sent, some open."""
    db = await Database.open(path)
    await save_feed(db, FeedConfig(guild_id=1, channel_id=2), None)
    for n, member in enumerate(MEMBERS):
        await subscribe(db, member, "benchmark")
        if n % 3 == 0:
            await subscribe(db, member, "graphs")
        if n % 4 == 0:
            await subscribe(db, member, "study -graphs")
    await archive.store(db, papers(10_000, 20), now=NOW - 3600)
    async with db.transaction() as conn:  # half the members read this morning's DMs already
        await conn.execute(
            "UPDATE deliveries SET status = 'sent', sent_at = ? WHERE target_kind = 'user' AND target_id % 2 = 0",
            (NOW - 1800,),
        )
    return db


async def owe(db: Database, batch: list[Paper]) -> int:
    """A poll's store without its deciding: the papers and their owed decision, committed."""
    async with db.transaction() as conn:
        _, decision = await archive.store_in(db, conn, batch, now=NOW)
    assert decision is not None
    return decision


async def outcome(db: Database) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rows = await db.fetchall(
        "SELECT target_kind, target_id, paper_id, topic_id, status FROM deliveries ORDER BY 1, 2, 3"
    )
    users = await db.fetchall("SELECT user_id, dm_held, dm_held_day, dm_held_at_least FROM users ORDER BY 1")
    return [tuple(row) for row in rows], [tuple(row) for row in users]


@pytest.fixture
async def reference(tmp_path: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The poll below decided in one go, in one range: what every other way of deciding it must end with."""
    db = await build(tmp_path / "reference.db")
    try:
        await owe(db, papers(11_000, 90))
        report = await deciding.decide(db, range_rows=10**9)
        assert report.decisions == 1 and report.user_held > 0  # the cap bites: the held counts are tested too
        assert report.user_rows > 0 and report.channel_rows == 90
        return await outcome(db)
    finally:
        await db.close()


async def test_member_ranges_write_exactly_what_one_range_writes(tmp_path: Path, reference: Any) -> None:
    db = await build(tmp_path / "ranges.db")
    try:
        await owe(db, papers(11_000, 90))
        report = await deciding.decide(db, range_rows=1)  # every member a transaction of their own
        assert report.decisions == 1
        assert await outcome(db) == reference
        assert await db.decisions.count() == 0
        per_member = await db.fetchall(
            "SELECT target_id, COUNT(*) AS n FROM deliveries WHERE target_kind = 'user' AND status = 'pending' "
            "GROUP BY target_id"
        )
        assert per_member and max(row["n"] for row in per_member) <= DM_DAILY_CAP
    finally:
        await db.close()


async def test_a_crash_between_member_ranges_loses_and_repeats_nothing(tmp_path: Path, reference: Any) -> None:
    db = await build(tmp_path / "crash.db")
    try:
        decision = await owe(db, papers(11_000, 90))
        # A real failure in the fifth member's transaction: SQLite refuses their first row.
        async with refusing(db, "deliveries", when=f"NEW.target_id = {MEMBERS[4]}"):
            partial = await deciding.decide(db, range_rows=1)  # logged, not raised: the next poll tries again
            assert partial.decisions == 0
            mark = await db.fetchval("SELECT written_below FROM decisions WHERE id = ?", (decision,))
            assert mark == MEMBERS[4]  # the feed rows and four members are written; their held counts too
            assert (
                await db.fetchval(
                    "SELECT COUNT(*) FROM deliveries WHERE target_kind = 'channel' AND paper_id LIKE '2611.11%'"
                )
                == 90
            )
        resumed = await deciding.decide(db, range_rows=1)
        assert resumed.decisions == 1 and resumed.channel_rows == 0  # resumed at the mark, not started again
        assert await outcome(db) == reference
    finally:
        await db.close()


async def test_two_processes_deciding_at_once_write_everything_once(tmp_path: Path, reference: Any) -> None:
    path = tmp_path / "shared.db"
    first = await build(path)
    second = await Database.open(path)  # another process on the same file: its own connections and locks
    try:
        await owe(first, papers(11_000, 90))
        reports = await asyncio.gather(deciding.decide(first, range_rows=1), deciding.decide(second, range_rows=1))
        assert sum(report.decisions for report in reports) == 1
        assert await first.decisions.count() == 0
        assert await outcome(first) == reference
    finally:
        await second.close()
        await first.close()


async def wrapped(monkeypatch: pytest.MonkeyPatch, name: str, before: Callable[[], Awaitable[None]]) -> None:
    """Run ``before`` each time deciding calls ``dm_slots.<name>``, then the real function (observing only)."""
    real = getattr(dm_slots, name)

    async def observed(*args: Any, **kwargs: Any) -> Any:
        await before()
        return await real(*args, **kwargs)

    monkeypatch.setattr(dm_slots, name, observed)


async def test_commands_write_while_a_decision_matches_and_plans(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Matching and planning run on a snapshot: the write lock is free (under the old code this deadlocked)."""
    for member in MEMBERS[:3]:
        await subscribe(db, member, "benchmark")
    async with db.transaction() as conn:
        await archive.store_in(db, conn, papers(11_000, 30), now=NOW)
    written: list[str] = []

    async def a_command_writes() -> None:
        async with asyncio.timeout(5), db.transaction() as conn:
            await conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('test', 'x')")
        written.append("during planning")

    await wrapped(monkeypatch, "plan", a_command_writes)
    report = await deciding.decide(db)
    assert written == ["during planning"] and report.decisions == 1 and report.user_rows == 30 * 3


async def test_a_member_who_leaves_while_their_rows_are_decided_gets_none(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/mydata delete between the snapshot and the writes: no DM rows, and no record re-created by a held count."""
    for member in MEMBERS[:3]:
        await subscribe(db, member, "benchmark")
    async with db.transaction() as conn:
        await archive.store_in(db, conn, papers(11_000, 80), now=NOW)

    async def member_leaves() -> None:
        await delete(db, MEMBERS[1], now=NOW)

    await wrapped(monkeypatch, "ranges", member_leaves)
    report = await deciding.decide(db)
    assert report.user_rows == 2 * DM_DAILY_CAP
    assert await db.fetchval("SELECT COUNT(*) FROM deliveries WHERE target_id = ?", (MEMBERS[1],)) == 0
    assert await db.fetchval("SELECT COUNT(*) FROM users WHERE user_id = ?", (MEMBERS[1],)) == 0
    assert await db.fetchval("SELECT dm_held FROM users WHERE user_id = ?", (MEMBERS[0],)) == 80 - DM_DAILY_CAP


async def test_a_paper_stored_by_a_command_while_deciding_is_decided_by_that_run(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A /paper lookup never waits for a poll's deciding, and its paper is not left owed either."""
    await subscribe(db, MEMBERS[0], "benchmark")
    async with db.transaction() as conn:
        await archive.store_in(db, conn, papers(11_000, 5), now=NOW)
    lookups: list[archive.Stored] = []

    async def a_lookup_stores_a_paper() -> None:
        if not lookups:
            lookups.append(await archive.store(db, papers(12_000, 1), now=NOW))

    await wrapped(monkeypatch, "plan", a_lookup_stores_a_paper)
    report = await deciding.decide(db)
    assert lookups[0].papers.new and lookups[0].queued.decisions == 0  # returned at once, nothing decided itself
    assert report.decisions == 2 and report.user_rows == 6
    assert await db.decisions.count() == 0


async def test_a_decision_that_keeps_failing_does_not_hold_up_the_later_ones(db: Database) -> None:
    """One bad decision stays owed and is retried; the polls after it are still delivered meanwhile."""
    await subscribe(db, MEMBERS[0], "benchmark")
    await owe(db, papers(11_000, 3))
    later = await owe(db, papers(12_000, 4))
    async with refusing(db, "deliveries", when="NEW.paper_id LIKE '2611.11%'"):
        report = await deciding.decide(db)
        assert report.decisions == 1 and report.user_rows == 4  # the later poll's papers went out
        assert await db.fetchval("SELECT COUNT(*) FROM decisions WHERE id = ?", (later,)) == 0
        assert await db.decisions.count() == 1  # the failing one is kept
    retried = await deciding.decide(db)
    assert retried.decisions == 1 and retried.user_rows == 3
    assert await db.decisions.count() == 0


async def test_feeds_with_and_without_a_topic_get_what_their_filters_pass_in_order(db: Database) -> None:
    """Topic feeds take their query's matches (read in one pass over the batch's pairs), plain feeds every paper."""
    from bot.models import Source

    await save_feed(db, FeedConfig(guild_id=1, channel_id=10, topic="graphs"), "graphs")
    await save_feed(db, FeedConfig(guild_id=1, channel_id=11, topic="graphs", min_upvotes=5), "graphs")
    await save_feed(db, FeedConfig(guild_id=1, channel_id=12, sources=Source.ARXIV), None)
    await save_feed(db, FeedConfig(guild_id=1, channel_id=13), None)
    batch = papers(11_000, 12)  # every fourth is "of graphs"; upvotes 0..11; Hugging Face papers
    await owe(db, batch)
    report = await deciding.decide(db)

    async def posted(channel: int) -> list[str]:
        rows = await db.fetchall("SELECT paper_id FROM deliveries WHERE target_id = ? ORDER BY id", (channel,))
        return [row["paper_id"] for row in rows]

    graphs = [paper for paper in batch if "graphs" in paper.title]
    oldest_first = sorted(batch, key=lambda paper: paper.listed_at or NOON)
    popular = [paper for paper in graphs if (paper.upvotes or 0) >= 5]
    assert await posted(10) == [paper.id for paper in oldest_first if paper in graphs]
    assert await posted(11) == [paper.id for paper in oldest_first if paper in popular] != []
    assert await posted(12) == []  # arXiv only: these came from Hugging Face
    assert await posted(13) == [paper.id for paper in oldest_first]
    assert report.channel_rows == len(graphs) + len(popular) + len(batch)


async def test_a_command_storing_a_paper_decides_its_own_not_an_owed_poll(db: Database) -> None:
    """A /paper lookup must not spend its answer deciding a large poll that a failure left owed."""
    await subscribe(db, MEMBERS[0], "benchmark")
    owed = await owe(db, papers(11_000, 40))  # a poll's decision, left owed (say its deciding failed)
    stored = await archive.store(db, papers(12_000, 1), now=NOW)
    assert stored.queued.decisions == 1 and stored.queued.user_rows == 1
    assert await db.fetchval("SELECT COUNT(*) FROM decisions WHERE id = ?", (owed,)) == 1  # the next poll's
    assert (await deciding.decide(db)).user_rows == 40


async def test_no_deciding_statement_scans_the_archive_or_scans_inside_a_correlated_subquery(db: Database) -> None:
    """Query plans, not timings: the batch is the outer loop wherever it meets ``papers`` (a scan cost 1.3 s at
    1M papers), and no correlated subquery scans a table (the topic feeds' EXISTS over the pairs table took
    259 s with 50 topic feeds). Every statement a decision runs is captured and explained on its connection."""
    for member in MEMBERS[:3]:
        await subscribe(db, member, "benchmark")
    await save_feed(db, FeedConfig(guild_id=1, channel_id=10, topic="graphs"), "graphs")
    await save_feed(db, FeedConfig(guild_id=1, channel_id=11), None)
    await archive.store(db, papers(10_000, 200), now=NOW - 8 * 86_400)  # an archive beyond the batch
    statements: list[str] = []
    conn = db._writer  # the steps of a decision, on one traced connection so its temporary tables can be explained
    await conn.set_trace_callback(statements.append)
    try:
        async with db.transaction() as tx:
            decision = await delivery.owe(db, tx, await db.papers.upsert(tx, papers(11_000, 30)), now=NOW)
            assert decision is not None
            pks, new_pks = await db.decisions.papers(tx, decision)
            await db.queries.prepare_batch(tx, pks)
            await match(tx, db.queries)
            await db.deliveries.enqueue_feeds(tx, NOW)
            await dm_slots.plan(tx, cap=DM_DAILY_CAP, day=NOW - NOW % 86_400, new_pks=new_pks)
            await dm_slots.write(tx, NOW, day=NOW - NOW % 86_400, low=dm_slots.FIRST_USER, high=dm_slots.END)
            await conn.set_trace_callback(None)  # type: ignore[arg-type]  # sqlite3 takes None to stop; aiosqlite hints omit it
            checked = 0
            for sql in dict.fromkeys(statements):
                if not sql.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")):
                    continue
                async with tx.execute(f"EXPLAIN QUERY PLAN {sql}") as cursor:
                    plan = [(int(row[0]), int(row[1]), str(row[3])) for row in await cursor.fetchall()]
                checked += 1
                details = {node: detail for node, _parent, detail in plan}
                parents = {node: parent for node, parent, _detail in plan}

                def correlated(node: int, details: dict[int, str] = details, parents: dict[int, int] = parents) -> bool:
                    while node in parents:
                        node = parents[node]
                        if details.get(node, "").startswith("CORRELATED"):
                            return True
                    return False

                for node, _parent, detail in plan:
                    if " papers p " in f"{sql} ":
                        assert not detail.startswith("SCAN p"), (detail, sql)
                    assert not (detail.startswith("SCAN") and correlated(node)), (detail, sql)
            assert checked >= 10
    finally:
        await conn.set_trace_callback(None)  # type: ignore[arg-type]  # sqlite3 takes None to stop; aiosqlite hints omit it
