"""A bot-like process for the ``resources`` benchmark: run as ``python -m bench.idle DB [QUERY ...]``.

It imports what the bot imports (discord.py, the cogs), opens the database, runs a few searches, reads every
topic and keeps it parsed in memory (what topic matching will hold), sits idle, and prints its memory as JSON.
``--no-db`` stops after the imports: the baseline, i.e. what the interpreter and libraries cost alone.
Run in a subprocess so the benchmark's own corpus and samples do not count.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any


def _status_kib(field: str) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def _snapshot(label: str, steps: list[dict[str, Any]]) -> None:
    rss, peak = _status_kib("VmRSS"), _status_kib("VmHWM")
    steps.append(
        {
            "step": label,
            "rss_mib": None if rss is None else round(rss / 1024, 1),
            "peak_so_far_mib": None if peak is None else round(peak / 1024, 1),
        }
    )


async def _main(db_path: str | None, queries: list[str], idle_s: float, semantic_on: bool = False) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    _snapshot("interpreter", steps)
    import bot.app

    for name in bot.app.EXTENSIONS:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    _snapshot("imports (bot.app, discord.py, cogs)", steps)
    topics = 0
    if db_path is not None:
        from bot.db import Database
        from bot.query import parse_query
        from bot.search import search

        db = await Database.open(db_path)
        try:
            _snapshot("database open", steps)
            semantic = None
            if semantic_on:  # what the bot holds with semantic search on: the model and the index
                from bot.semantic import Semantic

                semantic = Semantic(db)
                await semantic.load()
                _snapshot(f"model and index loaded ({len(semantic.index):,} vectors)", steps)
            for query in queries:
                await search(db, query, per_page=5, semantic=semantic)
            _snapshot(f"{len(queries)} searches", steps)
            rows = await db.fetchall("SELECT id, user_id, query, created_at FROM topics")
            held = [(row["id"], row["user_id"], parse_query(row["query"])) for row in rows]
            topics = len(held)
            del rows
            _snapshot(f"{topics:,} topics parsed and held", steps)
            await asyncio.sleep(idle_s)
            _snapshot("idle", steps)
            if semantic is not None:
                semantic.close()
        finally:
            await db.close()
    # VmHWM is this address space's peak RSS. ru_maxrss is not used as the figure: Linux carries it across
    # fork+exec, so a child of a big process reports at least the parent's size at fork time.
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    hwm = _status_kib("VmHWM")
    rss = _status_kib("VmRSS")
    return {
        "rss_mib": None if rss is None else round(rss / 1024, 1),
        "peak_rss_mib": round((hwm if hwm is not None else maxrss_kib) / 1024, 1),
        "peak_source": "VmHWM" if hwm is not None else "ru_maxrss",
        "ru_maxrss_mib": round(maxrss_kib / 1024, 1),
        "topics_held": topics,
        "steps": steps,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.idle")
    parser.add_argument("db", nargs="?")
    parser.add_argument("queries", nargs="*")
    parser.add_argument("--no-db", action="store_true")
    parser.add_argument("--idle", type=float, default=1.0)
    parser.add_argument("--semantic", action="store_true", help="load the model and the index (bench.semantic)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = asyncio.run(_main(None if args.no_db else args.db, args.queries, args.idle, args.semantic))
    result["seconds"] = round(time.perf_counter() - started, 2)
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
