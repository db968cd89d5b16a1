"""``backfill``: the arXiv back-fill after an outage, from arXiv's API (fixture server) into a copy of the corpus.

A 10-day window of four busy categories is ~15–20k papers. Measured on the real paths, with arXiv's 3 s
between requests set to nearly nothing (a wait, not work):

* the fetch alone (``ArxivSource.fetch`` with the watermark behind: HTTP pages from ``testing.paper_server``,
  Atom parsed in a worker thread), one 1,000-entry page's parse, and the event loop's longest stall meanwhile
  (the fixture server renders its pages in the same loop, so that figure is an upper bound for the bot);
* the whole poll (``Poller.poll_once``: the fetch, then storing, FTS5, topic matching against the corpus's
  topics and the outbox) while another writer (what a command or the dispatcher does) takes the write lock
  every 20 ms: its longest wait is how long the poll held everyone else off. Before: the poll's one
  transaction (``store_chunk`` above the batch). After: the poller's ``STORE_CHUNK`` papers per transaction.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.aio import run_async
from bench.context import Context, ratio
from bench.corpus import ANCHOR, CorpusGenerator
from bot.db import Database
from bot.db.sources import SourceState
from bot.models import Paper
from bot.poller import STORE_CHUNK, Poller
from bot.sources import arxiv_calendar
from bot.sources.arxiv import ArxivSource
from bot.sources.arxiv_api import ArxivApi, parse_page
from bot.sources.http import HttpClient, RetryPolicy, Spacing
from testing import arxiv_api
from testing.arxiv_api import ArxivRecord
from testing.factories import rss_feed, rss_item
from testing.paper_server import PaperServer

NAME = "backfill"
PAPERS = {"small": 3_000, "medium": 20_000, "large": 20_000}
PAGE = 500  # the ARXIV_API_PAGE_SIZE default
PROBE_EVERY = 0.02


def _days() -> tuple[date, date]:
    """(last listing stored, listing seen on recovery): a week apart, just after the corpus."""
    seen = ANCHOR.date() + timedelta(days=5)
    while not arxiv_calendar.is_weekday(seen):
        seen += timedelta(days=1)
    covered = seen - timedelta(days=7)
    while not arxiv_calendar.is_weekday(covered):
        covered -= timedelta(days=1)
    return covered, seen


def _records(papers: list[Paper], covered: date, seen: date) -> list[ArxivRecord]:
    """API records for generated papers, with ids arXiv could issue (the generator's run past 99999 a month)."""
    start = datetime.combine(covered, datetime.min.time(), UTC)
    end = datetime.combine(arxiv_calendar.previous_weekday(seen), datetime.min.time(), UTC)  # the window's last day
    span = (end - start) / len(papers)
    return [
        ArxivRecord(
            f"26{7 + index // 90_000:02d}.{10_000 + index % 90_000:05d}",  # 2607.10000 on: after the corpus ids
            p.title,
            start + index * span,
            p.abstract,
            tuple(p.authors[:20]) or ("A B",),
            ("cs.LG",),
        )
        for index, p in enumerate(papers)
    ]


def _source(http: HttpClient, server: PaperServer) -> ArxivSource:
    api = ArxivApi(http, server.arxiv_api_base, ["cs.LG"], page_size=PAGE, spacing=Spacing(0.001))
    return ArxivSource(http, server.rss_base, ["cs.LG"], api=api, backfill_days=10)


async def _stall_watch(stop: asyncio.Event, worst: list[float]) -> None:
    """The longest the loop went without running this 10 ms ticker (minus the tick)."""
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.01)
        now = time.perf_counter()
        worst[0] = max(worst[0], now - last - 0.01)
        last = now


async def _other_writer(db: Database, stop: asyncio.Event, waits: list[float]) -> None:
    """A short write every ``PROBE_EVERY`` seconds; records how long each waited for the lock."""
    while not stop.is_set():
        asked = time.perf_counter()
        async with db.transaction() as conn:
            waits.append(time.perf_counter() - asked)
            await db.meta.set(conn, "bench:probe", str(asked))
        await asyncio.sleep(PROBE_EVERY)


async def _fetch_alone(server: PaperServer, covered: date) -> tuple[float, float, int]:
    async with HttpClient(timeout=300, policy=RetryPolicy(retries=0)) as http:
        stop, worst = asyncio.Event(), [0.0]
        watcher = asyncio.create_task(_stall_watch(stop, worst))
        started = time.perf_counter()
        result = await _source(http, server).fetch(watermark=covered.isoformat())
        seconds = time.perf_counter() - started
        stop.set()
        await watcher
    assert result.watermark is not None, result.warnings[:3]
    assert not result.warnings, result.warnings[:3]
    return seconds, worst[0], len(result.papers)


async def _poll(base: Path, path: Path, server: PaperServer, covered: date, seen: date, chunk: int) -> dict[str, Any]:
    shutil.copyfile(base, path)
    db = await Database.open(path)
    try:
        async with db.transaction() as conn:
            await db.sources.save(conn, SourceState(name="arxiv", watermark=covered.isoformat()))
        now = datetime.combine(seen, datetime.min.time(), UTC) + timedelta(hours=15)
        async with HttpClient(timeout=300, policy=RetryPolicy(retries=0)) as http:
            poller = Poller(db, [_source(http, server)], interval=900, clock=lambda: now, store_chunk=chunk)
            stop, waits = asyncio.Event(), list[float]()
            probe = asyncio.create_task(_other_writer(db, stop, waits))
            started = time.perf_counter()
            report = await poller.poll_once()
            seconds = time.perf_counter() - started
            stop.set()
            await probe
        assert (await db.sources.get("arxiv")).watermark == seen.isoformat()
        return {
            "poll_s": round(seconds, 2),
            "new": len(report.stored.new),
            "queued": report.queued.channel_rows + report.queued.user_rows,
            "writer_wait_max_s": round(max(waits), 3),
            "writer_wait_p50_ms": round(statistics.median(waits) * 1000, 1),
            "writer_probes": len(waits),
        }
    finally:
        await db.close()


async def _measure(ctx: Context) -> dict[str, Any]:
    count = PAPERS[ctx.scale.name]
    covered, seen = _days()
    records = _records(CorpusGenerator(ctx.vocabulary, ctx.seed, stream=11).fresh(count), covered, seen)
    page_body = arxiv_api.feed(records[:PAGE], total=count, start=0, per_page=PAGE)
    parse_ms = []
    for _ in range(3):
        started = time.perf_counter()
        parse_page(page_body, latest=seen)
        parse_ms.append((time.perf_counter() - started) * 1000)

    corpus = ctx.corpus()
    base = ctx.scratch("backfill-base.db")
    shutil.copyfile(corpus.path, base)
    db = await Database.open(base)
    try:  # the topics' query plans, as the bot builds them at start (bot.plans); setup, not timed
        ctx.say(f"backfill: indexing the corpus's {corpus.topics:,} topics")
        async with db.transaction() as conn:
            await db.queries.index_unindexed(conn)
    finally:
        await db.close()

    server = await PaperServer().start()
    try:
        server.arxiv_records = records
        pub = f"{seen.strftime('%a, %d %b %Y')} 00:00:00 -0500"
        server.arxiv_feed = rss_feed([rss_item("2603.99999", "The listing seen on recovery", pub_date=pub)])
        ctx.say(f"backfill: fetching {count:,} papers")
        fetch_s, stall_s, fetched = await _fetch_alone(server, covered)
        polls = {}
        for label, chunk in (("before", 10**9), ("after", STORE_CHUNK)):
            ctx.say(f"backfill: a poll storing {count:,} papers ({label}: {min(chunk, count):,} per transaction)")
            polls[label] = await _poll(base, ctx.scratch(f"backfill-{label}.db"), server, covered, seen, chunk)
    finally:
        await server.stop()

    before, after = polls["before"], polls["after"]
    metrics = {
        "papers": fetched,
        "fetch_s": round(fetch_s, 2),
        "fetch_papers_per_s": round(fetched / fetch_s),
        "longest_loop_stall_ms": round(stall_s * 1000, 1),
        "parse_page_ms_median": round(statistics.median(parse_ms), 1),
        "poll_after": after,
        "loadavg_at_end": [round(value, 2) for value in os.getloadavg()],
    }
    return {
        "inputs": {"papers": count, "page_size": PAGE, "store_chunk": STORE_CHUNK, "corpus": corpus.papers},
        "metrics": metrics,
        "baseline": {"poll_before": before},
        "ratios": {"writer_wait_max": ratio(before["writer_wait_max_s"], after["writer_wait_max_s"])},
        "targets": [],
        "table": [
            {"metric": f"fetch {fetched:,} papers in pages of {PAGE:,} (spacing aside)", "value": f"{fetch_s:.2f} s"},
            {
                "metric": f"parse one {PAGE:,}-entry page (worker thread)",
                "value": f"{metrics['parse_page_ms_median']} ms",
            },
            {"metric": "longest event-loop stall during the fetch", "value": f"{metrics['longest_loop_stall_ms']} ms"},
            {"metric": "whole poll", "value": f"{after['poll_s']} s", "baseline": f"{before['poll_s']} s"},
            {
                "metric": "longest wait of another writer during the poll",
                "value": f"{after['writer_wait_max_s']} s",
                "baseline": f"{before['writer_wait_max_s']} s",
                "ratio": ratio(before["writer_wait_max_s"], after["writer_wait_max_s"]),
            },
            {"metric": "deliveries queued", "value": f"{after['queued']:,}", "baseline": f"{before['queued']:,}"},
        ],
    }


def run(ctx: Context) -> dict[str, Any]:
    return run_async(_measure(ctx))
