"""``search``: latency of the real ``/search`` path over the corpus, against a naive LIKE scan.

The real path is ``bot.search.search(db, query, sort=..., per_page=5)``: parse, FTS5 MATCH with BM25, join to
papers, six rows back as ``Paper`` objects, through aiosqlite's reader thread, exactly as the command does.
The baseline answers the same parsed query with ``LIKE '%term%'`` over title and abstract (AND of groups, OR
inside a group, NOT for exclusions), newest first, six rows, through the same reader connection and the same
row-to-Paper conversion, so the ratio isolates the index.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

from bench.context import Context, latency_summary, percentile, ratio, run_async, target
from bench.corpus import search_mix
from bot.db import Database
from bot.db.papers import from_row
from bot.models import Source
from bot.query import Query, Term, parse_query
from bot.search import search

NAME = "search"
P95_TARGET_MS = 20.0
P95_TARGET_SCALE = "large"  # the issue states the latency target for 1M papers
RATIO_TARGET = 100.0
RATIO_TARGET_SCALE = "medium"  # and the speed-up for 100k papers
_COLUMNS = (
    "p.arxiv_id, p.title, p.abstract, p.authors, p.keywords, p.ai_summary, p.upvotes, p.num_comments, "
    "p.github_repo, p.github_stars, p.project_page, p.organization, p.thumbnail, p.categories, "
    "p.published_at, p.listed_at, p.sources"
)


def like_sql(query: Query, limit: int = 6) -> tuple[str, list[str]]:
    """The naive translation: every term a substring test on title or abstract, no index, no ranking."""

    def term_sql(term: Term) -> tuple[str, list[str]]:
        pattern = f"%{' '.join(term.tokens)}%"
        return "(p.title LIKE ? OR p.abstract LIKE ?)", [pattern, pattern]

    clauses: list[str] = []
    params: list[str] = []
    for group in query.groups:
        parts = [term_sql(term) for term in group]
        clauses.append("(" + " OR ".join(sql for sql, _ in parts) + ")")
        params += [value for _, values in parts for value in values]
    for term in query.excluded:
        sql, values = term_sql(term)
        clauses.append(f"NOT {sql}")
        params += values
    where = " AND ".join(clauses)
    return f"SELECT {_COLUMNS} FROM papers p WHERE {where} ORDER BY p.listed_at DESC LIMIT {int(limit)}", params


async def _like_search(db: Database, query: Query) -> int:
    sql, params = like_sql(query)
    rows = await db.fetchall(sql, params)
    return len([from_row(row) for row in rows])


async def _measure(ctx: Context) -> dict[str, Any]:
    corpus = ctx.corpus()
    scale = ctx.scale
    mix = search_mix(ctx.vocabulary, ctx.seed)
    parsed = [(kind, text, parse_query(text)) for kind, text in mix]
    rng = random.Random(f"{ctx.seed}:search-order")
    db = await Database.open(corpus.path)
    try:
        hits: dict[str, list[int]] = defaultdict(list)
        for kind, _text, query in parsed:
            hits[kind].append(await db.papers.count_matches(query.fts()))
        ctx.say(f"search: {len(parsed)} queries over {corpus.papers:,} papers; warming up")
        top5: dict[str, list[str]] = {}
        for _kind, text, _query in parsed:  # one untimed pass: page cache and statement cache warm
            top5[text] = [paper.id for paper in (await search(db, text, per_page=5)).papers]

        async def timed_pass(
            sort: str, reps: int, **filters: Any
        ) -> tuple[list[float], dict[str, list[float]], dict[str, list[float]]]:
            samples: list[float] = []
            by_kind: dict[str, list[float]] = defaultdict(list)
            by_query: dict[str, list[float]] = defaultdict(list)
            for _ in range(reps):
                order = list(parsed)
                rng.shuffle(order)
                for kind, text, _query in order:
                    start = time.perf_counter()
                    await search(db, text, sort=sort, per_page=5, **filters)  # type: ignore[arg-type]  # sort is a Sort literal
                    elapsed = (time.perf_counter() - start) * 1000
                    samples.append(elapsed)
                    by_kind[kind].append(elapsed)
                    by_query[text].append(elapsed)
            return samples, by_kind, by_query

        ctx.say(f"search: timing relevance sort, {scale.search_reps} reps")
        relevance, relevance_kinds, relevance_queries = await timed_pass("relevance", scale.search_reps)
        ctx.say("search: timing newest sort")
        newest, newest_kinds, _ = await timed_pass("newest", max(1, scale.search_reps // 2))
        # What /search's options add: the other sort and each filter, one pass each (reported, no target).
        latest = await db.papers.latest_listed_at()
        variants: dict[str, dict[str, Any]] = {
            "most upvoted first": {"sort": "upvotes"},
            "relevance, last 7 days": {"sort": "relevance", "since": latest - timedelta(days=7) if latest else None},
            "relevance, >= 10 upvotes": {"sort": "relevance", "min_upvotes": 10},
            "relevance, Hugging Face only": {"sort": "relevance", "source": Source.HF},
        }
        options: dict[str, dict[str, float | int]] = {}
        for name, variant in variants.items():
            ctx.say(f"search: timing {name}")
            samples_for, _, _ = await timed_pass(variant.pop("sort"), 1, **variant)
            options[name] = latency_summary(samples_for)

        real_p95 = float(latency_summary(relevance)["p95_ms"])
        what_if = await _what_if(ctx, db, parsed, top5, real_p95) if ctx.options.get("what_if") else {}

        subset = parsed[:: scale.baseline_every]
        ctx.say(f"search: LIKE baseline on {len(subset)} queries x {scale.baseline_reps} reps")
        baseline: list[float] = []
        baseline_by_query: dict[str, list[float]] = defaultdict(list)
        baseline_by_kind: dict[str, list[float]] = defaultdict(list)
        for kind, text, query in subset:
            await _like_search(db, query)  # warm, like the real path got
            for _ in range(scale.baseline_reps):
                start = time.perf_counter()
                await _like_search(db, query)
                elapsed = (time.perf_counter() - start) * 1000
                baseline.append(elapsed)
                baseline_by_query[text].append(elapsed)
                baseline_by_kind[kind].append(elapsed)
    finally:
        await db.close()

    # The ratio compares like with like: per query, the real path's median against the baseline's median.
    real_subset = [percentile(relevance_queries[text], 50) for _k, text, _q in subset]
    base_subset = [percentile(baseline_by_query[text], 50) for _k, text, _q in subset]
    per_query_ratios = [b / r for b, r in zip(base_subset, real_subset, strict=True) if r > 0]
    real_summary = latency_summary(relevance)
    base_summary = latency_summary(baseline)
    real_sub_summary = latency_summary(real_subset)
    base_sub_summary = latency_summary(base_subset)
    p50_ratio = ratio(base_sub_summary["p50_ms"], real_sub_summary["p50_ms"])
    kinds: dict[str, dict[str, Any]] = {
        kind: {
            "relevance": latency_summary(relevance_kinds[kind]),
            "newest_p50_ms": round(percentile(newest_kinds[kind], 50), 3),
            "baseline_p50_ms": round(percentile(baseline_by_kind[kind], 50), 3) if baseline_by_kind[kind] else None,
            "matches_median": int(percentile(hits[kind], 50)),
            "matches_max": max(hits[kind]),
            "queries": [text for k, text, _q in parsed if k == kind],
        }
        for kind in hits
    }
    slowest = sorted(relevance_queries.items(), key=lambda item: -percentile(item[1], 50))[:5]
    p95 = float(real_summary["p95_ms"])
    targets = [
        target(
            "search p95 at 1M papers",
            f"<= {P95_TARGET_MS:g} ms",
            p95,
            p95 <= P95_TARGET_MS if scale.name == P95_TARGET_SCALE else None,
        ),
        target(
            "speed-up over LIKE at 100k papers (median per-query latency)",
            f">= {RATIO_TARGET:g}x",
            p50_ratio,
            (p50_ratio is not None and p50_ratio >= RATIO_TARGET) if scale.name == RATIO_TARGET_SCALE else None,
        ),
    ]
    table = [
        {"metric": "relevance p50 / p95 / p99", "value": _ms3(real_summary), "baseline": _ms3(base_summary)},
        {
            "metric": "median per-query latency (baseline subset)",
            "value": f"{real_sub_summary['p50_ms']:.2f} ms",
            "baseline": f"{base_sub_summary['p50_ms']:.2f} ms",
            "ratio": _x(p50_ratio),
        },
        {
            "metric": "p95 per-query latency (baseline subset)",
            "value": f"{real_sub_summary['p95_ms']:.2f} ms",
            "baseline": f"{base_sub_summary['p95_ms']:.2f} ms",
            "ratio": _x(ratio(base_sub_summary["p95_ms"], real_sub_summary["p95_ms"])),
        },
        {"metric": "newest-first p50 / p95 / p99", "value": _ms3(latency_summary(newest))},
        *[{"metric": f"{name} p50 / p95 / p99", "value": _ms3(summary)} for name, summary in options.items()],
        *[
            {
                "metric": f"  {kind} p50 / p95 (median matches)",
                "value": f"{data['relevance']['p50_ms']:.2f} / {data['relevance']['p95_ms']:.2f} ms "
                f"({data['matches_median']:,})",
                "baseline": "-" if data["baseline_p50_ms"] is None else f"{data['baseline_p50_ms']:.2f} ms p50",
                "ratio": _x(ratio(data["baseline_p50_ms"], data["relevance"]["p50_ms"]))
                if data["baseline_p50_ms"] is not None
                else "",
            }
            for kind, data in kinds.items()
        ],
    ]
    return {
        "inputs": {
            "corpus": corpus.describe(),
            "queries": len(parsed),
            "kinds": list(hits),
            "per_page": 5,
            "relevance_reps": scale.search_reps,
            "newest_reps": max(1, scale.search_reps // 2),
            "baseline_queries": len(subset),
            "baseline_reps": scale.baseline_reps,
            "vocabulary": ctx.vocabulary.describe(),
        },
        "metrics": {
            "relevance": real_summary,
            "newest": latency_summary(newest),
            "options": options,
            "by_kind": kinds,
            "slowest_queries": [{"query": q, "p50_ms": round(percentile(s, 50), 3)} for q, s in slowest],
            "baseline_subset_real": real_sub_summary,
        },
        "baseline": {"what": "LIKE '%term%' over title and abstract, newest first, LIMIT 6", **base_summary},
        "ratios": {
            "p50_per_query": p50_ratio,
            "p95_per_query": ratio(base_sub_summary["p95_ms"], real_sub_summary["p95_ms"]),
            "mean_per_query": ratio(base_sub_summary["mean_ms"], real_sub_summary["mean_ms"]),
            "min_per_query": round(min(per_query_ratios), 2) if per_query_ratios else None,
        },
        "what_if": what_if,
        "targets": targets,
        "table": table
        + [
            {
                "metric": f"what-if {name}: relevance p50 / p95 / p99 (top-5 same as real: {data['same_top5']:.0%})",
                "value": _ms3(data["relevance"]),
                "ratio": _x(data["p95_speedup_vs_real"]) + " p95",
            }
            for name, data in what_if.items()
        ],
    }


async def _what_if(
    ctx: Context, db: Database, parsed: list[tuple[str, str, Query]], top5: dict[str, list[str]], real_p95: float
) -> dict[str, Any]:
    """Each candidate from ``bench.whatif`` through the real ``search()``, patched in for its pass only."""
    from bench.whatif import VARIANTS, patched

    reps = max(2, ctx.scale.search_reps // 2)
    out: dict[str, Any] = {}
    for name in VARIANTS:
        ctx.say(f"search: what-if {name}, {reps} reps")
        with patched(name):
            same = 0
            for _kind, text, _query in parsed:
                ids = [paper.id for paper in (await search(db, text, per_page=5)).papers]
                same += ids == top5[text]
            samples: list[float] = []
            by_kind: dict[str, list[float]] = defaultdict(list)
            for _ in range(reps):
                for kind, text, _query in parsed:
                    start = time.perf_counter()
                    await search(db, text, per_page=5)
                    elapsed = (time.perf_counter() - start) * 1000
                    samples.append(elapsed)
                    by_kind[kind].append(elapsed)
        summary = latency_summary(samples)
        out[name] = {
            "relevance": summary,
            "by_kind_p50_ms": {kind: round(percentile(values, 50), 3) for kind, values in by_kind.items()},
            "same_top5": same / len(parsed),
            "reps": reps,
            "p95_speedup_vs_real": ratio(real_p95, float(summary["p95_ms"])),
        }
    return out


def _ms3(summary: dict[str, Any]) -> str:
    if not summary.get("n"):
        return "-"
    return f"{summary['p50_ms']:.2f} / {summary['p95_ms']:.2f} / {summary['p99_ms']:.2f} ms"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}x"


def run(ctx: Context) -> dict[str, Any]:
    ctx.corpus()  # built (or reused) outside the timed event loop
    return run_async(_measure(ctx))
