"""The DM outbox is capped where rows are written: a poll queues at most what each member can still get today.

Real SQLite file, the real percolator and ``bot.archive.store``; the clock is the ``now`` a poll passes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot import archive
from bot.db import Database
from bot.delivery.plan import DM_DAILY_CAP, day_start, dm_held
from bot.models import Paper
from bot.mydata import delete, export
from bot.subscriptions import subscribe
from testing.factories import make_paper

MEMBER = 4242
OTHER = 5151
# Noon UTC, so "the next day" below is a different UTC day whatever the test's wall clock.
NOON = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
NOW = int(NOON.timestamp())
DAY = 86_400


def papers(first: int, count: int, *, word: str = "benchmark", when: datetime = NOON) -> list[Paper]:
    """``count`` papers on ``word``; the upvotes rise with the number, so the best are the last ones."""
    return [
        make_paper(
            f"2611.{first + n:05d}",
            f"A {word} study number {first + n}",
            abstract=f"We {word} things, experiment {first + n}.",
            upvotes=n,
            listed_at=when - timedelta(minutes=n),
        )
        for n in range(count)
    ]


async def dm_rows(db: Database, user_id: int = MEMBER) -> list[str]:
    rows = await db.fetchall(
        "SELECT paper_id FROM deliveries WHERE target_kind = 'user' AND target_id = ? ORDER BY id", (user_id,)
    )
    return [row["paper_id"] for row in rows]


async def mark_all_sent(db: Database, at: int) -> None:
    async with db.transaction() as conn:
        await conn.execute("UPDATE deliveries SET status = 'sent', sent_at = ? WHERE status = 'pending'", (at,))


async def test_a_member_gets_at_most_the_cap_and_the_rest_is_counted_for_the_note(db: Database) -> None:
    await subscribe(db, MEMBER, "benchmark")
    await subscribe(db, OTHER, "unrelated")
    batch = papers(10_000, 100)
    stored = await archive.store(db, batch, now=NOW)
    rows = await dm_rows(db)
    assert len(rows) == DM_DAILY_CAP == stored.queued.user_rows
    # The slots go to the most upvoted matches, best first.
    best = [paper.id for paper in sorted(batch, key=lambda paper: -(paper.upvotes or 0))[:DM_DAILY_CAP]]
    assert rows == best
    assert stored.queued.user_held == 100 - DM_DAILY_CAP
    assert await dm_held(db, MEMBER, NOW) == 100 - DM_DAILY_CAP
    assert await dm_held(db, OTHER, NOW) == 0
    # The count is today's: tomorrow it starts again from nothing.
    assert await dm_held(db, MEMBER, NOW + DAY) == 0
    # It is the member's data: /mydata export shows it.
    document = await export(db, MEMBER, now=NOW)
    assert document["direct_messages"]["held_back"] == 100 - DM_DAILY_CAP


async def test_several_topics_matching_one_paper_take_one_slot(db: Database) -> None:
    await subscribe(db, MEMBER, "benchmark")
    await subscribe(db, MEMBER, "study")
    await archive.store(db, papers(10_000, DM_DAILY_CAP - 5), now=NOW)
    assert len(await dm_rows(db)) == DM_DAILY_CAP - 5
    assert await dm_held(db, MEMBER, NOW) == 0


async def test_exactly_once_across_a_restart_and_later_polls_the_same_day(db_path: Path) -> None:
    db = await Database.open(db_path)
    try:
        await subscribe(db, MEMBER, "benchmark")
        first = papers(10_000, 80)
        await archive.store(db, first, now=NOW)
        assert len(await dm_rows(db)) == DM_DAILY_CAP
    finally:
        await db.close()
    db = await Database.open(db_path)  # a restart
    try:
        # The same papers again, with more upvotes (an update), and 20 new ones: the member's day is full.
        again = [paper.model_copy(update={"upvotes": (paper.upvotes or 0) + 100}) for paper in first]
        stored = await archive.store(db, [*again, *papers(20_000, 20)], now=NOW + 600)
        assert stored.queued.user_rows == 0
        rows = await dm_rows(db)
        assert len(rows) == len(set(rows)) == DM_DAILY_CAP
        # Held back: 30 from the first poll, 20 from this one; the updated papers are not counted twice.
        assert await dm_held(db, MEMBER, NOW) == 30 + 20
        # Once the day's papers are sent, a later poll still adds nothing today.
        await mark_all_sent(db, NOW + 900)
        stored = await archive.store(db, papers(30_000, 5), now=NOW + 1_200)
        assert stored.queued.user_rows == 0
        assert await dm_held(db, MEMBER, NOW) == 55
        assert len(await dm_rows(db)) == DM_DAILY_CAP
    finally:
        await db.close()


async def test_a_partly_used_day_leaves_only_the_rest_of_the_cap(db: Database) -> None:
    await subscribe(db, MEMBER, "benchmark")
    await archive.store(db, papers(10_000, 30), now=NOW)
    await mark_all_sent(db, NOW + 60)
    stored = await archive.store(db, papers(20_000, 40), now=NOW + 3_600)
    assert stored.queued.user_rows == DM_DAILY_CAP - 30
    assert await dm_held(db, MEMBER, NOW) == 40 - (DM_DAILY_CAP - 30)


async def test_the_next_day_brings_fresh_slots(db: Database) -> None:
    await subscribe(db, MEMBER, "benchmark")
    await archive.store(db, papers(10_000, 70), now=NOW)
    await mark_all_sent(db, NOW + 60)
    tomorrow = NOW + DAY
    stored = await archive.store(db, papers(20_000, 30, when=NOON + timedelta(days=1)), now=tomorrow)
    assert stored.queued.user_rows == 30
    assert await dm_held(db, MEMBER, tomorrow) == 0
    assert len(await dm_rows(db)) == DM_DAILY_CAP + 30
    await mark_all_sent(db, tomorrow + 60)
    # A day later still, a full day's worth again, and the rest held on that day.
    later = tomorrow + DAY
    stored = await archive.store(db, papers(30_000, 60, when=NOON + timedelta(days=2)), now=later)
    assert stored.queued.user_rows == DM_DAILY_CAP
    assert await dm_held(db, MEMBER, later) == 10
    assert day_start(later) != day_start(NOW)


async def test_open_rows_of_a_paused_member_count_against_the_cap(db: Database) -> None:
    """DMs closed: the papers wait, and at most a day's worth waits, whatever the days that pass."""
    await subscribe(db, MEMBER, "benchmark")
    await archive.store(db, papers(10_000, 40), now=NOW)
    stored = await archive.store(db, papers(20_000, 40, when=NOON + timedelta(days=1)), now=NOW + DAY)
    assert stored.queued.user_rows == DM_DAILY_CAP - 40
    assert len(await dm_rows(db)) == DM_DAILY_CAP


async def test_mydata_delete_still_removes_the_capped_pending_dms(db: Database) -> None:
    await subscribe(db, MEMBER, "benchmark")
    await subscribe(db, OTHER, "benchmark")
    await archive.store(db, papers(10_000, 70), now=NOW)
    removed = await delete(db, MEMBER, now=NOW)
    assert removed.pending_dms == DM_DAILY_CAP
    assert await dm_rows(db) == []
    assert await dm_held(db, MEMBER, NOW) == 0
    assert len(await dm_rows(db, OTHER)) == DM_DAILY_CAP
    assert await dm_held(db, OTHER, NOW) == 70 - DM_DAILY_CAP


async def test_between_equal_upvotes_the_newest_go_first_and_a_paper_takes_one_slot(db: Database) -> None:
    await subscribe(db, MEMBER, "benchmark")
    await subscribe(db, MEMBER, "robots")
    batch = [
        make_paper(
            f"2611.{40_000 + n:05d}",
            f"A benchmark study number {n}" + (" for robots" if n % 2 else ""),
            upvotes=0,
            listed_at=NOON - timedelta(minutes=n),
        )
        for n in range(60)
    ]
    await archive.store(db, batch, now=NOW)
    assert await dm_rows(db) == [paper.id for paper in batch[:DM_DAILY_CAP]]
    assert await dm_held(db, MEMBER, NOW) == 60 - DM_DAILY_CAP
    # The row names the earliest topic that matched.
    topic_ids = await db.fetchall(
        "SELECT DISTINCT topic_id FROM deliveries WHERE target_kind = 'user' AND target_id = ?", (MEMBER,)
    )
    assert len(topic_ids) == 1
