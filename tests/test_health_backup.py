"""``python -m bot health`` and ``python -m bot backup``: what a service manager and an operator run."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot import health
from bot.config import Settings
from bot.db import Database
from testing.bot_harness import bot_settings, build_world, running_bot, serve_today
from testing.fake_discord import FakeDiscord
from testing.paper_server import PaperServer
from testing.process import bot_env, run_bot, workdir


async def run_cli(settings: Settings, *args: str) -> tuple[int, str, str]:
    return await run_bot(*args, env=bot_env(settings), cwd=workdir(settings))


async def _heartbeat(settings: Settings, *, gateway: bool, at: float, started: float, success: float | None) -> None:
    db = await Database.open(settings.database_path)
    try:
        async with db.transaction() as conn:
            await health.beat(db, conn, gateway=gateway, started_at=started)
            await conn.execute(
                "UPDATE meta SET value = json_set(value, '$.at', ?) WHERE key = ?", (int(at), health.HEARTBEAT_KEY)
            )
            if success is not None:
                await conn.execute(
                    "INSERT INTO source_state (name, last_success_at) VALUES ('huggingface', ?)", (int(success),)
                )
    finally:
        await db.close()


async def test_health_without_a_database_or_heartbeat_is_unhealthy(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    code, out, err = await run_cli(settings, "health")
    assert code == 1 and "no database" in out and out.count("\n") == 1 and "Traceback" not in err
    await (await Database.open(settings.database_path)).close()
    code, out, _ = await run_cli(settings, "health")
    assert code == 1 and "no heartbeat yet" in out


@pytest.mark.parametrize(
    ("gateway", "beat_age", "started_age", "success_age", "healthy", "fragment"),
    [
        (True, 5, 100, 60, True, "healthy: connected; last successful poll"),
        (True, 5, 10, None, True, "waiting for the first successful poll"),
        (True, 5, 99_999, None, False, "no paper source read successfully"),
        (True, 5, 99_999, 20_000, False, "no paper source read successfully"),
        (False, 5, 100, 60, False, "not connected to the Discord gateway"),
        (True, 3600, 9000, 3700, False, "not running or is stuck"),
    ],
)
async def test_health_reads_the_heartbeat(
    make_settings: Callable[..., Settings],
    gateway: bool,
    beat_age: float,
    started_age: float,
    success_age: float | None,
    healthy: bool,
    fragment: str,
) -> None:
    settings = make_settings(poll_interval_seconds=900)
    now = time.time()
    success = None if success_age is None else now - success_age
    await _heartbeat(settings, gateway=gateway, at=now - beat_age, started=now - started_age, success=success)
    code, out, _ = await run_cli(settings, "health")
    assert (code == 0) is healthy, out
    assert fragment in out and out.count("\n") == 1


@pytest.mark.e2e
async def test_the_running_bot_reports_healthy(
    paper_server: PaperServer, make_settings: Callable[..., Settings], fake_discord: FakeDiscord
) -> None:
    serve_today(paper_server)
    build_world(fake_discord)
    settings = bot_settings(make_settings(poll_interval_seconds=3600), fake_discord)
    async with running_bot(settings, fake_discord):

        def connected_beat() -> bool:
            verdict = health.check(settings.database_path, poll_interval=3600)
            return verdict.healthy and "last successful poll" in verdict.reason

        await fake_discord.wait_for(connected_beat, timeout=10, message="a heartbeat after on_ready")
        code, out, _ = await run_cli(settings, "health")
        assert code == 0, out
        assert out.startswith("healthy: connected; last successful poll")


# ---- backup ----------------------------------------------------------------------------------------------------


def _writer(path: Path, stop: threading.Event, written: list[int], going: threading.Event) -> None:
    """Another process-like writer: commits rows to the live WAL database until told to stop."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        number = 0
        while not stop.is_set():
            number += 1
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (f"load:{number}", "x" * 2000))
            conn.commit()
            written.append(number)
            if number == 200:
                going.set()
    finally:
        conn.close()


async def test_backup_while_a_writer_writes_is_consistent_and_atomic(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings()
    db = await Database.open(settings.database_path)
    await db.close()
    stop, going = threading.Event(), threading.Event()
    written: list[int] = []
    thread = threading.Thread(target=_writer, args=(settings.database_path, stop, written, going))
    thread.start()
    try:
        assert await asyncio.to_thread(going.wait, 10)  # the writer is well under way
        target = tmp_path / "backup.db"
        code, out, err = await run_cli(settings, "backup", str(target))
    finally:
        stop.set()
        thread.join()
    assert code == 0, err
    assert "backed up" in out
    copy = sqlite3.connect(target)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        keys = copy.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'load:%'").fetchone()[0]
        assert keys >= 200
        assert copy.execute("PRAGMA user_version").fetchone()[0] > 0
    finally:
        copy.close()
    assert not list(tmp_path.glob("*.partial"))

    # An existing backup is never replaced by accident.
    before = target.read_bytes()
    code, _, err = await run_cli(settings, "backup", str(target))
    assert code == 2 and "--force" in err and "Traceback" not in err
    assert target.read_bytes() == before
    code, _, err = await run_cli(settings, "backup", str(target), "--force")
    assert code == 0, err


async def test_backup_refusals_are_one_line(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    settings = make_settings()
    code, _, err = await run_cli(settings, "backup", str(tmp_path / "b.db"))
    assert code == 2 and "no database" in err and err.count("\n") == 1
    await (await Database.open(settings.database_path)).close()
    code, _, err = await run_cli(settings, "backup", str(tmp_path / "missing-folder" / "b.db"))
    assert code == 2 and "does not exist" in err
    code, _, err = await run_cli(settings, "backup", str(settings.database_path), "--force")
    assert code == 2 and "live database" in err


@pytest.mark.e2e
@pytest.mark.slow
async def test_health_says_when_the_gateway_is_lost(
    paper_server: PaperServer, make_settings: Callable[..., Settings], fake_discord: FakeDiscord
) -> None:
    serve_today(paper_server)
    build_world(fake_discord)
    settings = bot_settings(make_settings(poll_interval_seconds=3600), fake_discord)

    def reason() -> str:
        return health.check(settings.database_path, poll_interval=3600).reason

    async with running_bot(settings, fake_discord):
        await fake_discord.wait_for(lambda: reason().startswith("healthy"), timeout=10, message="healthy first")
        await fake_discord.stop()  # Discord goes away: the gateway drops and cannot reconnect
        await fake_discord.wait_for(
            lambda: "not connected to the Discord gateway" in reason(), timeout=15, message="the drop reported"
        )
        code, out, _ = await run_cli(settings, "health")
        assert code == 1 and "not connected" in out


async def test_the_loop_monitors_heartbeat_leaves_the_health_heartbeat_readable(tmp_path: Path) -> None:
    from bot.looplag import LoopMonitor

    db = await Database.open(tmp_path / "bot.db")
    try:
        await health.beat(db, gateway=True, started_at=time.time())
        await LoopMonitor(db)._persist()  # every 5 s in the running bot, so it always came after the beat
    finally:
        await db.close()
    verdict = health.check(tmp_path / "bot.db", poll_interval=900)
    assert "unreadable" not in verdict.reason, verdict.reason
