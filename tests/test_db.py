from __future__ import annotations

import asyncio
import sqlite3
import sys
import textwrap
from pathlib import Path

import pytest

from bot.db import Database, DatabaseError
from bot.db.migrations import MIGRATIONS, SCHEMA_VERSION
from bot.models import Source
from bot.search import search
from testing.factories import make_paper

ROOT = Path(__file__).resolve().parents[1]


async def test_open_creates_folder_wal_and_schema(db_path: Path) -> None:
    db = await Database.open(db_path)
    try:
        assert db_path.exists()
        assert await db.fetchval("PRAGMA journal_mode") == "wal"
        assert await db.fetchval("PRAGMA foreign_keys") == 1
        assert await db.fetchval("PRAGMA busy_timeout") >= 5000
        assert await db.fetchval("PRAGMA user_version") == SCHEMA_VERSION
    finally:
        await db.close()


async def test_an_older_database_upgrades_itself(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE unrelated (x)")  # a version-0 file with something in it
    db = await Database.open(db_path)
    try:
        assert await db.fetchval("PRAGMA user_version") == SCHEMA_VERSION
        assert await db.papers.count() == 0
    finally:
        await db.close()


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
async def test_every_earlier_schema_upgrades_with_its_papers(tmp_path: Path, version: int) -> None:
    """A deployed archive may be at any earlier version: each chain of later migrations must apply to it,
    keep its papers and leave them searchable (several branches append migrations in one release)."""
    path = tmp_path / f"v{version}.db"
    with sqlite3.connect(path) as conn:
        for script in MIGRATIONS[:version]:
            conn.executescript(script)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute(
            "INSERT INTO papers (arxiv_id, title, first_seen_at, updated_at) "
            "VALUES ('2601.00001', 'Quantised attention kernels', 1, 1)"
        )
    db = await Database.open(path)
    try:
        assert await db.fetchval("PRAGMA user_version") == SCHEMA_VERSION
        assert await db.fetchval("PRAGMA integrity_check") == "ok"
        assert await db.papers.count() == 1
        page = await search(db, "quantised kernels")
        assert [paper.id for paper in page.papers] == ["2601.00001"]
    finally:
        await db.close()


async def test_a_newer_database_is_refused(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    with pytest.raises(DatabaseError, match="newer than this paperbot understands"):
        await Database.open(db_path)


async def test_reopening_is_idempotent(db_path: Path) -> None:
    for _ in range(3):
        db = await Database.open(db_path)
        await db.close()


async def test_upsert_reports_new_updated_unchanged(db: Database) -> None:
    first = [make_paper("2603.00001", "One", upvotes=1), make_paper("2603.00002", "Two", upvotes=2)]
    async with db.transaction() as conn:
        result = await db.papers.upsert(conn, first)
    assert [p.id for p in result.new] == ["2603.00001", "2603.00002"]
    second = [make_paper("2603.00001", "One", upvotes=9), make_paper("2603.00002", "Two", upvotes=2)]
    async with db.transaction() as conn:
        result = await db.papers.upsert(conn, second)
    assert result.new == []
    assert [p.id for p in result.updated] == ["2603.00001"]
    assert result.unchanged == 1
    stored = await db.papers.get("2603.00001")
    assert stored is not None and stored.upvotes == 9


async def test_stored_paper_roundtrips_every_field(db: Database) -> None:
    paper = make_paper(
        "2603.00001",
        "Everything",
        abstract="Abs.",
        authors=["A B", "C, Jr. D"],
        keywords=["k1", "k two"],
        ai_summary="S.",
        upvotes=3,
        num_comments=4,
        github_repo="https://github.com/x/y",
        github_stars=5,
        project_page="https://p.org",
        organization="Org",
        thumbnail="https://t.png",
        categories=["cs.LG", "cs.AI"],
        sources=Source.HF | Source.ARXIV,
    )
    async with db.transaction() as conn:
        await db.papers.upsert(conn, [paper])
    assert await db.papers.get("2603.00001") == paper


async def test_fts_follows_title_changes_but_not_upvote_changes(db: Database) -> None:
    async with db.transaction() as conn:
        await db.papers.upsert(conn, [make_paper("2603.00001", "Old wording", upvotes=1)])
    async with db.transaction() as conn:
        await db.papers.upsert(conn, [make_paper("2603.00001", "New phrasing", upvotes=2)])
    assert [p.id for p in (await search(db, "phrasing")).papers] == ["2603.00001"]
    assert (await search(db, "wording")).papers == []
    async with db.transaction() as conn:  # raises SQLITE_CORRUPT_VTAB if the index disagrees with the table
        await conn.execute("INSERT INTO papers_fts(papers_fts, rank) VALUES ('integrity-check', 1)")


async def test_a_failed_batch_leaves_nothing_behind(db: Database) -> None:
    async with db.transaction() as conn:
        await db.papers.upsert(conn, [make_paper("2603.00001", "Before")])

    async def half_written_batch() -> None:
        async with db.transaction() as conn:
            await db.papers.upsert(conn, [make_paper("2603.00002", "Half"), make_paper("2603.00001", "Changed")])
            raise RuntimeError("crash mid-batch")

    with pytest.raises(RuntimeError):
        await half_written_batch()
    assert await db.papers.count() == 1
    before = await db.papers.get("2603.00001")
    assert before is not None and before.title == "Before"
    assert (await search(db, "half")).papers == []


async def test_sigkill_mid_batch_leaves_the_database_as_it_was(db_path: Path) -> None:
    db = await Database.open(db_path)
    async with db.transaction() as conn:
        await db.papers.upsert(conn, [make_paper("2603.00001", "Survivor")])
    await db.close()
    script = textwrap.dedent(
        f"""
        import asyncio, os, signal
        from bot.db import Database
        from testing.factories import make_paper

        async def main():
            db = await Database.open({str(db_path)!r})
            async with db.transaction() as conn:
                await db.papers.upsert(conn, [make_paper(f"2603.{{i:05d}}", f"Doomed {{i}}") for i in range(2, 3000)])
                os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(main())
        """
    )
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", script, cwd=ROOT)
    assert await asyncio.wait_for(process.wait(), timeout=60) == -9
    db = await Database.open(db_path)
    try:
        assert await db.papers.count() == 1
        assert [p.id for p in (await search(db, "survivor")).papers] == ["2603.00001"]
        assert (await search(db, "doomed")).papers == []
    finally:
        await db.close()


async def test_reads_are_not_blocked_by_an_open_write(db: Database) -> None:
    async with db.transaction() as conn:
        await db.papers.upsert(conn, [make_paper("2603.00001", "Visible")])
    async with db.transaction() as conn:
        await db.papers.upsert(conn, [make_paper("2603.00002", "Not yet committed")])
        # The reader sees the last committed state, immediately.
        assert await asyncio.wait_for(db.papers.count(), timeout=2) == 1
    assert await db.papers.count() == 2


async def test_writers_are_serialised(db: Database) -> None:
    async def write(index: int) -> None:
        async with db.transaction() as conn:
            await db.papers.upsert(conn, [make_paper(f"2603.{index:05d}", f"Paper {index}")])

    await asyncio.gather(*(write(i) for i in range(1, 21)))
    assert await db.papers.count() == 20


async def test_a_read_after_a_commit_sees_it_while_other_reads_run(db: Database) -> None:
    """Reads share one connection: none may leave a statement open across an ``await``, or a read that starts
    later joins its old snapshot and misses a commit (the dispatcher's pattern: commit a claim, read it back,
    while other targets read)."""
    async with db.transaction() as conn:  # rows enough that a statement stays open between fetches
        await conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, '0')", [(f"pad{index:03d}",) for index in range(50)]
        )
    done = False
    stale: list[tuple[int, int]] = []

    async def background(kind: str) -> None:
        sql = "SELECT value FROM meta WHERE key LIKE 'pad%'"
        while not done:
            await (db.fetchone(sql) if kind == "one" else db.fetchall(sql))

    async def write_then_read() -> None:
        nonlocal done
        try:
            for value in range(1, 501):
                async with db.transaction() as conn:
                    await conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', ?)", (str(value),))
                seen = int(await db.fetchval("SELECT value FROM meta WHERE key = 'probe'"))
                if seen != value:
                    stale.append((value, seen))
        finally:
            done = True

    await asyncio.wait_for(asyncio.gather(write_then_read(), *(background(k) for k in ("one", "all") * 3)), 60)
    assert not stale, f"{len(stale)} stale reads, first {stale[:3]}"
