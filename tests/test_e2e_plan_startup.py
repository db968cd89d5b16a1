"""Start-up with many stored topics: commands answer at once while their plans are rebuilt in the background."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.db import Database
from testing.bot_harness import bot_settings, build_world, running_bot, serve_today
from testing.fake_discord import FakeDiscord
from testing.paper_server import PaperServer

pytestmark = pytest.mark.e2e

TOPICS = 4_000


async def _database_with_unindexed_topics(path: Path, count: int) -> None:
    """A database as an upgrade leaves it: topics stored, none of them indexed yet."""
    db = await Database.open(path)
    await db.close()
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO topics (user_id, query, created_at) VALUES (?, ?, 0)",
            [(1000 + index % 400, f"topic{index} diffusion") for index in range(count)],
        )
    conn.close()


def _unindexed(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM topics WHERE query_id IS NULL").fetchone()[0])
    finally:
        conn.close()


async def test_commands_answer_while_plans_are_built_and_polling_waits_for_them(
    paper_server: PaperServer,
    make_settings: Callable[..., Settings],
    fake_discord: FakeDiscord,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.plans.CHUNK", 10)  # many short transactions: the build takes a while
    serve_today(paper_server)
    guild, general, _news, _admin, member = build_world(fake_discord)
    settings: Any = bot_settings(make_settings(poll_interval_seconds=3600), fake_discord)
    await _database_with_unindexed_topics(settings.database_path, TOPICS)
    async with running_bot(settings, fake_discord, first_poll=False) as bot:
        inter = await fake_discord.invoke("help", {}, user=member, guild=guild, channel=general)
        await inter.wait_done(timeout=10)
        assert inter.original is not None and inter.original.embeds
        inter = await fake_discord.invoke("subscribe", {"topic": "graph networks"}, user=member, guild=guild)
        await inter.wait_done(timeout=10)
        assert inter.error is None
        assert not bot.plans.ready.is_set(), "the build finished before the commands: the test proves nothing"
        assert bot.poller.last_report is None  # no poll before every topic has its plan
        assert _unindexed(settings.database_path) > 0
        await fake_discord.wait_for(bot.plans.ready.is_set, timeout=120, message="plans built")
        assert _unindexed(settings.database_path) == 0
        assert bot.plans.indexed == TOPICS
        await fake_discord.wait_for(lambda: bot.poller.last_report is not None, timeout=15, message="first poll")
