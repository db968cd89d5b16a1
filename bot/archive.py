"""Storing papers: the one way papers enter the archive, so every write of papers decides their deliveries.

The poller, ``python -m bot fetch``, ``/paper`` lookups and the Hugging Face search fallback all store
through here. Papers and the outbox rows they make eligible are written in one transaction: a paper can
never be stored without its deliveries decided (a later poll sees it unchanged and would not decide them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from bot.db import Database
from bot.db.papers import StoreResult
from bot.delivery.outbox import EnqueueReport, enqueue
from bot.models import Paper


@dataclass
class Stored:
    papers: StoreResult = field(default_factory=StoreResult)
    queued: EnqueueReport = field(default_factory=EnqueueReport)

    def add(self, other: Stored) -> None:
        """Count ``other`` (a later chunk of the same poll) in: lists joined, counts summed."""
        _add_into(self, other)


def _add_into(total: Any, part: Any) -> None:
    for item in dataclasses.fields(total):
        mine, theirs = getattr(total, item.name), getattr(part, item.name)
        if theirs is None:
            continue
        if mine is None:
            setattr(total, item.name, theirs)
        elif isinstance(mine, list):
            mine.extend(theirs)
        elif dataclasses.is_dataclass(mine):
            _add_into(mine, theirs)
        elif isinstance(mine, int | float) and not isinstance(mine, bool):
            setattr(total, item.name, mine + theirs)
        else:
            setattr(total, item.name, theirs)


async def store(db: Database, papers: Sequence[Paper], *, now: int | None = None) -> Stored:
    """Merge ``papers`` into the archive and queue their deliveries, atomically.

    ``now`` (epoch seconds, default the wall clock) decides which papers are recent enough to deliver.
    Callers pass one record per id (see ``bot.sources.hf.dedupe``).
    """
    async with db.transaction() as conn:
        return await store_in(db, conn, papers, now=now)


async def store_in(
    db: Database, conn: aiosqlite.Connection, papers: Sequence[Paper], *, now: int | None = None
) -> Stored:
    """``store`` inside the caller's transaction, for a caller that writes more in the same step (the poller)."""
    result = await db.papers.upsert(conn, papers)
    return Stored(papers=result, queued=await enqueue(db, conn, result, now=now))
