"""Two bot processes, two shards each, sharing one SQLite file against the Discord stand-in (four shards).

Each feed is posted by the process serving its server's shard, exactly once; members' DMs by the process with
shard 0; only the process holding the poller lease polls the sources, and when it is killed the other
takes the lease over and polls. Every wait is a condition with a timeout.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from testing.bot_harness import MANAGE_GUILD, bot_settings, serve_today, today
from testing.factories import hf_item
from testing.fake_discord import FakeDiscord, RateLimits
from testing.paper_server import PaperServer
from testing.process import bot_env, finish, spawn_bot, workdir
from testing.process import read_rows as rows

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SHARDS = 4
POLL_SECONDS = 1


def lease_pid(path: Path) -> int | None:
    found = rows(path, "SELECT holder FROM leases WHERE name = 'poller' AND expires_at > ?", (time.time(),))
    return int(found[0][0].split(":")[1]) if found else None


def publish(papers: PaperServer, first: int, count: int) -> list[str]:
    day = today().isoformat()
    items = [
        hf_item(f"2611.{first + n:05d}", f"Sharded delivery study {first + n}", upvotes=10, day=today())
        for n in range(count)
    ]
    current = papers.hf_days.get(day)
    papers.hf_days[day] = [*(current if isinstance(current, list) else []), *items]
    return [item["paper"]["id"] for item in items]


def embed_ids(messages: list[Any]) -> list[str]:
    return [embed["url"].rstrip("/").rsplit("/", 1)[-1] for message in messages for embed in message.embeds]


@pytest.fixture
async def sharded_fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(shards=SHARDS, rate_limits=RateLimits.off()) as fake:
        yield fake
        assert fake.internal_errors == [], fake.internal_errors


async def test_two_processes_with_two_shards_each_serve_every_feed_once_and_poll_once(
    sharded_fake: FakeDiscord, paper_server: PaperServer, make_settings: Any
) -> None:
    fake = sharded_fake
    serve_today(paper_server)
    guilds = [fake.add_guild(f"Lab {shard}", shard_id=shard) for shard in range(SHARDS)]
    channels = [fake.add_text_channel(guild.id, "papers") for guild in guilds]
    admins = [fake.add_member(guild.id, f"admin-{n}", permissions=MANAGE_GUILD) for n, guild in enumerate(guilds)]
    reader = fake.add_member(guilds[3].id, "reader")  # a server on the second process's shard
    base = bot_settings(make_settings(poll_interval_seconds=POLL_SECONDS), fake, poller_lease_seconds=3)
    halves = [
        Settings(_env_file=None, **(base.model_dump() | {"shard_count": SHARDS, "shard_ids": ids}))
        for ids in ([0, 1], [2, 3])
    ]
    db_path = base.database_path
    processes = [
        await spawn_bot(env=bot_env(settings), cwd=workdir(settings), stdout=asyncio.subprocess.DEVNULL)
        for settings in halves
    ]
    logs: dict[int, str] = {}
    try:
        await fake.wait_until_ready(timeout=30)
        await fake.wait_for(lambda: bool(rows(db_path, "SELECT 1 FROM source_state")), timeout=30, message="poll")
        for guild, channel, admin in zip(guilds, channels, admins, strict=True):
            inter = await fake.invoke("feed add", {}, user=admin, guild=guild, channel=channel)
            await inter.wait_done(timeout=10)
            assert "will now get" in inter.visible[0].content
        inter = await fake.invoke("subscribe", {"topic": "sharded delivery"}, user=reader, guild=guilds[3])
        await inter.wait_done(timeout=10)
        assert inter.error is None, inter.error

        rss_before, started = paper_server.count("/rss"), time.monotonic()
        ids = publish(paper_server, 70001, 3)
        await fake.wait_for(
            lambda: all(len(fake.messages(c)) >= 3 for c in channels) and len(embed_ids(fake.dm_messages(reader))) >= 3,
            timeout=30,
            message="every feed and the DM got the new papers",
        )
        # Two pollers would fetch the arXiv feed about twice per interval.
        polls = paper_server.count("/rss") - rss_before
        assert polls <= (time.monotonic() - started) / POLL_SECONDS + 2, polls
        for channel in channels:
            assert sorted(embed_ids(fake.messages(channel))) == sorted(ids)  # once each, no duplicates
        assert sorted(embed_ids(fake.dm_messages(reader))) == sorted(ids)

        # The poller dies: the other process takes the lease over once it expires and polls from then on.
        holder = lease_pid(db_path)
        assert holder in {p.pid for p in processes}
        dead = next(p for p in processes if p.pid == holder)
        survivor_index = 1 - processes.index(dead)
        dead.send_signal(signal.SIGKILL)
        await dead.wait()
        survivor = processes[survivor_index]
        await fake.wait_for(lambda: lease_pid(db_path) == survivor.pid, timeout=20, message="lease taken over")
        late = publish(paper_server, 70101, 1)
        served = channels[2 * survivor_index : 2 * survivor_index + 2]
        await fake.wait_for(
            lambda: all(late[0] in embed_ids(fake.messages(c)) for c in served), timeout=30, message="survivor polls"
        )
        # The dead process's servers wait for it: nothing of theirs is sent by a process not serving their shard.
        late_sql = "SELECT target_id, status FROM deliveries WHERE paper_id = ? AND target_kind = 'channel'"
        await fake.wait_for(
            lambda: (
                {c.id for c in served} <= {t for t, status in rows(db_path, late_sql, (late[0],)) if status == "sent"}
            ),
            timeout=10,
            message="survivor's posts recorded",
        )
        late_rows = rows(db_path, late_sql, (late[0],))
        assert {target for target, status in late_rows if status == "sent"} == {c.id for c in served}
        assert sorted(status for _, status in late_rows if status != "sent") == ["pending", "pending"]
        counts = Counter(pid for c in channels for pid in embed_ids(fake.messages(c)))
        assert max(counts.values()) <= SHARDS  # at most once per channel
    finally:
        for index, process in enumerate(processes):
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            logs[index] = (await finish(process, timeout=20)).err
    assert sum("now holds the poller lease" in log for log in logs.values()) == 2  # the first holder, then the survivor
    assert "Traceback" not in logs[survivor_index]
    check = rows(db_path, "PRAGMA integrity_check")
    assert check == [("ok",)]
