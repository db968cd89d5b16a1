"""``fanout``: one new paper to N feed channels and N topic subscribers, through the real bot, against Discord's
rate limits.

The real path: ``bot.app.PaperBot`` (discord.py, the poller storing through ``bot.archive`` into the outbox,
and the ``Dispatcher`` with its ``Pacer``) runs in-process against
``testing.fake_discord.FakeDiscord(rate_limits=RateLimits())``, which enforces Discord's 50 requests/s global
limit and 5 messages per 5 s per channel, and against the fixture paper server ``testing.paper_server.PaperServer``.
Both are the test suite's own stand-ins, as is ``running_bot`` (it starts and stops the bot exactly as the
end-to-end tests do); ``testing`` never imports pytest, so neither does this.

Setup (not timed): N text channels over ``ceil(N / 500)`` guilds (Discord's channel cap per guild is 500),
N member users; before the bot starts, one instant feed per channel (``bot.feeds.save_feed``, every paper, no
topic) and one topic per user (``bot.subscriptions.subscribe``, all the same words) are written to the bot's
database. Only the Hugging Face source is enabled and it serves nothing until the measurement, so the first
poll stores nothing. Then one new paper whose title holds the topic words is published and
``bot.poller.poll_once()`` is awaited; the clock runs from the end of that poll until every channel and every
user has its message (2N messages; each DM also needs a create-DM request, so 3N requests).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import Counter
from typing import Any

from bench.context import Context, run_async, target

NAME = "fanout"
SIZES = {"small": 100, "medium": 1_000, "large": 1_000}  # channels, and as many DM users
CHANNELS_PER_GUILD = 500
TARGET_SHARE = 0.9  # of the global limit, sustained
# Give up waiting after this long without a new message: longer than the dispatcher's idle wait (60 s), after
# which a batch left 'sending' by a round is picked up again, so "lost" means not delivered at all.
STALL_S = 75.0
TOPIC = "fanout benchmark"
PAPER_ID = "2611.99001"


def _delivered(fake: Any) -> int:
    return sum(1 for message in fake.all_messages if message.interaction_id is None and not message.deleted)


def _window_peak(times: list[float], width: float = 1.0) -> int:
    """The most requests in any sliding window of ``width`` seconds (what the global limit counts)."""
    peak, start = 0, 0
    for end, value in enumerate(times):
        while times[start] <= value - width:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


async def _measure(ctx: Context, size: int, rate: float | None = None, label: str = "real") -> dict[str, Any]:
    from bot.config import Settings
    from bot.db import Database
    from bot.db.feeds import FeedConfig
    from bot.feeds import save_feed
    from bot.subscriptions import subscribe
    from testing.bot_harness import bot_settings, running_bot, today
    from testing.factories import hf_item
    from testing.fake_discord import FakeDiscord, RateLimits
    from testing.paper_server import PaperServer

    folder = ctx.scratch(f"fanout-{label}")
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "paperbot.db"
    limits = RateLimits()
    papers = await PaperServer().start()
    try:
        async with FakeDiscord(rate_limits=limits) as fake:
            n_guilds = math.ceil(size / CHANNELS_PER_GUILD)
            guilds = [fake.add_guild(f"Lab {index}") for index in range(n_guilds)]
            channels = [fake.add_text_channel(guilds[i // CHANNELS_PER_GUILD], f"papers-{i}") for i in range(size)]
            users = [fake.add_member(guilds[i % n_guilds], f"reader{i}") for i in range(size)]
            base = Settings(
                _env_file=None,
                database_path=db_path,
                hf_base_url=papers.base_url,
                arxiv_rss_base_url=papers.rss_base,
                arxiv_categories=[],  # Hugging Face only: it serves nothing until the paper is published
                http_timeout_seconds=5.0,
                http_retries=1,
                http_backoff_seconds=0.01,
                poll_interval_seconds=3600,
            )
            overrides = {} if rate is None else {"delivery_rate_per_second": rate}
            settings = bot_settings(base, fake, **overrides)

            started = time.perf_counter()
            db = await Database.open(db_path)
            try:
                for channel in channels:
                    assert channel.guild_id is not None, "add_text_channel made a server channel"
                    await save_feed(db, FeedConfig(guild_id=channel.guild_id, channel_id=channel.id), None)
                for user in users:
                    await subscribe(db, user.id, TOPIC)
            finally:
                await db.close()
            setup_s = time.perf_counter() - started
            ctx.say(f"fanout: {size} feeds and {size} topic subscribers stored in {setup_s:.1f}s; starting the bot")

            async with running_bot(settings, fake) as bot:
                stats_before = {key: fake.stats[key] for key in ("requests", "global_429", "route_429")}
                requests_before = len(fake.requests)
                already = _delivered(fake)
                papers.hf_days[today().isoformat()] = [
                    hf_item(
                        PAPER_ID,
                        "A Fanout Benchmark for Paper Delivery",
                        upvotes=7,
                        day=today(),
                        abstract="We deliver one paper to many channels and users. The fanout benchmark measures it.",
                    )
                ]
                poll_started = time.time()
                report = await bot.poller.poll_once()
                t0 = time.time()
                cpu0 = time.process_time()
                expected = 2 * size
                deadline = t0 + 3 * size / settings.delivery_rate_per_second + 60
                ctx.say(f"fanout: polled in {t0 - poll_started:.2f}s; waiting for {expected:,} messages")
                last_progress, seen = t0, already
                while True:
                    done = _delivered(fake) - already
                    now = time.time()
                    if done != seen:
                        seen, last_progress = done, now
                    if done >= expected or now > deadline or now - last_progress > STALL_S:
                        break
                    await asyncio.sleep(0.05)
                t_end = time.time()
                cpu_share = (time.process_time() - cpu0) / max(1e-9, t_end - t0)
                await asyncio.sleep(1.0)  # anything sent twice would show up now
                requests = fake.requests[requests_before:]
                stats = {key: fake.stats[key] - value for key, value in stats_before.items()}
                per_channel = Counter(len(fake.messages(channel)) for channel in channels)
                per_user = Counter(len(fake.dm_messages(user)) for user in users)
                statuses = {
                    row["status"]: row["n"]
                    for row in await bot.db.fetchall("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status")
                }
                dispatcher_stats = dict(bot.dispatcher.stats)
                rate = settings.delivery_rate_per_second
    finally:
        await papers.stop()

    times = sorted(request.time for request in requests)
    kinds = Counter(
        "create-dm"
        if request.path == "/users/@me/channels"
        else "post"
        if request.path.endswith("/messages") and request.method == "POST"
        else f"{request.method} other"
        for request in requests
    )
    ok_requests = [r for r in requests if r.status < 400]
    span = (times[-1] - times[0]) if len(times) > 1 else math.nan
    sustained = (len(times) - 1) / span if span and span > 0 else math.nan
    elapsed = t_end - t0
    delivered = sum(count * n for count, n in per_channel.items()) + sum(count * n for count, n in per_user.items())
    lost = per_channel.get(0, 0) + per_user.get(0, 0)
    duplicated = sum(n for count, n in per_channel.items() if count > 1) + sum(
        n for count, n in per_user.items() if count > 1
    )
    full_seconds = list(range(int(times[0]) + 1, int(times[-1]))) if times else []
    per_second = Counter(int(value) for value in times)
    steady = sorted(per_second[second] for second in full_seconds)
    global_limit = limits.global_limit / limits.global_window
    goal = TARGET_SHARE * global_limit
    return {
        "size": size,
        "guilds": n_guilds,
        "setup_s": round(setup_s, 2),
        "poll_s": round(t0 - poll_started, 3),
        "enqueued_channel_rows": report.queued.channel_rows,
        "enqueued_user_rows": report.queued.user_rows,
        "new_papers": len(report.stored.new),
        "pacer_rate_per_s": rate,
        "global_limit_per_s": global_limit,
        "goal_req_per_s": goal,
        "expected_messages": 2 * size,
        "delivered_messages": delivered,
        "seconds_to_last_message": round(elapsed, 2),
        "first_request_after_s": round(times[0] - t0, 3) if times else None,
        "messages_per_s": round(delivered / elapsed, 2) if elapsed > 0 else None,
        "requests": len(requests),
        "requests_ok": len(ok_requests),
        "requests_by_kind": dict(kinds),
        "requests_per_s_end_to_end": round(len(requests) / elapsed, 2) if elapsed > 0 else None,
        "requests_per_s_sustained": round(sustained, 2),
        "requests_per_s_steady_median": steady[len(steady) // 2] if steady else None,
        "requests_per_s_steady_min": steady[0] if steady else None,
        "peak_requests_in_1s": _window_peak(times) if times else 0,
        "longest_gap_between_requests_s": round(max(b - a for a, b in itertools.pairwise(times)), 2)
        if len(times) > 1
        else None,
        "global_429": stats["global_429"],
        "route_429": stats["route_429"],
        "channels_by_message_count": {str(k): v for k, v in sorted(per_channel.items())},
        "users_by_message_count": {str(k): v for k, v in sorted(per_user.items())},
        "lost": lost,
        "duplicated": duplicated,
        "delivery_rows_by_status": statuses,
        "dispatcher_stats": dispatcher_stats,
        "process_cpu_share": round(cpu_share, 2),
    }


def run(ctx: Context) -> dict[str, Any]:
    size = SIZES.get(ctx.scale.name, 1_000)
    m = run_async(_measure(ctx, size))
    what_if: dict[str, Any] = {}
    if ctx.options.get("what_if"):
        # Is there headroom above the Pacer's 45/s? The same fan-out paced at the most Settings allows (50/s).
        for name in ("pacer-50",):
            ctx.say(f"fanout: what-if {name}")
            other = run_async(_measure(ctx, size, rate=50.0, label=name))
            what_if[name] = {
                key: other[key]
                for key in (
                    "pacer_rate_per_s",
                    "seconds_to_last_message",
                    "requests_per_s_sustained",
                    "peak_requests_in_1s",
                    "global_429",
                    "route_429",
                    "lost",
                    "duplicated",
                    "delivered_messages",
                    "delivery_rows_by_status",
                    "longest_gap_between_requests_s",
                )
            }
    sustained = m["requests_per_s_sustained"]
    goal = m["goal_req_per_s"]
    complete = m["lost"] == 0 and m["duplicated"] == 0 and m["delivered_messages"] == m["expected_messages"]
    targets = [
        target(
            f"sustained request rate, {size} channels + {size} DMs",
            f">= {goal:g} req/s ({TARGET_SHARE:.0%} of the {m['global_limit_per_s']:g}/s global limit)",
            sustained,
            sustained >= goal,
        ),
        target("global 429s", "= 0", m["global_429"], m["global_429"] == 0),
        target("messages lost or duplicated", "= 0", m["lost"] + m["duplicated"], complete),
    ]
    kinds = m["requests_by_kind"]
    table = [
        {
            "metric": f"{size} channels + {size} DMs: time from poll end to last message",
            "value": f"{m['seconds_to_last_message']:.1f} s "
            f"({m['delivered_messages']:,}/{m['expected_messages']:,} msgs)",
        },
        {"metric": "  messages/s (end to end)", "value": f"{m['messages_per_s']:.1f}/s"},
        {
            "metric": "  requests/s sustained (first to last request)",
            "value": f"{sustained:.2f}/s",
            "baseline": f"{goal:g}/s goal",
            "ratio": f"{sustained / goal:.3f}x" if goal else "",
        },
        {
            "metric": "  requests: posts / create-DM / other",
            "value": f"{kinds.get('post', 0):,} / {kinds.get('create-dm', 0):,} / "
            f"{m['requests'] - kinds.get('post', 0) - kinds.get('create-dm', 0):,}",
        },
        {
            "metric": "  peak requests in any 1 s; steady seconds median/min",
            "value": f"{m['peak_requests_in_1s']} ; "
            f"{m['requests_per_s_steady_median']} / {m['requests_per_s_steady_min']}",
        },
        {"metric": "  global 429 / route 429", "value": f"{m['global_429']} / {m['route_429']}"},
        {"metric": "  longest gap between two requests", "value": f"{m['longest_gap_between_requests_s']} s"},
        {"metric": "  lost / duplicated targets", "value": f"{m['lost']} / {m['duplicated']}"},
        {"metric": "  pacer rate (DELIVERY_RATE_PER_SECOND)", "value": f"{m['pacer_rate_per_s']:g}/s"},
        {
            "metric": "  CPU used by the process (bot + fake Discord), share of one core",
            "value": f"{m['process_cpu_share']:.0%}",
        },
    ]
    return {
        "inputs": {
            "channels": size,
            "dm_users": size,
            "guilds": m["guilds"],
            "rate_limits": "testing.fake_discord.RateLimits() defaults: 50 req/s global, 5 msgs / 5 s per channel",
            "pacer_rate_per_s": m["pacer_rate_per_s"],
            "topic": TOPIC,
        },
        "metrics": m,
        "baseline": {
            "what": "the goal: 90% of Discord's global limit; there is no naive sender to compare with",
            "req_per_s": goal,
        },
        "ratios": {"sustained_vs_goal": round(sustained / goal, 3) if goal else None},
        "targets": targets,
        "what_if": what_if,
        "table": table
        + [
            {
                "metric": f"  what-if {name}: req/s sustained; global / route 429; not delivered; last msg",
                "value": f"{item['requests_per_s_sustained']:.2f}/s; {item['global_429']} / {item['route_429']}; "
                f"{item['lost']}; {item['seconds_to_last_message']:.1f} s",
            }
            for name, item in what_if.items()
        ],
    }
