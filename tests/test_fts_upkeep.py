"""The full-text index: one segment per batch, merged off the write path, its stem frequencies remembered (issue 15)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.db import Database
from bot.db.checkpoints import Checkpointer
from bot.db.fts import Structure, decode_structure, structure
from bot.db.queries import FrequencyCache
from bot.query import parse_query
from testing.factories import make_paper


async def _segments(db: Database) -> Structure:
    return await structure(db)  # a read: the merger must not take it for somebody's write


async def _integrity(db: Database) -> None:
    async with db.transaction() as conn:  # raises if the index disagrees with the papers table
        await conn.execute("INSERT INTO papers_fts (papers_fts, rank) VALUES ('integrity-check', 1)")


async def test_one_batch_of_new_and_changed_papers_writes_one_index_segment(db: Database) -> None:
    async with db.transaction() as conn:
        await db.papers.upsert(conn, [make_paper(f"2603.{n:05d}", f"Alpha paper {n}") for n in range(12)])
    first = await _segments(db)
    assert first.segments == 1  # row by row, each paper was its own statement and its own segment: 12

    # A poll's mix, shuffled: new papers interleaved with stored ones whose text changed (rowids out of order).
    batch = []
    for n in range(12):
        batch.append(make_paper(f"2603.{100 + n:05d}", f"Gamma newcomer {n}"))
        batch.append(make_paper(f"2603.{11 - n:05d}", f"Beta rewrite {11 - n}", keywords=["delta"]))
    async with db.transaction() as conn:
        result = await db.papers.upsert(conn, batch)
    assert (len(result.new), len(result.updated), result.unchanged) == (12, 12, 0)
    assert (await _segments(db)).segments == 2
    await _integrity(db)
    assert await db.papers.count_matches("beta delta") == 12
    assert await db.papers.count_matches("alpha") == 0
    assert await db.papers.count_matches("gamma newcomer") == 12


async def test_commits_do_not_merge_the_index(db: Database) -> None:
    # FTS5's default (4) merges inside whichever commit crosses its work counter; 0 leaves merging to upkeep.
    assert await db.fetchval("SELECT v FROM papers_fts_config WHERE k = 'automerge'") == 0
    for n in range(10):
        async with db.transaction() as conn:
            await db.papers.upsert(conn, [make_paper(f"2603.{n:05d}", f"Paper number {n}")])
    assert (await _segments(db)).levels[0] == 10


async def test_a_repeated_id_in_one_batch_is_stored_once_with_the_later_facts(db: Database) -> None:
    early = make_paper("2603.00001", "Early title", upvotes=1)
    late = make_paper("2603.00001", "Later title", upvotes=7, authors=["Grace Hopper"])
    async with db.transaction() as conn:
        result = await db.papers.upsert(conn, [early, make_paper("2603.00002", "Other"), late])
    assert [paper.id for paper in result.new] == ["2603.00001", "2603.00002"]
    assert [paper.title for paper in result.updated] == ["Later title"]
    stored = await db.papers.get("2603.00001")
    assert stored is not None
    assert (stored.title, stored.upvotes, stored.authors) == ("Later title", 7, ["Grace Hopper"])
    assert await db.papers.count() == 2
    await _integrity(db)


async def test_text_survives_the_batch_statement_exactly(db: Database) -> None:
    paper = make_paper(
        "2603.00001",
        'Robots 🤖 say "hi" \\ back — naïve Übermensch',
        abstract="Line one.\nLine two\twith a tab, 数学 and an emoji 🧪.",
        authors=["Zoë O'Brien", "李雷"],
        keywords=["a\\b", '"quoted"'],
        upvotes=2**40,
        ai_summary=None,
        categories=["cs.LG", "cs.AI"],
    )
    async with db.transaction() as conn:
        await db.papers.upsert(conn, [paper])
    assert await db.papers.get(paper.id) == paper


async def test_the_index_is_merged_when_idle_and_not_while_writes_come(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.db")
    busy = Checkpointer(db, merge_idle_seconds=3600, interval=3600)
    idle = Checkpointer(db, merge_idle_seconds=0, interval=3600)
    try:
        for n in range(10):
            async with db.transaction() as conn:
                await db.papers.upsert(conn, [make_paper(f"2603.{n:05d}", f"Paper number {n}")])
        assert await busy.merge_index() == 0  # someone wrote a moment ago: not idle
        assert (await _segments(db)).segments == 10
        steps = await idle.merge_index()
        assert steps >= 2  # at least one step that merged and the one that found nothing left
        assert (await _segments(db)).segments < 4
        assert idle.stats.merge_steps == steps
        assert await idle.merge_index() == 0  # tidy, and nobody wrote since
        await _integrity(db)
        assert await db.papers.count_matches("paper number") == 10
        async with db.transaction() as conn:
            await db.papers.upsert(conn, [make_paper("2603.00099", "Paper number 99")])
        assert await idle.merge_index() >= 1  # a new write makes it look again
    finally:
        await db.close()


async def test_the_background_task_merges(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.db")
    checkpoints = Checkpointer(db, merge_idle_seconds=0, idle_seconds=3600, interval=0.01)
    try:
        for n in range(8):
            async with db.transaction() as conn:
                await db.papers.upsert(conn, [make_paper(f"2603.{n:05d}", f"Paper number {n}")])
        await checkpoints.start()
        for _ in range(500):  # a condition with a timeout: at most 5 s
            if (await _segments(db)).segments < 4:
                break
            await asyncio.sleep(0.01)
        assert (await _segments(db)).segments < 4
        assert checkpoints.stats.merge_steps >= 1
    finally:
        await checkpoints.stop()
        await db.close()


def test_the_structure_record_decodes_in_both_formats() -> None:
    # cookie, 2 levels, 3 segments, write counter 9; level 0: 2 segments, level 1: 1 segment (id, first, last)
    version_1 = bytes([0, 0, 0, 1, 2, 3, 9, 0, 2, 1, 1, 1, 2, 1, 1, 0, 1, 3, 1, 0x81, 0x00])
    assert decode_structure(version_1).levels == (2, 1)
    # SQLite 3.42+: a marker after the cookie and five more varints per segment
    version_2 = bytes([0, 0, 0, 1, 0xFF, 0, 0, 1, 1, 1, 9, 0, 1, 1, 1, 1, 0, 0, 0, 0, 4])
    assert decode_structure(version_2) == Structure((1,))


async def test_plan_building_reads_each_stems_frequency_once(db: Database) -> None:
    """A 100k-topic rebuild read the same common stems' frequencies in every chunk (14 ms a topic at 1M papers);
    the repository remembers them, and what it remembers is what the plans use."""
    async with db.transaction() as conn:
        await db.papers.upsert(conn, [make_paper(f"2603.{n:05d}", "graph neural networks") for n in range(3)])
        await db.papers.upsert(conn, [make_paper("2603.00010", "a diffusion study")])
        rare_first = await db.queries.ensure(conn, parse_query("graph diffusion"))
    (plan_anchor,) = await _anchors(db, rare_first)
    assert plan_anchor == "diffus"  # the rarer stem: in 1 paper against 3
    assert db.queries.frequencies.values == {"graph": 3, "diffus": 1}

    db.queries.frequencies.values.update({"graph": 0, "diffus": 50})  # as if remembered from an earlier read
    async with db.transaction() as conn:
        other = await db.queries.ensure(conn, parse_query("diffusion graph -unrelated"))
    assert await _anchors(db, other) == ["graph"]  # the remembered values decided, no fresh read


def test_remembered_frequencies_expire() -> None:
    cache = FrequencyCache(ttl=0.0)
    cache.fresh()["graph"] = 3
    assert cache.fresh() == {}
    small = FrequencyCache(max_stems=1)
    small.fresh().update({"a": 1, "b": 2})
    assert small.fresh() == {}


async def _anchors(db: Database, query_id: int) -> list[str]:
    rows = await db.fetchall("SELECT stem FROM query_anchors WHERE query_id = ? ORDER BY stem", (query_id,))
    return [row[0] for row in rows]
