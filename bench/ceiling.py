"""``ceiling``: how far one process goes: many servers, feeds and topics; memory, start-up, burst delivery rate.

The bot runs as ``python -m bot`` against ``testing.fake_discord.FakeDiscord`` (Discord's rate limits: 50
requests/s global, 5 messages per 5 s per channel) with ``GUILDS`` servers sent on connect (Guilds intent
only, ``CHANNELS_PER_GUILD`` text channels each, over ``ceil(guilds / 1000)`` shards as Discord recommends),
one instant feed per server and ``TOPICS`` members each following a topic (stored before the bot starts;
few of them match the burst). Measured: start-up time to ready on every shard, RSS and fds once ready, then
one new paper is published and the posts are counted for ``WINDOW_S`` seconds (or until every feed has it):
the sustained post rate, the bot's CPU share over that window, and the time one day's burst
(``BURST_PAPERS`` papers to every feed) would take at that rate. What saturates first: the global rate limit
if the rate is within 5% of ``DELIVERY_RATE_PER_SECOND``, else the CPU if the bot used ≥ 90% of a core.

Growth or plateau: after the window the first paper is followed until it reaches every feed (or
``PASS_LIMIT_S``), then a second paper is published and followed the same way, with the bot's RSS sampled
every ``RSS_EVERY_S`` seconds throughout. Memory that belongs to the number of targets (one state per
channel) stops growing once the first pass has touched every channel; a leak keeps growing in the second.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from typing import Any

from bench.context import Context, run_async, target
from bench.soak import checks, proc

NAME = "ceiling"
SIZES = {"small": (300, 3_000), "medium": (2_000, 20_000), "large": (10_000, 100_000)}  # servers, topics
CHANNELS_PER_GUILD = 5
WINDOW_S = 60.0
BURST_PAPERS = 50
RATE = 45.0
PAPER_ID = "2612.90001"
SECOND_PAPER_ID = "2612.90002"
PASS_LIMIT_S = 600.0
RSS_EVERY_S = 10.0


def run(ctx: Context) -> dict[str, Any]:
    guilds, topics = SIZES[ctx.scale.name]
    metrics = run_async(_measure(ctx, guilds, topics))
    rate = metrics["posts_per_s"]
    burst_s = BURST_PAPERS * guilds / rate if rate else None
    metrics["burst_projection_s"] = burst_s
    saturated = "global rate limit" if rate >= 0.95 * RATE else ("CPU" if metrics["cpu_share"] >= 0.9 else "neither")
    metrics["saturates_first"] = saturated
    table = [
        {"metric": "servers / channels / feeds / topics", "value": f"{guilds} / {guilds * CHANNELS_PER_GUILD} / {guilds} / {topics}"},  # noqa: E501
        {"metric": "shards", "value": metrics["shards"]},
        {"metric": "start-up to ready (s)", "value": f"{metrics['startup_s']:.1f}"},
        {"metric": "RSS once ready (MiB)", "value": f"{metrics['rss_ready_mib']:.1f}"},
        {"metric": "RSS after the window (MiB)", "value": f"{metrics['rss_end_mib']:.1f}"},
        {"metric": "RSS after pass 1 / pass 2 to every feed (MiB)", "value": f"{metrics['rss_pass1_mib']:.1f} / {metrics['rss_pass2_mib']:.1f}"},  # noqa: E501
        {"metric": "RSS series (MiB, every 10 s)", "value": " ".join(f"{mib:.0f}" for _, mib in metrics["rss_series"])},
        {"metric": "open fds", "value": metrics["fds"]},
        {"metric": "posts in the window / seconds", "value": f"{metrics['posts']} / {metrics['window_s']:.1f}"},
        {"metric": "sustained posts/s", "value": f"{rate:.2f}"},
        {"metric": "bot CPU share of one core in the window", "value": f"{metrics['cpu_share'] * 100:.0f}%"},
        {"metric": f"{BURST_PAPERS} papers to every feed, projected (min)", "value": f"{(burst_s or 0) / 60:.0f}"},
        {"metric": "saturates first", "value": saturated},
    ]  # fmt: skip
    inputs = {"guilds": guilds, "channels_per_guild": CHANNELS_PER_GUILD, "topics": topics, "window_s": WINDOW_S}
    targets = [target("ceiling post rate", f">= {0.95 * RATE:.1f}/s", rate, rate >= 0.95 * RATE)]
    return {"inputs": inputs, "metrics": metrics, "targets": targets, "table": table}


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _measure(ctx: Context, n_guilds: int, n_topics: int) -> dict[str, Any]:
    from bot.config import Settings
    from bot.db import Database
    from bot.db.feeds import FeedConfig
    from bot.feeds import save_feed
    from bot.subscriptions import subscribe
    from testing.bot_harness import bot_settings, today
    from testing.factories import hf_item
    from testing.fake_discord import FakeDiscord, RateLimits
    from testing.paper_server import PaperServer

    folder = ctx.scratch(NAME)
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "paperbot.db"
    shards = max(1, math.ceil(n_guilds / 1000))
    papers = await PaperServer().start()
    try:
        async with FakeDiscord(shards=shards, rate_limits=RateLimits()) as fake:
            guilds = [fake.add_guild(f"Server {n}") for n in range(n_guilds)]
            feeds = []
            for guild in guilds:
                channels = [fake.add_text_channel(guild.id, f"channel-{c}") for c in range(CHANNELS_PER_GUILD)]
                feeds.append(channels[0])
            members = [fake.add_member(guilds[n % n_guilds].id, f"m{n}") for n in range(n_topics)]
            settings = bot_settings(
                Settings(
                    _env_file=None,
                    database_path=db_path,
                    hf_base_url=papers.base_url,
                    arxiv_rss_base_url=papers.rss_base,
                    arxiv_categories=[],
                    poll_interval_seconds=2,
                    http_retries=0,
                    delivery_rate_per_second=RATE,
                ),
                fake,
            )
            setup = time.perf_counter()
            db = await Database.open(db_path)
            try:
                for channel in feeds:
                    await save_feed(db, FeedConfig(guild_id=int(channel.guild_id or 0), channel_id=channel.id), None)
                for n, member in enumerate(members):
                    await subscribe(db, member.id, f"ceilingword{n % 997} study{n % 13}")
            finally:
                await db.close()
            ctx.say(f"ceiling: {n_guilds} servers, {n_topics} topics stored in {time.perf_counter() - setup:.0f}s")

            started = time.perf_counter()
            process = await proc.start(settings, folder, folder / "bot.log")
            try:
                await fake.wait_for(fake.is_ready, timeout=900, message="bot ready")
                startup_s = time.perf_counter() - started
                rss_ready = proc.rss_mib(process.pid) or 0.0
                fds = proc.open_fds(process.pid)
                ctx.say(f"ceiling: ready in {startup_s:.1f}s, RSS {rss_ready:.0f} MiB; publishing one paper")
                papers.hf_days[today().isoformat()] = [
                    hf_item(PAPER_ID, "A paper for every server", upvotes=5, day=today())
                ]
                await fake.wait_for(lambda: checks.stored(db_path, [PAPER_ID]), timeout=120, message="stored")
                feed_ids = {c.id for c in feeds}

                def posted() -> int:
                    return len({m.channel_id for m in fake.all_messages if m.channel_id in feed_ids})

                await fake.wait_for(lambda: posted() > 0, timeout=120, message="first post")
                t0, cpu0, n0 = time.perf_counter(), _cpu_seconds(process.pid), posted()
                with_deadline = min(WINDOW_S, len(feeds) / RATE * 2)
                with contextlib.suppress(AssertionError):  # the window ended first: its rate is the figure
                    await fake.wait_for(lambda: posted() == len(feeds), timeout=with_deadline, message="window")
                window = time.perf_counter() - t0
                posts = posted() - n0
                cpu = (_cpu_seconds(process.pid) - cpu0) / window
                rss_end = proc.rss_mib(process.pid) or 0.0
                series: list[tuple[float, float]] = [(0.0, rss_ready), (round(window, 1), rss_end)]
                ctx.say(f"ceiling: RSS {rss_end:.0f} MiB after the window; following the paper to every feed")
                pass1 = await _follow(fake, feed_ids, PAPER_ID, process.pid, series, started=t0)
                papers.hf_days[today().isoformat()] = [
                    hf_item(PAPER_ID, "A paper for every server", upvotes=5, day=today()),
                    hf_item(SECOND_PAPER_ID, "A second paper for every server", upvotes=5, day=today()),
                ]
                ctx.say(f"ceiling: pass 1 done, RSS {series[-1][1]:.0f} MiB; publishing a second paper")
                pass2 = await _follow(fake, feed_ids, SECOND_PAPER_ID, process.pid, series, started=t0)
                ctx.say(f"ceiling: pass 2 done, RSS {series[-1][1]:.0f} MiB")
            finally:
                await proc.stop(process)
    finally:
        await papers.stop()
    return {
        "shards": shards,
        "startup_s": startup_s,
        "rss_ready_mib": rss_ready,
        "rss_end_mib": rss_end,
        "fds": fds,
        "posts": posts,
        "window_s": window,
        "posts_per_s": posts / window if window else 0.0,
        "cpu_share": cpu,
        "rss_pass1_mib": pass1,
        "rss_pass2_mib": pass2,
        "rss_series": series,
    }


async def _follow(
    fake: Any, feed_ids: set[int], paper_id: str, pid: int, series: list[tuple[float, float]], *, started: float
) -> float:
    """Until ``paper_id`` is in every feed (at most PASS_LIMIT_S), sampling RSS; returns the last sample."""

    def reached() -> int:
        return len({m.channel_id for m in fake.all_messages if m.channel_id in feed_ids and paper_id in _text(m)})

    deadline = time.perf_counter() + PASS_LIMIT_S
    while reached() < len(feed_ids) and time.perf_counter() < deadline:
        await asyncio.sleep(RSS_EVERY_S)  # looked at every 10 s only: scanning 20,000 messages costs CPU
        series.append((round(time.perf_counter() - started, 1), proc.rss_mib(pid) or 0.0))
    return series[-1][1]


def _text(message: Any) -> str:
    return str(getattr(message, "content", "") or "") + repr(getattr(message, "embeds", ""))
