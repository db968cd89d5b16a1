"""``library``: a full library (2,000 saved papers, the per-member limit) over the corpus.

Measures the real paths: ``bot.library.save`` (limit check and insert in one transaction), the first page
of ``/library list`` newest first and filtered by a word (FTS5 restricted to the member's papers), the
BibTeX export of all 2,000 papers, and the lexical Related fallback (``bot.related`` without the semantic
index). The baseline for the filtered list is the naive order: search the whole archive with the same FTS5
expression, then keep the member's papers in Python. For Related it is the fallback before issue 13 part 3
(an OR of the title's longest words, BM25 over every match), timed on the same papers. The rows are written
under a user id no member has and removed afterwards, so the cached corpus is left as it was.
"""

from __future__ import annotations

import random
import time
from typing import Any

from bench.context import Context, latency_summary, ratio, run_async
from bot import library
from bot.db import Database
from bot.query import QueryError, parse_query
from bot.related import related, title_query
from bot.render.export import export

NAME = "library"
BENCH_USER = -424242
SAVED = library.MAX_PAPERS
REPS = 60


class _NoHF:
    async def fetch_paper(self, paper_id: str) -> None:  # every saved paper is in the corpus
        raise AssertionError(paper_id)


def _searchable(word: str) -> bool:
    try:
        parse_query(word)
    except QueryError:
        return False
    return True


async def _measure(ctx: Context) -> dict[str, Any]:
    corpus = ctx.corpus()
    db = await Database.open(corpus.path)
    rng = random.Random(f"{ctx.seed}:library")
    try:
        total = await db.papers.count()
        count = min(SAVED, total)
        # Drawn with the run's seed (SQLite's random() made every run save different papers).
        everyone = [row["arxiv_id"] for row in await db.fetchall("SELECT arxiv_id FROM papers ORDER BY pk")]
        ids = rng.sample(everyone, count)
        ctx.say(f"library: saving {count:,} papers for one member over {total:,} papers")
        save_ms: list[float] = []
        for paper_id in ids:
            start = time.perf_counter()
            await library.save(db, _NoHF(), BENCH_USER, paper_id)  # type: ignore[arg-type]  # a stand-in HF client that is never asked
            save_ms.append((time.perf_counter() - start) * 1000)

        first_page: list[float] = []
        for _ in range(REPS):
            start = time.perf_counter()
            await library.list_page(db, BENCH_USER)
            first_page.append((time.perf_counter() - start) * 1000)

        saved = await db.library.all_saved(BENCH_USER)
        # A title's first word, if it is a search on its own: "Not All Tokens ..." starts with an operator, which
        # /library filter answers with a QueryError (as it should), and the run failed on it now and then.
        words = [
            word
            for item in saved[:REPS]
            for word in item.paper.title.split()[:1]
            if word.isalpha() and _searchable(word)
        ] or ["model"]
        filtered: list[float] = []
        naive: list[float] = []
        for word in words:
            start = time.perf_counter()
            await library.list_page(db, BENCH_USER, query=word)
            filtered.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            fts = parse_query(word).fts()
            everything = await db.fetchall("SELECT rowid FROM papers_fts WHERE papers_fts MATCH ?", (fts,))
            mine = await db.library.saved_pks(BENCH_USER)
            _page = [row[0] for row in everything if row[0] in mine][:6]
            naive.append((time.perf_counter() - start) * 1000)

        start = time.perf_counter()
        saved = await db.library.all_saved(BENCH_USER)
        _, data = export(saved, "bibtex")
        export_ms = (time.perf_counter() - start) * 1000

        related_ms: list[float] = []
        related_or_ms: list[float] = []  # before: an OR of the title's longest words, BM25 over every match
        related_found = 0  # papers given at least one related paper (a title of common words gets none)
        for item in rng.sample(saved, min(REPS, len(saved))):
            start = time.perf_counter()
            answer = await related(db, None, item.paper)
            related_ms.append((time.perf_counter() - start) * 1000)
            related_found += bool(answer.papers)
            query = title_query(item.paper)
            start = time.perf_counter()
            if query is not None:
                await db.papers.search(query.fts(), limit=6)
            related_or_ms.append((time.perf_counter() - start) * 1000)
    finally:
        async with db.transaction() as conn:
            await db.library.delete_user(conn, BENCH_USER)
        await db.close()

    filtered_summary = latency_summary(filtered)
    naive_summary = latency_summary(naive)
    metrics: dict[str, Any] = {
        "save": latency_summary(save_ms),
        "list_first_page": latency_summary(first_page),
        "list_filtered": filtered_summary,
        "export_bibtex_ms": round(export_ms, 1),
        "export_bibtex_bytes": len(data),
        "related_lexical": latency_summary(related_ms),
        "related_lexical_answered_share": round(related_found / max(1, len(related_ms)), 2),
    }
    filtered_ratio = ratio(naive_summary.get("p95_ms", 0.0), filtered_summary.get("p95_ms", 0.0))
    related_or = latency_summary(related_or_ms)
    related_ratio = ratio(related_or.get("p95_ms", 0.0), metrics["related_lexical"].get("p95_ms", 0.0))
    return {
        "inputs": {"archive_papers": total, "saved": count, "reps": REPS},
        "metrics": metrics,
        "baseline": {
            "list_filtered_whole_archive_then_filter": naive_summary,
            "related_lexical_or_of_title_words": latency_summary(related_or_ms),
        },
        "ratios": {"list_filtered": filtered_ratio, "related_lexical": related_ratio},
        "targets": [],
        "table": [
            {"metric": "save p95 (ms)", "value": metrics["save"].get("p95_ms")},
            {
                "metric": f"/library list, {count:,} saved, p95 (ms)",
                "value": first_page and metrics["list_first_page"].get("p95_ms"),
            },
            {
                "metric": "/library list query p95 (ms)",
                "value": filtered_summary.get("p95_ms"),
                "baseline": naive_summary.get("p95_ms"),
                "ratio": filtered_ratio,
            },
            {"metric": f"BibTeX export of {count:,} (ms)", "value": metrics["export_bibtex_ms"]},
            {"metric": "BibTeX file (KiB)", "value": round(len(data) / 1024, 1)},
            {
                "metric": "Related, lexical fallback p95 (ms)",
                "value": metrics["related_lexical"].get("p95_ms"),
                "baseline": related_or.get("p95_ms"),
                "ratio": related_ratio,
            },
        ],
    }


def run(ctx: Context) -> dict[str, Any]:
    ctx.corpus()  # built (or reused) outside the timed event loop
    return run_async(_measure(ctx))
