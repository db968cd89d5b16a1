"""/foryou scoring figures: reading the vectors from SQLite, then ``bot.foryou.rank`` (decode and one chunked
matrix product, max over saved papers) against the obvious alternative, each saved paper's own nearest
recent papers (one product and top-k per saved paper) merged by best score.

    python -m bench.foryou [--index 100000] [--reps 5]

Random unit vectors stored as the embedder stores them (latency of a dot-product scan does not depend on
the values) in a real database of ``--index`` papers; the most recent 2k / 10k / 40k are the candidates
(about a day, a week and a month of arXiv and Hugging Face listings), and libraries hold 3 / 100 / 500 saved
papers (500 is ``MAX_SEEDS``). The floor is off (random vectors are all far apart); it does not change the work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

import bot.semantic  # noqa: F401 - pins BLAS to one thread before numpy loads
from bot.db import Database
from bot.foryou import MAX_SEEDS, decode, rank
from bot.semantic import DIMENSIONS, MODEL_NAME
from bot.semantic.vectors import quantise

CANDIDATES = (2_000, 10_000, 40_000)
SEEDS = (3, 100, MAX_SEEDS)
K = 10
Rows = Sequence[tuple[int, bytes]]


def per_seed(candidates: Rows, seeds: Rows, floor: float) -> list[tuple[int, int, float]]:
    """The alternative: each saved paper's own nearest recent papers, merged by best score."""
    pks, vectors = decode(candidates)
    best: dict[int, tuple[float, int]] = {}
    for seed, seed_vector in zip(*decode(seeds), strict=True):
        scores = vectors @ seed_vector
        for row in np.argpartition(-scores, min(K, len(scores) - 1))[:K]:
            pk, score = int(pks[row]), float(scores[row])
            if score >= floor and score > best.get(pk, (-2.0, 0))[0]:
                best[pk] = (score, int(seed))
    ordered = sorted(best.items(), key=lambda item: (-item[1][0], -item[0]))[:K]
    return [(pk, seed, score) for pk, (score, seed) in ordered]


def _p50_ms(function: Callable[[], Any], reps: int) -> float:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 1)


def build(path: Path, papers: int, rng: np.random.Generator) -> None:
    """A real schema (the migrations) holding ``papers`` papers with stored random embeddings."""
    asyncio.run(_migrate(path))
    vectors = rng.standard_normal((papers, DIMENSIONS), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    codes, scales = quantise(vectors)
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO papers (pk, arxiv_id, title, first_seen_at, updated_at, listed_at) VALUES (?, ?, ?, 1, 1, ?)",
            ((pk, f"2601.{pk:06d}", f"Paper {pk}", pk) for pk in range(1, papers + 1)),
        )
        conn.executemany(
            "INSERT INTO paper_embeddings (paper_pk, model, text_hash, vector) VALUES (?, ?, x'00', ?)",
            (
                (pk, MODEL_NAME, scales[pk - 1 : pk].astype("<f4").tobytes() + codes[pk - 1].tobytes())
                for pk in range(1, papers + 1)
            ),
        )


async def _migrate(path: Path) -> None:
    db = await Database.open(path)
    await db.close()


async def _fetch(path: Path, pks: list[int], reps: int) -> tuple[float, list[tuple[int, bytes]]]:
    db = await Database.open(path)
    try:
        times, rows = [], []
        for _ in range(reps):
            started = time.perf_counter()
            rows = await db.embeddings.vectors(MODEL_NAME, pks)
            times.append(time.perf_counter() - started)
        return round(statistics.median(times) * 1000, 1), rows
    finally:
        await db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--index", type=int, default=100_000, help="papers in the database")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(14)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "foryou.db"
        build(path, args.index, rng)
        for candidates_n in CANDIDATES:
            candidate_pks = list(range(args.index, args.index - candidates_n, -1))
            fetch_ms, candidates = asyncio.run(_fetch(path, candidate_pks, args.reps))
            for seeds_n in SEEDS:
                seed_pks = [int(pk) for pk in rng.choice(args.index - candidates_n, seeds_n, replace=False) + 1]
                _, seeds = asyncio.run(_fetch(path, seed_pks, 1))
                ours = rank(candidates, seeds, k=K, floor=-1.0)
                theirs = per_seed(candidates, seeds, -1.0)
                rows.append(
                    {
                        "candidates": candidates_n,
                        "seeds": seeds_n,
                        "fetch_p50_ms": fetch_ms,
                        "rank_p50_ms": _p50_ms(partial(rank, candidates, seeds, k=K, floor=-1.0), args.reps),
                        "per_seed_p50_ms": _p50_ms(partial(per_seed, candidates, seeds, -1.0), args.reps),
                        "same_top10": [pk for pk, _, _ in ours] == [pk for pk, _, _ in theirs],
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"index": args.index, "loadavg": os.getloadavg(), "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
