"""Semantic search figures: encoder throughput and query latency (real encodes), nearest/related latency,
int8 recall against float32, index memory and disk per paper (random unit vectors at archive scale).

    python -m bench.semantic [--papers 100000] [--queries 50]

Archive-scale vectors are random unit vectors, not real embeddings (encoding 100k papers takes hours on two
cores): latency and memory of an exact scan do not depend on the values, recall of int8 is measured on them
and on the real seed embeddings.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import bot.semantic  # noqa: F401 - pins BLAS to one thread before numpy loads
from bot.semantic import index as index_module
from bot.semantic.encoder import DIMENSIONS, Encoder
from bot.semantic.index import VectorIndex
from bot.semantic.vectors import embedding_text, text_hash, to_blob
from bot.sources.hf import dedupe, parse_daily_papers
from testing.paths import SHARED_FIXTURES


def _ms(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return {"p50_ms": round(statistics.median(values) * 1000, 2), "p95_ms": round(p95 * 1000, 2)}


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed_texts() -> list[str]:
    papers = []
    for name in ("000", "001", "002"):
        data = json.loads((SHARED_FIXTURES / "seeds" / f"hf_daily_papers_{name}.json").read_text(encoding="utf-8"))
        papers += parse_daily_papers(data).papers
    return [embedding_text(paper.title, paper.abstract) for paper in dedupe(papers)]


def encoder_figures(encoder: Encoder, batch: int) -> tuple[dict[str, object], np.ndarray]:
    texts = seed_texts()
    started = time.perf_counter()
    vectors = np.vstack([encoder.encode(texts[i : i + batch]) for i in range(0, len(texts), batch)])
    elapsed = time.perf_counter() - started
    questions = [
        item["q"]
        for item in json.loads((SHARED_FIXTURES / "search-eval" / "questions.json").read_text(encoding="utf-8"))[
            "questions"
        ]
    ]
    times = []
    for _ in range(3):
        for question in questions:
            began = time.perf_counter()
            encoder.encode([question])
            times.append(time.perf_counter() - began)
    return {
        "papers": len(texts),
        "batch": batch,
        "papers_per_s": round(len(texts) / elapsed, 2),
        "query_encode": _ms(times),
    }, vectors


def recall_int8(vectors: np.ndarray, queries: np.ndarray, k: int = 10) -> float:
    index = VectorIndex(DIMENSIONS)
    index.add_vectors(list(range(len(vectors))), vectors)
    hits = 0
    for query in queries:
        exact = set(np.argsort(-(vectors @ query))[:k].tolist())
        hits += len(exact & {pk for pk, _ in index.search(query, k)})
    return hits / (k * len(queries))


def random_unit(n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((n, DIMENSIONS), dtype=np.float32)
    for start in range(0, n, 100_000):
        block = rng.standard_normal((min(100_000, n - start), DIMENSIONS), dtype=np.float32)
        out[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def clustered_unit(n: int, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    """Papers around topics (cosine ~0.6 to their topic), closer to real embeddings than uniform noise."""
    picks = rng.integers(0, len(centres), size=n)
    block = centres[picks] + 0.045 * rng.standard_normal((n, DIMENSIONS), dtype=np.float32)
    unit: np.ndarray = (block / np.linalg.norm(block, axis=1, keepdims=True)).astype(np.float32)
    return unit


def index_figures(papers: int, queries: int, rng: np.random.Generator) -> dict[str, object]:
    before = _rss_mib()
    index = VectorIndex(DIMENSIONS)
    centres = random_unit(max(100, papers // 50), rng)
    for start in range(0, papers, 100_000):
        block = clustered_unit(min(100_000, papers - start), rng, centres)
        index.add_vectors(list(range(start + 1, start + len(block) + 1)), block)
    built = _rss_mib()
    hits = 0
    for pk in rng.integers(1, papers, size=queries).tolist():
        query = index.vector(pk)
        assert query is not None
        approximate = {found for found, _ in index.search(query, 5, exclude=(pk,))}
        exact_limit, index_module.EXACT_LIMIT = index_module.EXACT_LIMIT, papers + 1
        try:
            exact = {found for found, _ in index.search(query, 5, exclude=(pk,))}
        finally:
            index_module.EXACT_LIMIT = exact_limit
        hits += len(approximate & exact)
    recall = hits / (5 * queries)
    probes = random_unit(queries, rng)
    nearest: list[float] = []
    for query in probes:
        began = time.perf_counter()
        index.search(query, 10)
        nearest.append(time.perf_counter() - began)
    related: list[float] = []
    for pk in rng.integers(1, papers, size=queries).tolist():
        began = time.perf_counter()
        vector = index.vector(int(pk))
        assert vector is not None
        index.search(vector, 5, exclude=(int(pk),))
        related.append(time.perf_counter() - began)
    within: list[float] = []
    for query in probes:
        candidates = rng.integers(1, papers, size=1000).tolist()
        began = time.perf_counter()
        index.search(query, 10, within=candidates)
        within.append(time.perf_counter() - began)
    return {
        "papers": papers,
        "vectors": "synthetic: clustered unit vectors (papers // 50 topics, cosine ~0.6 to their topic)",
        "related_recall_at_5_vs_exact_int8": round(recall, 3),
        "index_rss_growth_mib": round(built - before, 1),
        "nearest_top10": _ms(nearest),
        "related_top5": _ms(related),
        "nearest_within_1000": _ms(within),
    }


def disk_per_paper(rows: int = 20_000) -> float:
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "e.db"
        conn = sqlite3.connect(path)
        conn.execute(
            "CREATE TABLE paper_embeddings (paper_pk INTEGER PRIMARY KEY, model TEXT NOT NULL, "
            "text_hash BLOB NOT NULL, vector BLOB NOT NULL, stale INTEGER NOT NULL DEFAULT 0)"
        )
        vectors = random_unit(rows, rng)
        conn.executemany(
            "INSERT INTO paper_embeddings VALUES (?, ?, ?, ?, 0)",
            ((i + 1, "all-MiniLM-L6-v2", text_hash("m", str(i)), to_blob(v)) for i, v in enumerate(vectors)),
        )
        conn.commit()
        conn.execute("VACUUM")
        conn.close()
        return path.stat().st_size / rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.semantic", description=__doc__)
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--skip-encoder", action="store_true")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(13)
    results: dict[str, object] = {"rss_start_mib": round(_rss_mib(), 1)}
    if not args.skip_encoder:
        began = time.perf_counter()
        encoder = Encoder.load()
        results["model_load_s"] = round(time.perf_counter() - began, 2)
        results["rss_after_model_load_mib"] = round(_rss_mib(), 1)
        figures, seed_vectors = encoder_figures(encoder, args.batch)
        results["encoder"] = figures
        results["int8_recall_at_10_seed_papers"] = recall_int8(seed_vectors, seed_vectors[:50])
        del encoder
    results["int8_recall_at_10_random_20k"] = recall_int8(random_unit(20_000, rng), random_unit(50, rng))
    results["index"] = index_figures(args.papers, args.queries, rng)
    results["disk_bytes_per_paper_embeddings_table"] = round(disk_per_paper(), 1)
    results["rss_peak_mib"] = round(_rss_mib(), 1)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
