"""Exactly-once delivery through crashes: SIGKILL mid-burst, and a restart long after a lost response.

The first test runs the real bot as a subprocess (``python -m bot``) against the Discord stand-in with
Discord's rate limits enforced, kills it with SIGKILL while a burst of posts is in flight (one of them
created by Discord but not yet answered), restarts it on the same database and checks that every
(channel, paper) and (user, paper) pair arrived exactly once.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.config import Settings
from testing.bot_harness import MANAGE_GUILD, bot_settings, running_bot, serve_today, today
from testing.factories import hf_item
from testing.fake_discord import FakeDiscord, RateLimits
from testing.paper_server import PaperServer
from testing.process import bot_env, finish, spawn_bot, workdir
from testing.process import read_rows as rows

pytestmark = pytest.mark.e2e

CHANNELS = 8
NEW_PAPERS = 4


def publish(papers: PaperServer, count: int, prefix: str) -> list[str]:
    day = today().isoformat()
    items = [
        hf_item(
            f"2611.{80000 + index:05d}", f"{prefix} crash-safe delivery study {index}", upvotes=20 + index, day=today()
        )
        for index in range(count)
    ]
    current = papers.hf_days.get(day)
    papers.hf_days[day] = [*(current if isinstance(current, list) else []), *items]
    return [item["paper"]["id"] for item in items]


def embed_ids(messages: list[Any]) -> list[str]:
    return [embed["url"].rstrip("/").rsplit("/", 1)[-1] for message in messages for embed in message.embeds]


async def start_bot(settings: Settings) -> asyncio.subprocess.Process:
    return await spawn_bot(env=bot_env(settings), cwd=workdir(settings), stdout=asyncio.subprocess.DEVNULL)


async def stop(process: asyncio.subprocess.Process, sig: int = signal.SIGTERM) -> str:
    if process.returncode is None:
        process.send_signal(sig)
    return (await finish(process, timeout=20)).err


@pytest.fixture
async def limited_fake() -> AsyncIterator[FakeDiscord]:
    """Discord's real limits: 50 requests/s globally, 5 messages per 5 s per channel."""
    async with FakeDiscord(rate_limits=RateLimits()) as fake:
        yield fake
        assert fake.internal_errors == [], fake.internal_errors


@pytest.mark.slow
async def test_sigkill_mid_burst_then_restart_delivers_everything_exactly_once(
    limited_fake: FakeDiscord, paper_server: PaperServer, make_settings: Any
) -> None:
    fake = limited_fake
    serve_today(paper_server)
    guild = fake.add_guild("Crash Lab")
    channels = [fake.add_text_channel(guild.id, f"papers-{n}") for n in range(CHANNELS)]
    admin = fake.add_member(guild.id, "alice", permissions=MANAGE_GUILD)
    reader = fake.add_member(guild.id, "bob")
    settings = bot_settings(make_settings(poll_interval_seconds=1), fake)
    db_path = settings.database_path

    first = await start_bot(settings)
    try:
        await fake.wait_until_ready(timeout=20)
        await fake.wait_for(lambda: bool(rows(db_path, "SELECT 1 FROM source_state")), timeout=20, message="poll")
        for channel in channels:
            inter = await fake.invoke("feed add", {}, user=admin, guild=guild, channel=channel)
            await inter.wait_done(timeout=10)
            assert "will now get" in inter.visible[0].content
        inter = await fake.invoke("subscribe", {"topic": "crash-safe delivery"}, user=reader, guild=guild)
        await inter.wait_done(timeout=10)
        # One post is created by Discord but its answer never comes: the crash window the nonce covers.
        hung = fake.fail_next(
            "POST", rf"/channels/{channels[3].id}/messages", status=None, after_processing=True, delay=60
        )
        ids = publish(paper_server, NEW_PAPERS, "Burst")
        expected = CHANNELS * NEW_PAPERS
        await fake.wait_for(
            lambda: hung.hits == 1 and sum(len(fake.messages(c)) for c in channels) >= expected // 2,
            timeout=30,
            message="burst under way",
        )
        await stop(first, signal.SIGKILL)
        assert first.returncode == -signal.SIGKILL
        # Killed mid-burst: some posts were still to come (else the restart would prove nothing).
        assert sum(len(fake.messages(c)) for c in channels) < expected

        second = await start_bot(settings)
        try:
            await fake.wait_for(
                lambda: sum(len(fake.messages(c)) for c in channels) == expected and len(fake.dm_messages(reader)) >= 1,
                timeout=40,
                message="every post after the restart",
            )
            await fake.wait_for(
                lambda: (
                    rows(db_path, "SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'sending')") == [(0,)]
                ),
                timeout=20,
                message="outbox settled",
            )
        finally:
            err = await stop(second)
        assert second.returncode == 0, err[-2000:]
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()

    for channel in channels:
        assert Counter(embed_ids(fake.messages(channel))) == Counter(ids), channel.name
    assert Counter(embed_ids(fake.dm_messages(reader))) == Counter(ids)
    sent = rows(db_path, "SELECT COUNT(*) FROM deliveries WHERE status = 'sent' AND paper_id LIKE '2611.8%'")
    assert sent == [(expected + NEW_PAPERS,)]
    assert fake.stats["global_429"] == 0


async def test_restart_after_nonce_memory_expired_finds_the_post_instead_of_reposting(
    paper_server: PaperServer, make_settings: Any
) -> None:
    # Discord forgets nonces after a few minutes; this stand-in forgets them at once, so a blind resend
    # would create a duplicate and fail the test.
    async with FakeDiscord(rate_limits=RateLimits.off(), nonce_ttl=0.0) as fake:
        serve_today(paper_server)
        guild = fake.add_guild("Lab")
        channel = fake.add_text_channel(guild.id, "papers")
        admin = fake.add_member(guild.id, "alice", permissions=MANAGE_GUILD)
        settings = bot_settings(make_settings(poll_interval_seconds=3600), fake)
        async with running_bot(settings, fake) as bot:
            inter = await fake.invoke("feed add", {}, user=admin, guild=guild, channel=channel)
            await inter.wait_done(timeout=10)
            fake.fail_next("POST", rf"/channels/{channel.id}/messages", status=None, after_processing=True, delay=30)
            (paper_id,) = publish(paper_server, 1, "Late")
            await bot.poller.poll_once()
            await fake.wait_for(lambda: len(fake.messages(channel)) == 1, timeout=10, message="created, unanswered")
        # The bot stopped mid-request: the row is still 'sending'. Pretend ten minutes have passed.
        conn = sqlite3.connect(settings.database_path)
        with conn:
            (status,) = conn.execute("SELECT status FROM deliveries WHERE paper_id = ?", (paper_id,)).fetchone()
            assert status == "sending"
            conn.execute("UPDATE deliveries SET claimed_at = claimed_at - 600 WHERE paper_id = ?", (paper_id,))
        conn.close()
        async with running_bot(settings, fake, first_poll=False) as bot:
            await fake.wait_for(
                lambda: bot.dispatcher.stats["messages"] == 1, timeout=10, message="found in channel history"
            )
            assert await bot.db.deliveries.status_of("channel", channel.id, paper_id) == "sent"
        posts = [r for r in fake.requests if r.method == "POST" and r.path == f"/channels/{channel.id}/messages"]
        assert len(posts) == 1
        assert len(fake.messages(channel)) == 1
        assert any(r.method == "GET" and r.path == f"/channels/{channel.id}/messages" for r in fake.requests)


async def test_a_crash_between_a_post_and_its_thread_gets_the_thread_on_restart(
    paper_server: PaperServer, make_settings: Any
) -> None:
    async with FakeDiscord(rate_limits=RateLimits.off()) as fake:
        serve_today(paper_server)
        guild = fake.add_guild("Lab")
        channel = fake.add_text_channel(guild.id, "papers")
        admin = fake.add_member(guild.id, "alice", permissions=MANAGE_GUILD)
        settings = bot_settings(make_settings(poll_interval_seconds=3600), fake)
        thread_path = rf"/channels/{channel.id}/messages/\d+/threads"
        async with running_bot(settings, fake) as bot:
            inter = await fake.invoke("feed add", {"threads": True}, user=admin, guild=guild, channel=channel)
            await inter.wait_done(timeout=10)
            # Every thread request dies unprocessed (connection reset, discord.py's retries too); the bot then
            # stops with the post sent and no thread: the state a crash between the two leaves.
            lost = fake.fail_next("POST", thread_path, status=None, reset=True, count=50)
            (paper_id,) = publish(paper_server, 1, "Threadless")
            await bot.poller.poll_once()
            await fake.wait_for(lambda: lost.hits >= 1, timeout=10, message="thread requested")
            assert await bot.db.deliveries.status_of("channel", channel.id, paper_id) == "sent"
        lost.count = lost.hits  # Discord is fine again
        assert fake.threads == []
        async with running_bot(settings, fake, first_poll=False) as bot:
            await fake.wait_for(lambda: len(fake.threads) == 1, timeout=10, message="thread started on restart")
            (thread,) = fake.threads
            assert thread.parent_id == channel.id
            assert thread.name.startswith("Threadless crash-safe delivery study")
            await fake.wait_for(
                lambda: not rows(settings.database_path, "SELECT 1 FROM deliveries WHERE thread_wanted = 1"),
                timeout=10,
                message="thread marked done",
            )
        assert len(fake.messages(channel)) == 1  # the post itself was never repeated
        async with running_bot(settings, fake, first_poll=False):  # nothing left to repair: no second thread
            pass  # a start and a clean stop are the whole test: the restart must not repair anything
        assert len(fake.threads) == 1
