"""``ingest``: papers per second through the poller's write path, with the plain-INSERT floor for context.

The real path is ``db.papers.upsert(conn, papers)`` inside ``async with db.transaction()``: read back the
papers already stored, merge, write the changed rows, FTS5 kept in step by triggers, one commit per batch.
Two shapes matter: (a) a poll (~150 papers, mostly new, some upvote refreshes, some unchanged repeats) landing
in a database that already holds the corpus, and (b) a bulk load into an empty database (a first start on a
backfill, or building the bench corpus). For attribution, bulk is also run with the FTS triggers dropped
(merge cost alone) and as a plain ``executemany`` INSERT (no merge, no FTS: the floor).
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiosqlite

from bench.context import Context, latency_summary, ratio, run_async, target
from bench.corpus import CorpusGenerator
from bot.db import Database
from bot.db.checkpoints import Checkpointer, wal_size
from bot.db.fts import structure
from bot.db.papers import _COLUMNS, StoreResult, to_row
from bot.models import Paper, Source

NAME = "ingest"
TARGET_PAPERS_PER_S = 5_000.0
POLL_NEW, POLL_REFRESHED, POLL_NEWLY_ON_HF, POLL_UNCHANGED = 75, 35, 10, 30  # 150 papers, like one poll
_TRIGGERS = ("papers_fts_insert", "papers_fts_delete", "papers_fts_update")
# The upsert statement as it was before issue 15 part 3, run once per paper (``_row_by_row_upsert``).
_ROW_UPSERT = (
    f"INSERT INTO papers ({', '.join(_COLUMNS)}, first_seen_at, updated_at) "
    f"VALUES ({', '.join('?' for _ in _COLUMNS)}, ?, ?) "
    "ON CONFLICT (arxiv_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _COLUMNS[1:])
    + ", updated_at = excluded.updated_at"
)
_PLAIN_INSERT = (
    "INSERT INTO papers (arxiv_id, title, abstract, authors, keywords, ai_summary, upvotes, num_comments, "
    "github_repo, github_stars, project_page, organization, thumbnail, categories, published_at, listed_at, "
    "sources, first_seen_at, updated_at) VALUES (" + ", ".join("?" * 19) + ")"
)


async def _drop_fts_triggers(db: Database) -> None:
    async with db.transaction() as conn:
        for name in _TRIGGERS:
            await conn.execute(f"DROP TRIGGER IF EXISTS {name}")


def _copy(source: Path, target: Path) -> None:
    """A copy of the corpus, flushed to disk before anything is timed: the kernel writing back gigabytes of a
    fresh copy would otherwise stall the first batches' own writes."""
    shutil.copyfile(source, target)
    with open(target, "rb+") as handle:
        os.fsync(handle.fileno())


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


async def _row_by_row_upsert(db: Database, conn: aiosqlite.Connection, papers: list[Paper]) -> StoreResult:
    """``PaperRepository.upsert`` as it was before issue 15 part 3 (the baseline): one INSERT statement per
    paper, in arrival order, so FTS5 flushed one index segment per paper inside the poll's transaction."""
    result = StoreResult()
    now = int(time.time())
    existing = await db.papers.get_many([paper.id for paper in papers])
    rows = []
    for paper in papers:
        old = existing.get(paper.id)
        if old is None:
            result.new.append(paper)
            existing[paper.id] = paper
            rows.append((*to_row(paper), now, now))
            continue
        merged = old.merge(paper)
        if merged == old:
            result.unchanged += 1
            continue
        result.updated.append(merged)
        existing[paper.id] = merged
        rows.append((*to_row(merged), now, now))
    await conn.executemany(_ROW_UPSERT, rows)
    return result


async def _poll_batches_for(ctx: Context, path: Path) -> list[list[Paper]]:
    """The poll batches: new papers, upvote refreshes, papers newly on Hugging Face (keywords added: their
    index entries are rewritten) and unchanged repeats, shuffled as a source returns them."""
    rng = random.Random(f"{ctx.seed}:poll")
    batches_n = ctx.scale.poll_batches
    generator = CorpusGenerator(ctx.vocabulary, ctx.seed, stream=7)
    fresh = generator.fresh(batches_n * POLL_NEW)
    db = await Database.open(path)
    try:
        known_pks = rng.sample(
            range(1, ctx.corpus().papers + 1), batches_n * (POLL_REFRESHED + POLL_NEWLY_ON_HF + POLL_UNCHANGED)
        )
        rows = await db.fetchall(
            f"SELECT arxiv_id FROM papers WHERE pk IN ({', '.join(str(pk) for pk in known_pks)})"  # ints only
        )
        known = list((await db.papers.get_many([row[0] for row in rows])).values())
    finally:
        await db.close()
    rng.shuffle(known)
    batches: list[list[Paper]] = []
    for index in range(batches_n):
        new = fresh[index * POLL_NEW : (index + 1) * POLL_NEW]
        olds = known[index * 75 : (index + 1) * 75]
        refreshed = [p.model_copy(update={"upvotes": (p.upvotes or 0) + rng.randint(1, 9)}) for p in olds[:35]]
        newly_on_hf = [
            p.model_copy(
                update={
                    "upvotes": rng.randint(1, 30),
                    "keywords": rng.sample(ctx.vocabulary.keywords, k=min(5, len(ctx.vocabulary.keywords))),
                    "sources": p.sources | Source.HF,
                }
            )
            for p in olds[35:45]
        ]
        batch = [*new, *refreshed, *newly_on_hf, *olds[45:75]]
        rng.shuffle(batch)
        batches.append(batch)
    return batches


# The three ways a poll's batch has been written, oldest first; each run gets its own fresh copy of the corpus.
POLL_RUNS = {
    "commit_checkpoint": "row by row, FTS5 automerge 4, SQLite's checkpoint inside COMMIT (before issue 15)",
    "checkpointer": "row by row, FTS5 automerge 4, background checkpointer (issue 15 part 1)",
    "merge_off_path": "one statement per batch, FTS5 automerge 0, merged while idle (issue 15 part 3: today)",
}


async def _poll_run(ctx: Context, name: str, batches: list[list[Paper]], outcomes: dict[str, int]) -> dict[str, Any]:
    corpus = ctx.corpus()
    path = ctx.scratch(f"poll-{name}.db")
    ctx.say(f"ingest: {name}: copying the {corpus.papers:,}-paper corpus")
    _copy(corpus.path, path)
    db = await Database.open(path)
    checkpoints: Checkpointer | None = None
    merger = Checkpointer(db, merge_idle_seconds=0)  # never started: the bench calls it between polls
    idle_merges: list[float] = []
    times: list[float] = []
    wal_max = 0
    try:
        if name != "merge_off_path":
            async with db.transaction() as conn:  # FTS5's default, which the migration turned off
                await conn.execute("INSERT INTO papers_fts (papers_fts, rank) VALUES ('automerge', 4)")
        before = await structure(db)
        if name != "commit_checkpoint":
            checkpoints = Checkpointer(db)
            await checkpoints.start()
        ctx.say(f"ingest: {name}: {len(batches)} poll batches of {len(batches[0])} papers")
        for batch in batches:
            start = time.perf_counter()
            async with db.transaction() as conn:
                if name == "merge_off_path":
                    result = await db.papers.upsert(conn, batch)
                else:
                    result = await _row_by_row_upsert(db, conn, batch)
            times.append(time.perf_counter() - start)
            wal_max = max(wal_max, wal_size(db.path))
            outcomes["new"] += len(result.new)
            outcomes["updated"] += len(result.updated)
            outcomes["unchanged"] += result.unchanged
            if name == "merge_off_path":  # the quiet between two polls, where the bot's task merges (untimed)
                started = time.perf_counter()
                while await merger.merge_index():
                    pass  # each step merges 64 pages and says whether more is left; nothing to do between steps
                idle_merges.append(time.perf_counter() - started)
            await asyncio.sleep(0)  # let the checkpointer's loop run between polls, as it does in the bot
        after = await structure(db)
    finally:
        if checkpoints is not None:
            await checkpoints.stop()
        await db.close()
        _remove(path)
    papers = sum(len(batch) for batch in batches)
    return {
        "what": POLL_RUNS[name],
        "latency": latency_summary([t * 1000 for t in times]),
        "papers_per_s": round(papers / sum(times), 1),
        "wal_max_bytes": wal_max,
        "checkpoints": asdict(checkpoints.stats) if checkpoints is not None else None,
        "index_segments_per_level": {"before": list(before.levels), "after": list(after.levels)},
        "idle_merge_per_poll": latency_summary([t * 1000 for t in idle_merges]) if idle_merges else None,
        "idle_merge_steps": merger.stats.merge_steps,
        "loadavg_after": [round(value, 2) for value in os.getloadavg()],
    }


async def _poll(ctx: Context) -> dict[str, Any]:
    """The same poll batches written each way, each on its own fresh copy of the corpus, one after another in
    one run (so the machine's load is about the same for all three)."""
    corpus = ctx.corpus()
    sample = ctx.scratch("poll-sample.db")
    _copy(corpus.path, sample)
    try:
        batches = await _poll_batches_for(ctx, sample)
    finally:
        _remove(sample)
    outcomes = {"new": 0, "updated": 0, "unchanged": 0}
    runs = {name: await _poll_run(ctx, name, batches, outcomes) for name in POLL_RUNS}
    # Floor for context: the same number of new rows per batch as a plain INSERT, no merge, no FTS.
    path = ctx.scratch("poll-plain.db")
    _copy(corpus.path, path)
    db = await Database.open(path)
    plain_times: list[float] = []
    try:
        await _drop_fts_triggers(db)
        spare = CorpusGenerator(ctx.vocabulary, ctx.seed, stream=13).fresh(len(batches) * 150)
        for index in range(len(batches)):
            chunk = spare[index * 150 : (index + 1) * 150]
            start = time.perf_counter()
            now = int(time.time())
            async with db.transaction() as conn:
                await conn.executemany(_PLAIN_INSERT, [(*to_row(p), now, now) for p in chunk])
            plain_times.append(time.perf_counter() - start)
    finally:
        await db.close()
        _remove(path)
    today = runs["merge_off_path"]
    return {
        "batches": len(batches),
        "batch_size": len(batches[0]),
        "mix_per_batch": {
            "new": POLL_NEW,
            "upvote_refresh": POLL_REFRESHED,
            "newly_on_hf_with_keywords": POLL_NEWLY_ON_HF,
            "unchanged_repeat": POLL_UNCHANGED,
        },
        "outcomes": outcomes,
        "into_corpus_of": corpus.papers,
        "latency": today["latency"],
        "papers_per_s": today["papers_per_s"],
        "wal_max_bytes": today["wal_max_bytes"],
        "checkpoints": today["checkpoints"],
        "runs": runs,
        "baseline_plain_insert_latency": latency_summary([t * 1000 for t in plain_times]),
        "baseline_plain_insert_papers_per_s": round(150 * len(batches) / sum(plain_times), 1),
    }


async def _bulk_load(ctx: Context, papers: list[Paper], mode: str) -> dict[str, Any]:
    """Load ``papers`` into a fresh database: ``real`` upsert, ``no-fts`` upsert without triggers, ``plain``.

    What-if modes (bench only, the bot is not changed): ``cache-64mib`` is the real upsert with a 64 MiB page
    cache on the writer; ``rebuild`` is the real upsert with the FTS insert trigger dropped, then one FTS5
    ``rebuild`` of the whole index (valid only for loading into an empty archive).
    """
    path = ctx.scratch(f"bulk-{mode}.db")
    batch = ctx.scale.bulk_batch
    db = await Database.open(path)
    rates: list[float] = []
    try:
        if mode in ("no-fts", "plain"):
            await _drop_fts_triggers(db)
        async with db.transaction() as conn:
            if mode == "cache-64mib":
                await conn.execute("PRAGMA cache_size = -65536")
            if mode == "rebuild":
                await conn.execute("DROP TRIGGER papers_fts_insert")
        total = 0.0
        for offset in range(0, len(papers), batch):
            chunk = papers[offset : offset + batch]
            start = time.perf_counter()
            async with db.transaction() as conn:
                if mode == "plain":
                    now = int(time.time())
                    await conn.executemany(_PLAIN_INSERT, [(*to_row(p), now, now) for p in chunk])
                else:
                    await db.papers.upsert(conn, chunk)
            elapsed = time.perf_counter() - start
            total += elapsed
            rates.append(len(chunk) / elapsed)
        if mode == "rebuild":
            start = time.perf_counter()
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO papers_fts (papers_fts) VALUES ('rebuild')")
            total += time.perf_counter() - start
        count = await db.papers.count()
    finally:
        await db.close()
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    return {
        "papers": count,
        "seconds": round(total, 2),
        "papers_per_s": round(count / total, 1),
        "first_batch_papers_per_s": round(rates[0], 1),
        "last_batch_papers_per_s": round(rates[-1], 1),
    }


async def _measure(ctx: Context) -> dict[str, Any]:
    poll = await _poll(ctx)
    ctx.say(f"ingest: generating {ctx.scale.bulk:,} papers for the bulk loads (not timed)")
    generator = CorpusGenerator(ctx.vocabulary, ctx.seed, stream=11)
    papers = [paper for chunk in generator.corpus(ctx.scale.bulk, 10_000) for paper in chunk]
    bulk: dict[str, Any] = {}
    modes = ["real", "no-fts", "plain"] + (["cache-64mib", "rebuild"] if ctx.options.get("what_if") else [])
    for mode in modes:
        ctx.say(f"ingest: bulk {mode}")
        bulk[mode] = await _bulk_load(ctx, papers, mode)
    return {"poll": poll, "bulk": bulk}


def run(ctx: Context) -> dict[str, Any]:
    corpus = ctx.corpus()
    data = run_async(_measure(ctx))
    poll, bulk = data["poll"], data["bulk"]
    real, plain, no_fts = bulk["real"], bulk["plain"], bulk["no-fts"]
    build = corpus.build
    targets = [
        target("poll batch into the corpus", f">= {TARGET_PAPERS_PER_S:,.0f} papers/s", poll["papers_per_s"], None),
        target("bulk into an empty db", f">= {TARGET_PAPERS_PER_S:,.0f} papers/s", real["papers_per_s"], None),
    ]
    for item in targets:
        item["met"] = item["value"] >= TARGET_PAPERS_PER_S
    table = [
        {
            "metric": f"poll batch ({poll['batch_size']} papers) into {corpus.papers:,}: papers/s",
            "value": f"{poll['papers_per_s']:,.0f}/s",
            "baseline": f"{poll['baseline_plain_insert_papers_per_s']:,.0f}/s",
            "ratio": _x(ratio(poll["papers_per_s"], poll["baseline_plain_insert_papers_per_s"])),
        },
        *[
            {
                "metric": f"  poll commit p50 / p95 / p99, {label}",
                "value": _latency(poll["runs"][name]["latency"]),
            }
            for name, label in (
                ("merge_off_path", "today: one statement, merged while idle"),
                ("checkpointer", "before: row by row, background checkpointer"),
                ("commit_checkpoint", "before that: row by row, checkpoint in COMMIT"),
            )
        ],
        {
            "metric": "  idle merge work after each poll p50 / p95 / max (outside the poll)",
            "value": _idle(poll["runs"]["merge_off_path"]["idle_merge_per_poll"]),
        },
        {
            "metric": "  index segments per level at the end: today / before",
            "value": f"{poll['runs']['merge_off_path']['index_segments_per_level']['after']} / "
            f"{poll['runs']['checkpointer']['index_segments_per_level']['after']}",
        },
        {
            "metric": "  largest WAL during the batches: today / checkpoint in COMMIT",
            "value": f"{poll['wal_max_bytes'] / 2**20:,.1f} / "
            f"{poll['runs']['commit_checkpoint']['wal_max_bytes'] / 2**20:,.1f} MiB",
        },
        {
            "metric": f"bulk {real['papers']:,} into empty db (batches of {ctx.scale.bulk_batch:,})",
            "value": f"{real['papers_per_s']:,.0f}/s",
            "baseline": f"{plain['papers_per_s']:,.0f}/s",
            "ratio": _x(ratio(real["papers_per_s"], plain["papers_per_s"])),
        },
        {"metric": "  bulk, upsert with FTS triggers dropped", "value": f"{no_fts['papers_per_s']:,.0f}/s"},
        {
            "metric": f"  corpus build {corpus.papers:,} (batches of {build.get('batch', '?'):,})"
            + (" [cached]" if corpus.reused else ""),
            "value": f"{build.get('upsert_papers_per_s') or 0:,.0f}/s",
        },
    ]
    table += [
        {
            "metric": f"  what-if bulk, {label}",
            "value": f"{bulk[name]['papers_per_s']:,.0f}/s",
            "baseline": f"{plain['papers_per_s']:,.0f}/s",
            "ratio": _x(ratio(bulk[name]["papers_per_s"], plain["papers_per_s"])),
        }
        for name, label in (("cache-64mib", "writer cache 64 MiB"), ("rebuild", "no insert trigger + FTS rebuild"))
        if name in bulk
    ]
    return {
        "inputs": {
            "corpus": corpus.describe(),
            "poll_batches": ctx.scale.poll_batches,
            "bulk_papers": ctx.scale.bulk,
            "bulk_batch": ctx.scale.bulk_batch,
        },
        "metrics": {"poll": poll, "bulk": {"real": real, "no_fts": no_fts}, "corpus_build": build},
        "what_if": {name: bulk[name] for name in ("cache-64mib", "rebuild") if name in bulk},
        "baseline": {"what": "plain executemany INSERT: no merge read, no FTS triggers", "bulk": plain},
        "ratios": {
            "poll_real_vs_plain": ratio(poll["papers_per_s"], poll["baseline_plain_insert_papers_per_s"]),
            "bulk_real_vs_plain": ratio(real["papers_per_s"], plain["papers_per_s"]),
        },
        "targets": targets,
        "table": table,
    }


def _latency(summary: dict[str, Any]) -> str:
    return f"{summary['p50_ms']:.1f} / {summary['p95_ms']:.1f} / {summary['p99_ms']:.1f} ms"


def _idle(summary: dict[str, Any] | None) -> str:
    if not summary:
        return "-"
    return f"{summary['p50_ms']:.1f} / {summary['p95_ms']:.1f} / {summary['max_ms']:.1f} ms"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}x"
