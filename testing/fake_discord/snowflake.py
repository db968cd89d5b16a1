"""Timestamp-based, unique snowflake ids like Discord's."""

from __future__ import annotations

import datetime
import threading
import time

DISCORD_EPOCH_MS = 1420070400000


class SnowflakeGenerator:
    """Generates increasing snowflakes: 42 bits of ms since the Discord epoch, worker, process, increment.

    Ids are strictly increasing and unique for one generator; ``shard`` lets a caller ask for an id whose
    timestamp part lands on a given gateway shard (``(id >> 22) % shard_count == shard``).
    """

    def __init__(self, worker: int = 1, process: int = 0) -> None:
        self._worker = worker & 0x1F
        self._process = process & 0x1F
        self._last_ms = 0
        self._increment = 0
        self._lock = threading.Lock()

    def next(self, *, shard: int | None = None, shard_count: int = 1) -> int:
        with self._lock:
            ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
            if ms < self._last_ms:
                ms = self._last_ms
            if shard is not None and shard_count > 1:
                while ms % shard_count != shard % shard_count or ms < self._last_ms:
                    ms += 1
            if ms == self._last_ms:
                self._increment += 1
                if self._increment >= 4096:
                    ms += shard_count if shard is not None else 1
                    self._increment = 0
            else:
                self._increment = 0
            self._last_ms = ms
            return (ms << 22) | (self._worker << 17) | (self._process << 12) | self._increment


def snowflake_time(snowflake: int) -> datetime.datetime:
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)


def iso(dt: datetime.datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.isoformat()
