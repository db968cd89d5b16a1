"""Start-up without a network (issue 12, defect 5): under systemd or Docker the bot often starts before the
network is up. It must log one line per attempt and keep trying, not exit with a traceback; only a token
Discord rejects ends it (exit 2).

The Discord stand-in is created on a fixed free port but not listening yet; the bot runs as a subprocess.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Callable

import pytest

from bot.config import Settings
from testing.bot_harness import bot_settings, build_world, serve_today
from testing.fake_discord import FakeDiscord, RateLimits
from testing.paper_server import PaperServer
from testing.process import bot_env, finish, spawn_bot, workdir

pytestmark = pytest.mark.e2e

RETRY_LINE = "cannot reach Discord"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def read_until(stream: asyncio.StreamReader, needle: str, timeout: float) -> list[str]:  # noqa: ASYNC109
    """Lines of ``stream`` up to and including the first that contains ``needle``."""
    lines: list[str] = []

    async def read() -> None:
        while True:
            raw = await stream.readline()
            if not raw:
                raise AssertionError("the bot exited before: " + needle + "\n" + "".join(lines))
            lines.append(raw.decode())
            if needle in lines[-1]:
                return

    await asyncio.wait_for(read(), timeout)
    return lines


async def test_bot_started_before_the_network_retries_then_connects(
    paper_server: PaperServer, make_settings: Callable[..., Settings]
) -> None:
    serve_today(paper_server)
    fake = FakeDiscord(rate_limits=RateLimits.off(), port=free_port())
    build_world(fake)
    settings = bot_settings(make_settings(poll_interval_seconds=3600), fake)
    process = await spawn_bot(env=bot_env(settings), cwd=workdir(settings))
    try:
        assert process.stderr is not None
        early = await read_until(process.stderr, RETRY_LINE, timeout=30)
        async with fake:
            await fake.wait_for(lambda: fake.sync_count >= 1, timeout=30, message="the bot connected and synced")
            await fake.wait_for(lambda: fake.connections >= 1, timeout=30, message="gateway connected")
            process.send_signal(signal.SIGTERM)
            code, _, rest = await finish(process, timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = "".join(early) + rest
    assert code == 0, log
    assert "Traceback" not in log
    retries = [line for line in log.splitlines() if RETRY_LINE in line]
    assert retries and all(line.count("\n") == 0 for line in retries)
    assert "retrying in" in retries[0]


async def test_a_rejected_token_still_ends_the_bot_with_exit_2(
    paper_server: PaperServer, make_settings: Callable[..., Settings]
) -> None:
    async with FakeDiscord(rate_limits=RateLimits.off()) as fake:
        settings = bot_settings(make_settings(poll_interval_seconds=3600), fake)
        env = bot_env(settings, DISCORD_TOKEN="not-the-right-token")
        code, _, err = await finish(await spawn_bot(env=env, cwd=workdir(settings)), timeout=30)
    assert code == 2
    assert "Discord rejected DISCORD_TOKEN" in err and "Traceback" not in err


async def test_sync_without_network_is_one_sentence_and_exit_1(
    paper_server: PaperServer, make_settings: Callable[..., Settings]
) -> None:
    fake = FakeDiscord(rate_limits=RateLimits.off(), port=free_port())  # never started
    settings = bot_settings(make_settings(), fake)
    code, _, err = await finish(await spawn_bot("sync", env=bot_env(settings), cwd=workdir(settings)), timeout=30)
    assert code == 1
    assert "cannot reach Discord" in err and "Traceback" not in err


def test_retry_delays_double_up_to_a_minute() -> None:
    from bot.startup import retry_delay

    assert [retry_delay(attempt) for attempt in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert retry_delay(7) == 60.0 and retry_delay(1000) == 60.0
