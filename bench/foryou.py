"""/foryou scoring figures: ``bot.foryou.rank`` (one chunked matrix product, max over saved papers) against
the obvious alternative, one nearest-neighbour search per saved paper within the recent papers, merged.

    python -m bench.foryou [--index 100000] [--reps 5]

Random unit vectors (latency of a dot-product scan does not depend on the values): an index of ``--index``
papers, of which the most recent 2k / 10k / 40k are the candidates (a day, a week, a month of arXiv and
Hugging Face at today's rates), and libraries of 3 / 100 / 500 saved papers (500 is ``MAX_SEEDS``). The
floor is off (random vectors are all far apart); it does not change the work.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

import bot.semantic  # noqa: F401 - pins BLAS to one thread before numpy loads
from bot.foryou import MAX_SEEDS, rank
from bot.semantic.encoder import DIMENSIONS
from bot.semantic.index import VectorIndex

CANDIDATES = (2_000, 10_000, 40_000)
SEEDS = (3, 100, MAX_SEEDS)
K = 10


def per_seed(index: VectorIndex, candidates: list[int], seeds: list[int], floor: float) -> list[tuple[int, int, float]]:
    """The alternative: each saved paper's own nearest recent papers, merged by best score."""
    best: dict[int, tuple[float, int]] = {}
    for seed in seeds:
        vector = index.vector(seed)
        assert vector is not None
        for pk, score in index.search(vector, K, within=candidates):
            if score >= floor and score > best.get(pk, (-2.0, 0))[0]:
                best[pk] = (score, seed)
    ordered = sorted(best.items(), key=lambda item: (-item[1][0], -item[0]))[:K]
    return [(pk, seed, score) for pk, (score, seed) in ordered]


def _p50_ms(function: Callable[[], Any], reps: int) -> float:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--index", type=int, default=100_000, help="papers in the index")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(14)
    vectors = rng.standard_normal((args.index, DIMENSIONS), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(DIMENSIONS)
    index.add_vectors(list(range(1, args.index + 1)), vectors)
    rows = []
    for candidates_n in CANDIDATES:
        candidates = list(range(args.index, args.index - candidates_n, -1))
        for seeds_n in SEEDS:
            seeds = [int(pk) for pk in rng.choice(args.index - candidates_n, seeds_n, replace=False) + 1]
            ours = rank(index, candidates, seeds, k=K, floor=-1.0)
            theirs = per_seed(index, candidates, seeds, -1.0)
            rows.append(
                {
                    "candidates": candidates_n,
                    "seeds": seeds_n,
                    "rank_p50_ms": _p50_ms(partial(rank, index, candidates, seeds, k=K, floor=-1.0), args.reps),
                    "per_seed_p50_ms": _p50_ms(
                        partial(per_seed, index, candidates, seeds, -1.0), max(1, args.reps // 2)
                    ),
                    "same_top10": [pk for pk, _, _ in ours] == [pk for pk, _, _ in theirs],
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"index": args.index, "loadavg": os.getloadavg(), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
