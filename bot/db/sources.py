"""SQL for per-source poll state: health for /status, backoff, conditional-request validators, watermark."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import aiosqlite

from bot.db.rows import field_names, row_mapper, times

if TYPE_CHECKING:
    from bot.db import Database


@dataclass
class SourceState:
    name: str
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    next_attempt_at: datetime | None = None
    last_count: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    failing_since: datetime | None = None  # the first failure of the current run of failures
    watermark: str | None = None  # the source's own progress marker (arXiv: last listing day fully stored)

    @property
    def validators(self) -> dict[str, str]:
        return {key: value for key, value in (("etag", self.etag), ("last_modified", self.last_modified)) if value}


_FIELDS = field_names(SourceState)
_TIMES = {"last_attempt_at", "last_success_at", "last_error_at", "next_attempt_at", "failing_since"}


def _to_db(name: str, value: object) -> object:
    if name in _TIMES and isinstance(value, datetime):
        return int(value.timestamp())
    return value


_state = row_mapper(SourceState, times(*_TIMES))


class SourceStateRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def all(self) -> dict[str, SourceState]:
        rows = await self.db.fetchall(f"SELECT {', '.join(_FIELDS)} FROM source_state ORDER BY name")
        return {row["name"]: _state(row) for row in rows}

    async def get(self, name: str) -> SourceState:
        return (await self.all()).get(name) or SourceState(name=name)

    async def save(self, conn: aiosqlite.Connection, state: SourceState) -> None:
        values = [_to_db(name, getattr(state, name)) for name in _FIELDS]
        await conn.execute(
            f"INSERT INTO source_state ({', '.join(_FIELDS)}) VALUES ({', '.join('?' for _ in _FIELDS)}) "
            "ON CONFLICT (name) DO UPDATE SET " + ", ".join(f"{name} = excluded.{name}" for name in _FIELDS[1:]),
            values,
        )
