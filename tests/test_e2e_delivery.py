"""Automatic delivery end to end: real poller, real SQLite, real discord.py, the Discord stand-in.

Each test adds papers to the fixture server, polls, and asserts on what Discord received, including
through faults. Waiting is always on a condition with a timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.delivery.plan import DM_DAILY_CAP
from testing.bot_harness import World, today
from testing.factories import hf_item
from testing.paper_server import Fault

pytestmark = pytest.mark.e2e

_next_id = iter(range(90001, 99999))


def new_item(title: str, *, upvotes: int = 5, abstract: str | None = None, **extra: Any) -> dict[str, Any]:
    paper_id = f"2611.{next(_next_id):05d}"
    return hf_item(
        paper_id,
        title,
        upvotes=upvotes,
        day=today(),
        abstract=abstract or f"We present {title.lower()}. It works. Experiments confirm it.",
        **extra,
    )


def publish(world: World, *items: dict[str, Any]) -> list[str]:
    """Add papers to today's Hugging Face list; returns their ids."""
    day = today().isoformat()
    current = world.papers.hf_days.get(day)
    world.papers.hf_days[day] = [*(current if isinstance(current, list) else []), *items]
    return [item["paper"]["id"] for item in items]


def set_upvotes(world: World, paper_id: str, upvotes: int) -> None:
    items = world.papers.hf_days[today().isoformat()]
    assert isinstance(items, list), "the day is served as JSON items, not raw bytes"
    for item in items:
        if item["paper"]["id"] == paper_id:
            item["paper"]["upvotes"] = upvotes


def posted_ids(messages: list[Any]) -> list[str]:
    """The arXiv ids of every paper embed in ``messages``, in order."""
    ids = []
    for message in messages:
        for embed in message.embeds:
            url = embed.get("url", "")
            ids.append(url.rstrip("/").rsplit("/", 1)[-1])
    return ids


def posts(world: World, channel_id: int) -> list[Any]:
    return [r for r in world.fake.requests if r.method == "POST" and r.path == f"/channels/{channel_id}/messages"]


async def add_feed(world: World, channel: Any = None, **options: Any) -> Any:
    inter = await world.run("feed add", {"channel": channel or world.news, **options}, user=world.admin)
    assert inter.error is None, inter.error
    return inter


async def until(check: Any, message: str, limit: float = 10.0) -> None:
    """Re-check an async condition (a database query) until it holds, failing after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not await check():
        assert time.monotonic() < deadline, message
        await asyncio.sleep(0.02)  # a polling interval between checks, not a wait for an event


async def idle(world: World) -> None:
    """Wait until the dispatcher has nothing left that is due now (digests wait for their hour)."""

    async def settled() -> bool:
        await world.bot.dispatcher.run_once()  # serialised with the background loop by the dispatcher's lock
        rows = await world.bot.db.fetchall(
            "SELECT COUNT(*) AS n FROM deliveries d WHERE (d.status = 'pending' OR "
            "(d.status = 'sending' AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?))) "
            "AND NOT EXISTS (SELECT 1 FROM feeds f WHERE f.id = d.feed_id AND f.mode = 'digest') "
            "AND NOT EXISTS (SELECT 1 FROM users u WHERE d.target_kind = 'user' AND u.user_id = d.target_id "
            "AND u.dm_paused_at IS NOT NULL)",
            (time.time(),),
        )
        return bool(rows[0]["n"] == 0)

    await until(settled, "deliveries still pending")


async def test_instant_feed_posts_only_new_papers_once_each(world: World) -> None:
    await add_feed(world)
    # Papers already listed when the feed was added are not posted.
    assert world.fake.messages(world.news) == []
    ids = publish(world, new_item("Diffusion Policies for Robots", upvotes=12), new_item("Sparse Attention Again"))
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.messages(world.news)) == 2, timeout=10, message="two posts")
    assert sorted(posted_ids(world.fake.messages(world.news))) == sorted(ids)
    message = world.fake.messages(world.news)[0]
    assert message.allowed_mentions == {"parse": []} or (message.allowed_mentions or {}).get("parse") == []
    # Upvote changes and repeated polls never repost.
    set_upvotes(world, ids[0], 80)
    await world.bot.poller.poll_once()
    await world.bot.poller.poll_once()
    await idle(world)
    assert len(world.fake.messages(world.news)) == 2
    assert await world.bot.db.deliveries.status_of("channel", world.news.id, ids[0]) == "sent"


async def test_paper_crossing_the_threshold_later_is_posted_then(world: World) -> None:
    await add_feed(world, min_upvotes=50)
    (paper_id,) = publish(world, new_item("Slow Burner", upvotes=10))
    await world.bot.poller.poll_once()
    await idle(world)
    assert world.fake.messages(world.news) == []
    set_upvotes(world, paper_id, 61)
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.messages(world.news)) == 1, timeout=10, message="late post")
    assert posted_ids(world.fake.messages(world.news)) == [paper_id]


async def test_feed_topic_and_source_filters(world: World) -> None:
    await add_feed(world, topic='diffusion -survey OR "flow matching"', source="huggingface")
    ids = publish(
        world,
        new_item("Flow Matching for Audio"),
        new_item("Diffusion Models: A Survey"),
        new_item("Unrelated Robotics Paper"),
        new_item("Latent Diffusion at Scale"),
    )
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.messages(world.news)) >= 2, timeout=10, message="posts")
    await idle(world)
    assert sorted(posted_ids(world.fake.messages(world.news))) == sorted([ids[0], ids[3]])


async def test_backfill_posts_todays_top_papers_once(world: World) -> None:
    inter = await add_feed(world, backfill=True)
    assert "top" in inter.visible[0].content
    await world.fake.wait_for(lambda: len(world.fake.messages(world.news)) >= 1, timeout=10, message="backfill")
    await idle(world)
    posted = posted_ids(world.fake.messages(world.news))
    assert 1 <= len(posted) <= 5
    assert len(set(posted)) == len(posted)
    await world.bot.poller.poll_once()
    await idle(world)
    assert posted_ids(world.fake.messages(world.news)) == posted


async def test_threads_option_starts_a_thread_per_post(world: World) -> None:
    await add_feed(world, threads=True)
    publish(world, new_item("Threaded Discussion Paper " + "x" * 120))
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.threads) == 1, timeout=10, message="thread")
    (thread,) = world.fake.threads
    assert thread.parent_id == world.news.id
    assert len(thread.name) <= 100 and thread.name.startswith("Threaded Discussion Paper")


async def test_topic_matches_arrive_by_dm_once_in_one_batch(world: World) -> None:
    for topic in ("diffusion", "robot OR robots", "diffusion policy"):
        inter = await world.run("subscribe", {"topic": topic})
        assert inter.error is None
    ids = publish(
        world,
        new_item("Diffusion Policy for Robots"),  # matches all three topics: one DM entry
        new_item("Video Diffusion Transformers"),
        new_item("Graph Transformers"),  # matches none
    )
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.dm_messages(world.member)) == 1, timeout=10, message="DM")
    await idle(world)
    (dm,) = world.fake.dm_messages(world.member)
    assert sorted(posted_ids([dm])) == sorted(ids[:2])
    assert "2 new papers" in dm.content
    # Which topic matched, and how to stop them (issue 12, defect 7).
    assert "matching **diffusion**" in dm.content or ", **diffusion**" in dm.content
    assert "`/unsubscribe` stops these" in dm.content
    await world.bot.poller.poll_once()
    await idle(world)
    assert len(world.fake.dm_messages(world.member)) == 1


async def test_many_matches_are_split_into_messages_of_ten_and_capped_daily(world: World) -> None:
    await world.run("subscribe", {"topic": "benchmark"})
    publish(world, *(new_item(f"Benchmark number {n}") for n in range(DM_DAILY_CAP + 7)))
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.dm_messages(world.member)) == 5, timeout=20, message="5 DMs")
    await idle(world)
    messages = world.fake.dm_messages(world.member)
    assert [len(message.embeds) for message in messages] == [10] * 5
    assert "daily limit" in messages[-1].content and "7 more" in messages[-1].content
    assert "/unsubscribe" in messages[-1].content  # /subscriptions only lists topics; this removes one
    assert len(set(posted_ids(messages))) == DM_DAILY_CAP


async def test_the_daily_dm_limit_resets_at_midnight_of_the_dispatchers_clock(world: World) -> None:
    await world.run("subscribe", {"topic": "benchmark"})
    now = time.time()
    world.bot.dispatcher.clock = lambda: now
    publish(world, *(new_item(f"Benchmark number {n}") for n in range(DM_DAILY_CAP + 1)))
    await world.bot.poller.poll_once()
    await idle(world)
    assert len(world.fake.dm_messages(world.member)) == DM_DAILY_CAP // 10  # the limit is reached today
    tomorrow = now + 86_400
    world.bot.dispatcher.clock = lambda: tomorrow
    # The poll queues at most what the member can get on its own day (the cap is applied when queueing), so
    # the whole bot moves to tomorrow: the poller's clock too.
    world.bot.poller.clock = lambda: datetime.fromtimestamp(tomorrow, UTC)
    (late,) = publish(world, new_item("Benchmark the next day"))
    await world.bot.poller.poll_once()
    await idle(world)
    assert await world.bot.db.deliveries.status_of("user", world.member.id, late) == "sent"
    assert posted_ids(world.fake.dm_messages(world.member)[-1:]) == [late]


async def test_digest_posts_once_a_day_in_messages_of_ten(world: World) -> None:
    await add_feed(world, mode="digest", digest_hour=7, timezone="Asia/Tokyo")
    ids = publish(world, *(new_item(f"Digest paper {n}", upvotes=n) for n in range(13)))
    await world.bot.poller.poll_once()
    await idle(world)
    assert world.fake.messages(world.news) == []  # not due yet
    later = time.time() + 86_400 + 60
    world.bot.dispatcher.clock = lambda: later
    world.bot.dispatcher.wake()
    await world.fake.wait_for(lambda: len(world.fake.messages(world.news)) == 2, timeout=10, message="digest")
    first, second = world.fake.messages(world.news)
    assert "Daily digest" in first.content and "13 new papers" in first.content
    assert len(first.embeds) == 10 and len(second.embeds) == 3
    assert sorted(posted_ids([first, second])) == sorted(ids)
    world.bot.dispatcher.wake()
    await idle(world)
    assert len(world.fake.messages(world.news)) == 2


async def test_missing_permissions_disables_only_that_feed(world: World) -> None:
    await add_feed(world)
    await add_feed(world, channel=world.general)
    world.fake.set_channel_error(world.news.id, status=403, code=50013, message="Missing Permissions")
    ids = publish(world, new_item("First"), new_item("Second"), new_item("Third"))
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.messages(world.general)) == 3, timeout=10, message="general")
    await idle(world)
    feed = await world.bot.db.feeds.get(world.news.id)
    assert feed is not None and not feed.enabled and "Missing Permissions" in (feed.disabled_reason or "")
    posts_to_news = [
        r for r in world.fake.requests if r.method == "POST" and r.path == f"/channels/{world.news.id}/messages"
    ]
    assert len(posts_to_news) == 1  # one refusal, then no retry loop
    publish(world, new_item("Fourth"))
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.messages(world.general)) == 4, timeout=10, message="fourth")
    posts_to_news = [
        r for r in world.fake.requests if r.method == "POST" and r.path == f"/channels/{world.news.id}/messages"
    ]
    assert len(posts_to_news) == 1
    listing = await world.run("feed list", user=world.admin)
    assert "paused" in str(listing.visible[0].embeds) and "Missing Permissions" in str(listing.visible[0].embeds)
    status = await world.run("status", user=world.admin)
    assert "paused" in str(status.visible[0].embeds)
    # Fixing the permission and re-adding the feed resumes it, from new papers on.
    world.fake.clear_channel_error(world.news.id)
    await add_feed(world)
    assert (await world.bot.db.feeds.get(world.news.id)).enabled  # type: ignore[union-attr]  # None fails the test anyway
    (fifth,) = publish(world, new_item("Fifth"))
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.messages(world.news)) == 1, timeout=10, message="resumed")
    assert posted_ids(world.fake.messages(world.news)) == [fifth]
    assert ids  # the three refused papers are not flooded in on resume


@pytest.mark.parametrize(("status", "code"), [(403, 50001), (404, 10003)])
async def test_lost_access_or_unknown_channel_disables_feed(world: World, status: int, code: int) -> None:
    await add_feed(world)
    world.fake.set_channel_error(world.news.id, status=status, code=code, message="refused")
    publish(world, new_item("Nowhere to go"))
    await world.bot.poller.poll_once()

    async def disabled() -> bool:
        feed = await world.bot.db.feeds.get(world.news.id)
        return feed is not None and not feed.enabled

    await until(disabled, "feed not disabled")
    await idle(world)
    counts = await world.bot.db.deliveries.counts(guild_id=world.guild.id)
    assert counts.failed == 1 and counts.pending == 0


async def test_closed_dms_pause_the_user_and_tell_them_later(world: World) -> None:
    await world.run("subscribe", {"topic": "quantum"})
    await world.run("subscribe", {"topic": "quantum"}, user=world.admin)
    world.fake.close_dms(world.member)
    (paper_id,) = publish(world, new_item("Quantum Error Correction"))
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.dm_messages(world.admin)) == 1, timeout=10, message="admin DM")
    await world.fake.wait_for(lambda: world.fake.stats["by_status"].get(403, 0) >= 1, timeout=10, message="refused DM")
    await idle(world)
    assert await world.bot.db.users.is_paused(world.member.id)
    refused = world.fake.stats["by_status"][403]
    publish(world, new_item("Quantum Annealing"))
    await world.bot.poller.poll_once()
    await idle(world)
    assert world.fake.stats["by_status"][403] == refused  # paused: no new attempts
    # The next command tells them, and the papers that waited are sent once DMs are open.
    world.fake.open_dms(world.member)
    inter = await world.run("subscriptions")
    await world.fake.wait_for(lambda: len(inter.followups) == 1, timeout=10, message="notice")
    assert "DMs" in inter.followups[0].content and inter.followups[0].ephemeral
    await world.fake.wait_for(lambda: len(world.fake.dm_messages(world.member)) == 1, timeout=10, message="resumed")
    assert paper_id in posted_ids(world.fake.dm_messages(world.member))
    assert len(posted_ids(world.fake.dm_messages(world.member))) == 2
    second = await world.run("subscriptions")
    assert second.followups == []


async def test_server_errors_are_retried_until_delivered_once(world: World) -> None:
    await add_feed(world)
    world.fake.fail_next("POST", rf"/channels/{world.news.id}/messages", status=503, count=2)
    (paper_id,) = publish(world, new_item("Eventually Consistent"))
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.messages(world.news)) == 1, timeout=15, message="delivered")
    assert posted_ids(world.fake.messages(world.news)) == [paper_id]


async def test_lost_response_is_not_posted_twice(world: World) -> None:
    await add_feed(world)
    # Discord creates the message but the connection resets before the answer: the retry reuses the nonce.
    world.fake.fail_next("POST", rf"/channels/{world.news.id}/messages", status=None, reset=True, after_processing=True)
    (paper_id,) = publish(world, new_item("Exactly Once"))
    await world.bot.poller.poll_once()
    await world.fake.wait_for(
        lambda: world.bot.dispatcher.stats["messages"] >= 1, timeout=15, message="marked sent after the reset"
    )
    assert posted_ids(world.fake.messages(world.news)) == [paper_id]
    assert world.bot.dispatcher.stats["retries"] >= 1


async def test_retries_are_bounded_then_failed_and_reported(world: World) -> None:
    await add_feed(world)
    world.fake.fail_next("POST", rf"/channels/{world.news.id}/messages", status=503, count=100)
    (paper_id,) = publish(world, new_item("Never Makes It"))
    await world.bot.poller.poll_once()

    async def failed() -> bool:
        return await world.bot.db.deliveries.status_of("channel", world.news.id, paper_id) == "failed"

    await until(failed, "delivery never marked failed", limit=15)
    attempts = [
        r for r in world.fake.requests if r.path == f"/channels/{world.news.id}/messages" and r.method == "POST"
    ]
    assert len(attempts) == world.bot.settings.delivery_max_attempts
    feed = await world.bot.db.feeds.get(world.news.id)
    assert feed is not None and feed.enabled  # a flaky Discord does not pause the feed
    status = await world.run("status", user=world.admin)
    assert "1 failed" in str(status.visible[0].embeds)


async def test_removed_guild_and_deleted_channel_drop_their_feeds(world: World) -> None:
    await add_feed(world)
    other = world.fake.add_guild("Other Lab")
    other_channel = world.fake.add_text_channel(other.id, "papers")
    world.fake.add_member(other.id, "carol", permissions=0, user=world.admin)
    world.fake.set_member_permissions(other.id, world.admin.id, 1 << 5)
    await world.run("feed add", {"channel": other_channel}, user=world.admin, channel=other_channel, guild=other)
    assert await world.bot.db.feeds.get(other_channel.id) is not None
    await world.fake.delete_channel(world.news.id)
    await world.fake.remove_guild(other.id)

    async def gone() -> bool:
        return (
            await world.bot.db.feeds.get(world.news.id) is None
            and await world.bot.db.feeds.get(other_channel.id) is None
        )

    await until(gone, "feeds not removed")
    before = len(world.fake.requests)
    publish(world, new_item("After the goodbyes"))
    await world.bot.poller.poll_once()
    await idle(world)
    assert all(
        f"/channels/{cid}/" not in r.path
        for r in world.fake.requests[before:]
        for cid in (world.news.id, other_channel.id)
    )


async def test_deliveries_continue_after_a_gateway_reconnect(world: World) -> None:
    await add_feed(world)
    resumes = world.fake.resume_count
    await world.fake.disconnect()
    await world.fake.wait_for(lambda: world.fake.resume_count > resumes, timeout=10, message="resumed")
    (paper_id,) = publish(world, new_item("Post After Resume"))
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.messages(world.news)) == 1, timeout=10, message="post")
    assert posted_ids(world.fake.messages(world.news)) == [paper_id]


async def test_papers_published_during_a_source_outage_arrive_after_it(world: World) -> None:
    await add_feed(world)
    world.papers.fail_always("daily_papers", Fault(status=500))
    world.papers.fail_always("arxiv", Fault(status=503))
    ids = publish(world, new_item("Published While Down"), new_item("Also While Down"))
    for _ in range(3):
        report = await world.bot.poller.poll_once()
        assert report.all_failed or all(source.status in ("failed", "waiting") for source in report.sources)
    assert world.fake.messages(world.news) == []
    world.papers.recover()
    # The failed sources are resting (backoff); clear it as the next scheduled poll after the rest would.
    async with world.bot.db.transaction() as conn:
        await conn.execute("UPDATE source_state SET next_attempt_at = NULL")
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.messages(world.news)) == 2, timeout=10, message="caught up")
    assert sorted(posted_ids(world.fake.messages(world.news))) == sorted(ids)


async def test_status_shows_delivery_counts(world: World) -> None:
    await add_feed(world)
    publish(world, new_item("Counted"))
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.messages(world.news)) == 1, timeout=10, message="post")
    await idle(world)
    status = await world.run("status", user=world.admin)
    text = str(status.visible[0].embeds)
    assert "1 sent in 24 h" in text and "0 pending" in text


async def test_every_paper_reaches_each_target_once_across_many_polls(world: World) -> None:
    await add_feed(world)
    await world.run("subscribe", {"topic": "model"})
    all_ids: list[str] = []
    for round_number in range(4):
        all_ids += publish(world, *(new_item(f"Model variant {round_number}-{n}") for n in range(3)))
        await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.messages(world.news)) == 12, timeout=20, message="12 posts")
    await idle(world)
    channel_counts = Counter(posted_ids(world.fake.messages(world.news)))
    dm_counts = Counter(posted_ids(world.fake.dm_messages(world.member)))
    assert set(channel_counts) == set(all_ids) and set(channel_counts.values()) == {1}
    assert set(dm_counts) == set(all_ids) and set(dm_counts.values()) == {1}
