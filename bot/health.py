"""Is the running bot healthy? It writes a heartbeat; ``python -m bot health`` reads it, read-only.

Used by the Dockerfile's HEALTHCHECK and by operators (``systemctl``, cron, monitoring). Healthy means: the
heartbeat is fresh (the process is alive and its event loop not stuck), the gateway is connected, and some
source was read successfully recently (or the bot only just started).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from bot.db import Database

HEARTBEAT_KEY = "health:heartbeat"
HEARTBEAT_SECONDS = 30
STALE_AFTER = 4 * HEARTBEAT_SECONDS
# Sources rest up to an hour after errors; three missed polls (at least an hour) means no paper is arriving.
MIN_POLL_GRACE = 3600


@dataclass(frozen=True)
class Verdict:
    healthy: bool
    reason: str


async def beat(db: Database, conn: aiosqlite.Connection | None = None, *, gateway: bool, started_at: float) -> None:
    value = json.dumps({"at": int(time.time()), "gateway": gateway, "started_at": int(started_at)})
    if conn is not None:
        await db.meta.set(conn, HEARTBEAT_KEY, value)
        return
    async with db.transaction() as tx:
        await db.meta.set(tx, HEARTBEAT_KEY, value)


def _ago(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def check(path: Path, *, poll_interval: int, now: float | None = None) -> Verdict:
    """Read the heartbeat and the sources' last success from the database without writing to it."""
    now = time.time() if now is None else now
    if not path.exists():
        return Verdict(False, f"no database at {path}: has the bot ever started?")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (HEARTBEAT_KEY,)).fetchone()
            success = conn.execute("SELECT MAX(last_success_at) FROM source_state").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as error:
        return Verdict(False, f"cannot read the database {path}: {error}")
    if row is None:
        return Verdict(False, "no heartbeat yet: the bot has not finished starting (or never ran on this database)")
    try:
        heartbeat = json.loads(row[0])
        at, gateway, started = int(heartbeat["at"]), bool(heartbeat["gateway"]), int(heartbeat["started_at"])
    except (ValueError, KeyError, TypeError):
        return Verdict(False, "the heartbeat in the database is unreadable")
    if now - at > STALE_AFTER:
        return Verdict(False, f"last heartbeat {_ago(now - at)}: the bot is not running or is stuck")
    if not gateway:
        return Verdict(False, "not connected to the Discord gateway (reconnecting)")
    grace = max(MIN_POLL_GRACE, 3 * poll_interval)
    if success is None or now - success > grace:
        if now - started <= grace:
            return Verdict(True, "healthy: connected; waiting for the first successful poll")
        last = "never" if success is None else _ago(now - success)
        return Verdict(False, f"no paper source read successfully since the start ({last}); see /status")
    return Verdict(True, f"healthy: connected; last successful poll {_ago(now - success)}")
