"""Benchmarks for paperbot: search, ingestion, resources (and, with the delivery work, matching and fan-out).

Run ``python -m bench --scale small|medium|large [--only NAME ...] [--out PATH]``, or from Python
``bench.run(scale="small", only=None, out=None)``, which returns the results dict it also writes as JSON
(``bench-results/<UTC timestamp>-<scale>.json`` unless ``out`` is given) and prints as a table.

Registry
--------
``REGISTRY`` maps each benchmark's name to the module that implements it, in run order. A benchmark is one
module in ``bench/`` exposing::

    def run(ctx: bench.context.Context) -> dict: ...

``ctx`` carries the scale (``ctx.scale``: corpus, topic and repetition sizes), the seed, the synthetic
vocabulary (``ctx.vocabulary``), the cached corpus database (``ctx.corpus()``: built through the real upsert
path on first use, reused afterwards; holds ``ctx.scale.papers`` papers and ``ctx.scale.topics`` topics),
a scratch folder removed after the run (``ctx.scratch(name)``), the machine description and ``ctx.say()`` for
progress on stderr. ``run`` is synchronous; use ``bench.context.run_async`` for coroutines. Generators for
new papers and topic queries are in ``bench.corpus`` (``CorpusGenerator(...).fresh(n)``, ``topics(...)``).

The returned dict should be JSON-serialisable and, by convention, hold:

* ``inputs``: what was measured (sizes, mixes, repetitions), so a figure can be reproduced;
* ``metrics``: the figures (latencies as p50/p95/p99 via ``bench.context.latency_summary``);
* ``baseline``: the naive alternative's figures from the same run, and ``ratios`` against it
  (a ratio above 1 always means the real path is better);
* ``targets``: ``bench.context.target(name, goal, value, met)`` entries; ``met`` is None where the target
  is stated for another scale;
* ``table``: rows ``{"metric", "value", "baseline"?, "ratio"?}`` for the printed table.

The runner adds ``name``, ``status`` (ok / error / not-implemented) and ``seconds``. To add a benchmark,
write ``bench/NAME.py`` with ``run(ctx)`` and add ``"NAME": "bench.NAME"`` here. ``matching`` (topic
percolation of 1,000 new papers against 1k/10k/100k topics) and ``fanout`` (delivery through discord.py to a
fake Discord) are registered already and reported as not-implemented until their modules exist.

``ctx.options["what_if"]`` (``--what-if``) asks a benchmark to also measure candidate fixes, patched in for
that pass only (see ``bench.whatif``); their figures are labelled and never replace the real path's.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import time
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.context import DEFAULT_RESULTS_DIR, DEFAULT_SEED, SCALES, Context, machine_info

__all__ = ["REGISTRY", "SCALES", "Context", "run"]

# One BLAS thread, as the bot runs (bot/semantic/__init__.py). Nothing above imports numpy; this must come
# before any benchmark does: on a busy 2-core machine BLAS threads made each query encode several times slower.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

REGISTRY: dict[str, str] = {
    "search": "bench.search",
    "ingest": "bench.ingest",
    "resources": "bench.resources",
    "matching": "bench.matching",
    "fanout": "bench.fanout",
    "library": "bench.library",
    "soak": "bench.soak",
    "ceiling": "bench.ceiling",
    "startup": "bench.startup",
    "semantic": "bench.semantic",
    "backfill": "bench.backfill",
}
RESULTS_VERSION = 1


def select(only: str | Iterable[str] | None) -> list[str]:
    """Registered names to run, in registry order; ``only`` may mix repeated names and comma lists."""
    if only is None:
        return list(REGISTRY)
    items = [only] if isinstance(only, str) else list(only)
    wanted = {name.strip() for item in items for name in item.split(",") if name.strip()}
    unknown = sorted(wanted - set(REGISTRY))
    if unknown:
        raise ValueError(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
    return [name for name in REGISTRY if name in wanted]


def _run_one(name: str, ctx: Context) -> dict[str, Any]:
    module_name = REGISTRY[name]
    started = time.perf_counter()
    if importlib.util.find_spec(module_name) is None:
        return {"name": name, "status": "not-implemented", "seconds": 0.0}
    ctx.say(f"{name}: start")
    try:
        result = importlib.import_module(module_name).run(ctx)
    except Exception as error:
        return {
            "name": name,
            "status": "error",
            "error": f"{type(error).__name__}: {error}",
            "traceback": traceback.format_exc(),
            "seconds": round(time.perf_counter() - started, 2),
        }
    seconds = round(time.perf_counter() - started, 2)
    ctx.say(f"{name}: done in {seconds}s")
    return {"name": name, "status": "ok", **result, "seconds": seconds}


def run(
    scale: str = "small",
    only: str | Iterable[str] | None = None,
    out: str | Path | None = None,
    *,
    seed: int = DEFAULT_SEED,
    cache_dir: str | Path | None = None,
    log: bool = True,
    print_table: bool = True,
    what_if: bool = False,
) -> dict[str, Any]:
    """Run the selected benchmarks at ``scale``; write the JSON results and return them."""
    from bench.report import render

    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    names = select(only)
    started_at = datetime.now(UTC)
    ctx = Context(
        scale=SCALES[scale],
        seed=seed,
        cache_dir=Path(cache_dir) if cache_dir is not None else DEFAULT_RESULTS_DIR / "cache",
        machine=machine_info(),
        log=log,
        options={"what_if": what_if},
    )
    started = time.perf_counter()
    try:
        benchmarks = {name: _run_one(name, ctx) for name in names}
    finally:
        ctx.cleanup()
    ctx.machine["loadavg_at_end"] = machine_info()["loadavg_at_start"]
    results: dict[str, Any] = {
        "version": RESULTS_VERSION,
        "started_at": started_at.isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 2),
        "scale": scale,
        "seed": seed,
        "context": ctx.describe(),
        "machine": ctx.machine,
        "benchmarks": benchmarks,
        "targets": [
            {"benchmark": name, **item} for name, result in benchmarks.items() for item in result.get("targets", [])
        ],
    }
    path = Path(out) if out is not None else DEFAULT_RESULTS_DIR / f"{started_at:%Y%m%dT%H%M%SZ}-{scale}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    import json

    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    results["out"] = str(path)
    if print_table:
        print(render(results))
    return results
