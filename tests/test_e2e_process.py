"""The bot as an operator runs it: restarts on one database, where commands are synced, ``python -m bot sync``,
``python -m bot`` stopped by SIGTERM/SIGINT, and the token kept out of DEBUG logs.

The Discord stand-in and the paper fixture server run in the test's event loop; subprocesses reach them over
loopback (``asyncio.create_subprocess_exec`` keeps the loop serving while they run). Nothing waits with a fixed
sleep: every wait is a condition polled with a timeout.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from testing.bot_harness import bot_settings, build_world, running_bot, serve_today
from testing.fake_discord import FakeDiscord, RateLimits
from testing.paper_server import PaperServer
from testing.process import Finished, bot_env, finish, query_db, spawn_bot, workdir

pytestmark = pytest.mark.e2e

EXPECTED_COMMANDS = {"search", "paper", "feed", "help"}
# Shaped like a real bot token and long enough that any leak of it is unmistakable.
SECRET_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GqE2eP.pRoCeSs-LeVeL-t0ken_must_never_be_logged"
PROCESS_TIMEOUT = 30.0
# bot/logs.py: "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


# ---- helpers ----------------------------------------------------------------------------------------------


def command_names(commands: list[dict[str, Any]]) -> set[str]:
    return {command["name"] for command in commands}


def meta_value(path: Path, key: str) -> str | None:
    rows = query_db(path, "SELECT value FROM meta WHERE key = ?", (key,))
    return rows[0][0] if rows else None


def first_poll_stored(path: Path) -> bool:
    """Both sources polled successfully and their papers committed (one transaction in the poller)."""
    papers = query_db(path, "SELECT COUNT(*) FROM papers")
    sources = query_db(path, "SELECT COUNT(*) FROM source_state WHERE last_success_at IS NOT NULL")
    return bool(papers and papers[0][0] > 0 and sources and sources[0][0] == 2)


async def start_cli(settings: Settings, *args: str, **env: str) -> asyncio.subprocess.Process:
    # cwd is the test's tmp_path: no developer .env can leak into the subprocess's settings.
    return await spawn_bot(*args, env=bot_env(settings, **env), cwd=workdir(settings))


async def run_cli(settings: Settings, *args: str, **env: str) -> Finished:
    return await finish(await start_cli(settings, *args, **env), PROCESS_TIMEOUT)


def global_key(fake: FakeDiscord) -> str:
    return f"commands:{fake.application_id}:global"


# ---- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """A stand-in with a distinctive token (the shared fixture's "test-token" is too plain to grep logs for)."""
    async with FakeDiscord(token=SECRET_TOKEN, rate_limits=RateLimits.off()) as stand_in:
        yield stand_in
        assert stand_in.internal_errors == [], stand_in.internal_errors


@pytest.fixture
def make_bot_settings(
    paper_server: PaperServer, make_settings: Callable[..., Settings], fake: FakeDiscord
) -> Callable[..., Settings]:
    """Settings pointing at the stand-in and the fixture paper server (never the internet), one poll an hour."""
    serve_today(paper_server)

    def build(**overrides: Any) -> Settings:
        return bot_settings(make_settings(poll_interval_seconds=3600), fake, **overrides)

    return build


# ---- restarts and sync scope (in-process) ------------------------------------------------------------------


@pytest.mark.slow
async def test_restart_on_the_same_database_does_not_resync(
    fake: FakeDiscord, make_bot_settings: Callable[..., Settings]
) -> None:
    build_world(fake)
    config = make_bot_settings()
    async with running_bot(config, fake) as bot:
        assert bot.synced is True
    assert fake.sync_count == 1
    registered = fake.commands()
    assert command_names(registered) >= EXPECTED_COMMANDS
    # Keyed by the application id, which the stand-in makes different from the bot user id.
    digest = meta_value(config.database_path, global_key(fake))
    assert digest is not None and len(digest) == 64
    assert query_db(config.database_path, "SELECT key FROM meta WHERE key LIKE ?", (f"%{fake.bot_user_id}%",)) == []

    async with running_bot(config, fake) as bot:
        assert fake.identify_count == 2  # really a second start, not the first session still up
        assert bot.synced is False
    assert fake.sync_count == 1
    assert fake.commands() == registered  # same ids and versions: nothing was overwritten
    assert meta_value(config.database_path, global_key(fake)) == digest

    # The stored hash is what decides: a different one (a changed schema) makes the next start sync again.
    with sqlite3.connect(config.database_path) as conn:
        conn.execute("UPDATE meta SET value = 'stale' WHERE key = ?", (global_key(fake),))
    conn.close()
    async with running_bot(config, fake, first_poll=False) as bot:
        assert bot.synced is True
    assert fake.sync_count == 2
    assert command_names(fake.commands()) == command_names(registered)
    assert meta_value(config.database_path, global_key(fake)) == digest


async def test_dev_guild_id_syncs_to_that_guild_only(
    fake: FakeDiscord, make_bot_settings: Callable[..., Settings]
) -> None:
    guild, general, *_ = build_world(fake)
    other = fake.add_guild("Elsewhere")
    config = make_bot_settings(dev_guild_id=guild.id)
    async with running_bot(config, fake, first_poll=False):
        assert fake.sync_count == 1
        assert command_names(fake.commands(guild.id)) >= EXPECTED_COMMANDS
        assert all(command["guild_id"] == str(guild.id) for command in fake.commands(guild.id))
        assert fake.commands() == []
        assert fake.commands(other.id) == []
        put_paths = [item.path for item in fake.requests if item.method == "PUT"]
        assert put_paths == [f"/applications/{fake.application_id}/guilds/{guild.id}/commands"]
        assert meta_value(config.database_path, f"commands:{fake.application_id}:{guild.id}") is not None
        assert meta_value(config.database_path, global_key(fake)) is None
        # The guild copy is what Discord's client offers there, and the bot answers it.
        inter = await fake.invoke("help", {}, guild=guild, channel=general)
        await inter.wait_done(timeout=10)
        assert inter.data["guild_id"] == str(guild.id)
        assert inter.original is not None and inter.original.embeds


async def test_commands_synced_to_a_dev_guild_are_cleared_once_dev_guild_id_is_unset(
    fake: FakeDiscord, make_bot_settings: Callable[..., Settings]
) -> None:
    guild, *_ = build_world(fake)
    dev = make_bot_settings(dev_guild_id=guild.id)
    async with running_bot(dev, fake, first_poll=False):
        assert command_names(fake.commands(guild.id)) >= EXPECTED_COMMANDS
    guild_key = f"commands:{fake.application_id}:{guild.id}"
    assert meta_value(dev.database_path, guild_key) is not None

    production = make_bot_settings(database_path=dev.database_path)
    assert production.dev_guild_id is None
    async with running_bot(production, fake, first_poll=False):
        pass  # only start-up matters here: the global sync clears the dev-server copy
    assert fake.commands(guild.id) == []  # no second copy of every command in that server
    assert command_names(fake.commands()) >= EXPECTED_COMMANDS
    assert meta_value(dev.database_path, guild_key) is None

    syncs = fake.sync_count
    async with running_bot(production, fake, first_poll=False) as bot:  # nothing left to clear or sync
        assert bot.synced is False
    assert fake.sync_count == syncs


# ---- python -m bot sync ------------------------------------------------------------------------------------


@pytest.mark.slow
async def test_cli_sync_forces_a_sync_even_when_nothing_changed(
    fake: FakeDiscord, make_bot_settings: Callable[..., Settings]
) -> None:
    build_world(fake)
    config = make_bot_settings()
    code, out, err = await run_cli(config, "sync")
    assert code == 0, err
    assert "slash commands synced globally" in out
    assert fake.sync_count == 1
    assert command_names(fake.commands()) >= EXPECTED_COMMANDS
    digest = meta_value(config.database_path, global_key(fake))
    assert digest is not None

    code, out, err = await run_cli(config, "sync")  # same schema, same stored hash: synced anyway
    assert code == 0, err
    assert "slash commands synced globally" in out
    assert fake.sync_count == 2
    assert meta_value(config.database_path, global_key(fake)) == digest
    assert fake.identify_count == 0  # REST only: it never opened a gateway session
    assert "Traceback" not in out + err

    # The hash it stored is the one the running bot compares with: starting the bot now syncs nothing.
    async with running_bot(config, fake, first_poll=False) as bot:
        assert bot.synced is False
    assert fake.sync_count == 2


@pytest.mark.slow
async def test_cli_sync_with_dev_guild_id_targets_the_guild(
    fake: FakeDiscord, make_bot_settings: Callable[..., Settings]
) -> None:
    guild, *_ = build_world(fake)
    code, out, err = await run_cli(make_bot_settings(dev_guild_id=guild.id), "sync")
    assert code == 0, err
    assert f"slash commands synced to guild {guild.id}" in out
    assert fake.sync_count == 1
    assert command_names(fake.commands(guild.id)) >= EXPECTED_COMMANDS
    assert fake.commands() == []


@pytest.mark.slow
@pytest.mark.parametrize("args", [["sync"], []], ids=["sync", "run"])
async def test_a_wrong_token_is_exit_2_with_one_line(
    fake: FakeDiscord, make_bot_settings: Callable[..., Settings], args: list[str]
) -> None:
    wrong = "MTIzNDU2Nzg5MDEyMzQ1Njc4.WrOnGg.this-is-not-the-token-discord-knows"
    # The default LOG_LEVEL, as an operator runs it.
    code, out, err = await run_cli(make_bot_settings(discord_token=wrong), *args)
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    assert out == ""
    # Besides ordinary log records (discord.py's INFO "logging in", its voice-library warnings), stderr holds
    # exactly one line, the last: the operator's explanation. Nothing is logged as an error on top of it.
    lines = err.strip().splitlines()
    messages = [line for line in lines if not LOG_RECORD.match(line)]
    assert messages == [lines[-1]], err
    assert messages[0].startswith("error: Discord rejected DISCORD_TOKEN"), err
    levels = {match["level"] for line in lines if (match := LOG_RECORD.match(line))}
    assert not levels & {"ERROR", "CRITICAL"}, err
    assert wrong not in out + err
    assert fake.sync_count == 0
    assert fake.identify_count == 0
    assert fake.commands() == []
    assert fake.stats["by_status"].get(401, 0) >= 1  # it really asked the stand-in, which refused it


# ---- python -m bot: signals and the token in logs ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_bot_process_stops_cleanly_on_signal_and_never_logs_the_token(
    fake: FakeDiscord, make_bot_settings: Callable[..., Settings], paper_server: PaperServer, sig: signal.Signals
) -> None:
    build_world(fake)
    config = make_bot_settings(log_level="DEBUG")
    process = await start_cli(config)
    output = asyncio.create_task(process.communicate())  # drain both pipes while the bot runs
    try:
        # Ready on the gateway and done with its first poll -- or gone, which fails at once with its output.
        await fake.wait_for(
            lambda: (fake.is_ready() and first_poll_stored(config.database_path)) or output.done(),
            timeout=PROCESS_TIMEOUT,
            message="the bot never became ready and stored its first poll",
        )
        if output.done():
            out_bytes, err_bytes = output.result()
            pytest.fail(f"the bot exited ({process.returncode}) before it was signalled:\n{err_bytes.decode()[-3000:]}")
        assert fake.identify_count == 1
        assert paper_server.count("/api/daily_papers") >= 1
        assert paper_server.count("/rss/") >= 1
        assert fake.sync_count == 1
        assert fake.connections == 1

        process.send_signal(sig)
        out_bytes, err_bytes = await asyncio.wait_for(output, timeout=PROCESS_TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        if not output.done():
            output.cancel()

    out, err = out_bytes.decode(), err_bytes.decode()
    assert process.returncode == 0, err[-3000:]
    assert "Traceback" not in out + err
    assert "shutting down on signal" in err
    # The logs are really at DEBUG and really captured, so the absence below means something.
    assert " DEBUG " in err and len(err.splitlines()) > 10
    assert SECRET_TOKEN not in out + err
    for fragment in SECRET_TOKEN.split("."):
        assert fragment not in out + err
    # Closed as a bot that is leaving, not dropped: the gateway session ended and the database is intact.
    await fake.wait_for(lambda: fake.connections == 0, timeout=5, message="gateway session left open")
    assert first_poll_stored(config.database_path)
    assert query_db(config.database_path, "PRAGMA integrity_check") == [("ok",)]
