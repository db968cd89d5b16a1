"""``resources``: bytes on disk per paper, and the memory of a bot-like process holding the corpus and topics.

Disk: the database file plus its WAL after a checkpoint, divided by the paper count, broken down by table with
SQLite's ``dbstat`` so the FTS index's share is visible; the baseline is the raw text a paper carries.
Memory: peak RSS of ``python -m bench.idle`` (imports, open, a few searches, all topics parsed and held, idle),
in a subprocess so this process's own state does not count; the baseline is the same process without the db.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.context import Context, target
from bench.corpus import search_mix

NAME = "resources"
RSS_TARGET_MIB = 200.0
RSS_TARGET_SCALE = "large"  # the issue states it for 1M papers and 100k topics
_TEXT_BYTES = (
    "SELECT SUM(length(CAST(arxiv_id AS BLOB)) + length(CAST(title AS BLOB)) + length(CAST(abstract AS BLOB)) "
    "+ length(CAST(authors AS BLOB)) + length(CAST(keywords AS BLOB)) + COALESCE(length(CAST(ai_summary AS BLOB)), 0)"
    " + length(CAST(categories AS BLOB))) FROM papers"
)


def _disk(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        papers = conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0]
        text_bytes = conn.execute(_TEXT_BYTES).fetchone()[0] or 0
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        free_pages = conn.execute("PRAGMA freelist_count").fetchone()[0]
        groups: dict[str, int] = {}
        try:
            for name, size in conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
                group = (
                    "fts index"
                    if name.startswith("papers_fts")
                    else "papers table"
                    if name == "papers"
                    else "papers indexes"
                    if name.startswith(("papers_", "sqlite_autoindex_papers"))
                    else "topics"
                    if "topics" in name
                    else "other"
                )
                groups[group] = groups.get(group, 0) + int(size)
        except sqlite3.OperationalError:  # dbstat is optional in SQLite builds
            groups = {}
    finally:
        conn.close()
    db_bytes = path.stat().st_size
    wal = Path(f"{path}-wal")
    wal_bytes = wal.stat().st_size if wal.exists() else 0
    total = db_bytes + wal_bytes
    return {
        "papers": papers,
        "db_bytes": db_bytes,
        "wal_bytes": wal_bytes,
        "bytes_per_paper": round(total / papers, 1) if papers else None,
        "text_bytes_per_paper": round(text_bytes / papers, 1) if papers else None,
        "page_size": page_size,
        "free_pages": free_pages,
        "by_part_bytes_per_paper": {k: round(v / papers, 1) for k, v in sorted(groups.items())} if papers else {},
    }


def _child(args: list[str]) -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(  # noqa: S603 - our own interpreter running our own module
        [sys.executable, "-m", "bench.idle", *args], capture_output=True, text=True, env=env, cwd=root, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.idle failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def run(ctx: Context) -> dict[str, Any]:
    corpus = ctx.corpus()
    ctx.say("resources: measuring disk use (dbstat walks every page)")
    disk = _disk(corpus.path)
    queries = [text for _kind, text in search_mix(ctx.vocabulary, ctx.seed)[::8]]
    ctx.say("resources: bot-like process memory")
    baseline = _child(["--no-db"])
    bot_like = _child([str(corpus.path), *queries])
    peak = bot_like["peak_rss_mib"]
    rss_target = target(
        "peak RSS, bot-like process, 1M papers + 100k topics",
        f"<= {RSS_TARGET_MIB:g} MiB",
        peak,
        peak <= RSS_TARGET_MIB if ctx.scale.name == RSS_TARGET_SCALE else None,
    )
    table = [
        {
            "metric": f"database bytes per paper ({corpus.papers:,} papers, {corpus.topics:,} topics)",
            "value": f"{disk['bytes_per_paper']:,.0f} B",
            "baseline": f"{disk['text_bytes_per_paper']:,.0f} B text",
            "ratio": f"{disk['bytes_per_paper'] / disk['text_bytes_per_paper']:.2f}x of text",
        },
        *[
            {"metric": f"  {part}", "value": f"{size:,.0f} B/paper"}
            for part, size in disk["by_part_bytes_per_paper"].items()
        ],
        {"metric": "database file total", "value": f"{(disk['db_bytes'] + disk['wal_bytes']) / 2**20:,.1f} MiB"},
        {
            "metric": f"peak RSS, bot-like process ({bot_like['topics_held']:,} topics held)",
            "value": f"{peak:,.1f} MiB",
            "baseline": f"{baseline['peak_rss_mib']:,.1f} MiB no db",
            "ratio": f"+{peak - baseline['peak_rss_mib']:,.1f} MiB",
        },
    ]
    return {
        "inputs": {"corpus": corpus.describe(), "searches_in_child": queries},
        "metrics": {"disk": disk, "bot_like_process": bot_like},
        "baseline": {"what": "same process, imports only (no database)", "process": baseline},
        "ratios": {
            "disk_vs_text": round(disk["bytes_per_paper"] / disk["text_bytes_per_paper"], 2),
            "rss_vs_no_db": round(peak / baseline["peak_rss_mib"], 2),
        },
        "targets": [rss_target],
        "table": table,
    }
