"""A real SQLite failure where a test needs one: a trigger that refuses an insert, as a full disk would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.db import Database


@asynccontextmanager
async def refusing(db: Database, table: str, when: str = "1") -> AsyncIterator[None]:
    """Inserts into ``table`` (those where ``when`` holds, over ``NEW``) fail with "disk full" inside the block."""
    async with db.transaction() as conn:
        await conn.execute(
            f"CREATE TRIGGER explode BEFORE INSERT ON {table} WHEN {when} BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    try:
        yield
    finally:
        async with db.transaction() as conn:
            await conn.execute("DROP TRIGGER IF EXISTS explode")
