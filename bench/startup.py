"""``startup``: how soon the bot answers commands when every stored topic needs its plan rebuilt (an upgrade).

The corpus's topics are copied and un-indexed (``query_id`` NULL, plans and anchors removed), the real bot is
started against the Discord stand-in and the fixture paper server, and we time: gateway ready, the first
``/help`` answered, and the background plan build (``bot.plans.PlanBuilder``) finishing. Before the build
moved to the background, ``setup_hook`` ran it in one transaction, so "ready" came only after the whole build:
the baseline is that serial figure (the build time plus the time to ready).
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from typing import Any

from bench.context import Context, run_async, target

NAME = "startup"
TARGET_FIRST_ANSWER_S = 5.0


def _unindex(path: str) -> int:
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute("UPDATE topics SET query_id = NULL")
            conn.execute("UPDATE feeds SET query_id = NULL")
            conn.execute("DELETE FROM query_anchors")
            conn.execute("DELETE FROM queries")
        return int(conn.execute("SELECT COUNT(*) FROM topics").fetchone()[0])
    finally:
        conn.close()


async def _measure(ctx: Context) -> dict[str, Any]:
    from bot.config import Settings
    from testing.bot_harness import bot_settings, build_world, running_bot
    from testing.fake_discord import FakeDiscord, RateLimits
    from testing.paper_server import PaperServer

    corpus = ctx.corpus()
    folder = ctx.scratch("startup")
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "paperbot.db"
    ctx.say(f"startup: copying the corpus ({corpus.topics:,} topics) and un-indexing its topics")
    shutil.copyfile(corpus.path, db_path)
    topics = _unindex(str(db_path))
    papers = await PaperServer().start()
    try:
        async with FakeDiscord(rate_limits=RateLimits.off()) as fake:
            guild, general, _news, _admin, member = build_world(fake)
            base = Settings(
                _env_file=None,
                database_path=db_path,
                hf_base_url=papers.base_url,
                arxiv_rss_base_url=papers.rss_base,
                arxiv_categories=[],
                http_timeout_seconds=5.0,
                http_retries=1,
                poll_interval_seconds=3600,
            )
            settings = bot_settings(base, fake)
            started = time.perf_counter()
            async with running_bot(settings, fake, first_poll=False) as bot:
                ready_s = time.perf_counter() - started
                inter = await fake.invoke("help", {}, user=member, guild=guild, channel=general)
                await inter.wait_done(timeout=60)
                answer_s = time.perf_counter() - started
                building_at_answer = not bot.plans.ready.is_set()
                ctx.say(f"startup: /help answered after {answer_s:.2f}s; waiting for {topics:,} plans")
                await fake.wait_for(bot.plans.ready.is_set, timeout=3600, message="plans built")
                built_s = time.perf_counter() - started
                indexed = bot.plans.indexed
    finally:
        await papers.stop()
    return {
        "topics": topics,
        "indexed": indexed,
        "seconds_to_ready": round(ready_s, 2),
        "seconds_to_first_answer": round(answer_s, 2),
        "build_still_running_at_first_answer": building_at_answer,
        "seconds_to_plans_built": round(built_s, 2),
        "ms_per_topic": round(1000 * built_s / max(1, indexed), 3),
        "baseline_serial_seconds_to_first_answer": round(built_s + ready_s, 2),
    }


def run(ctx: Context) -> dict[str, Any]:
    m = run_async(_measure(ctx))
    targets = [
        target(
            f"first command answered with {m['topics']:,} topics to re-plan",
            f"<= {TARGET_FIRST_ANSWER_S:.0f} s",
            m["seconds_to_first_answer"],
            m["seconds_to_first_answer"] <= TARGET_FIRST_ANSWER_S,
        )
    ]
    table = [
        {
            "metric": f"start-up, {m['topics']:,} topics un-indexed: ready / first /help answered",
            "value": f"{m['seconds_to_ready']:.2f} s / {m['seconds_to_first_answer']:.2f} s",
            "baseline": f"{m['baseline_serial_seconds_to_first_answer']:.2f} s (build in setup_hook)",
        },
        {
            "metric": "  background plan build: total / per topic",
            "value": f"{m['seconds_to_plans_built']:.2f} s / {m['ms_per_topic']:.3f} ms",
        },
    ]
    return {
        "inputs": {"topics": m["topics"]},
        "metrics": m,
        "baseline": {"what": "the same build run in setup_hook before the bot connects (the old start-up)"},
        "targets": targets,
        "table": table,
    }
