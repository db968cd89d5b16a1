"""Storing papers: the one way papers enter the archive, so every write of papers decides their deliveries.

The poller, ``python -m bot fetch``, ``/paper`` lookups and the Hugging Face search fallback all store
through here. Papers are written in one transaction with a record that their deliveries are owed
(``bot.db.decisions``): a paper can never be stored with its deliveries forgotten (a later poll sees it
unchanged and would not decide them). The deciding itself runs after the commit (``bot.delivery.deciding``),
so matching 100k topics never holds the write lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import aiosqlite

from bot.db import Database
from bot.db.papers import StoreResult
from bot.delivery import deciding
from bot.delivery.outbox import EnqueueReport, owe
from bot.models import Paper


@dataclass
class Stored:
    papers: StoreResult = field(default_factory=StoreResult)
    queued: EnqueueReport = field(default_factory=EnqueueReport)


async def store(db: Database, papers: Sequence[Paper], *, now: int | None = None) -> Stored:
    """Merge ``papers`` into the archive with their deliveries owed, then decide those deliveries.

    ``now`` (epoch seconds, default the wall clock) decides which papers are recent enough to deliver.
    Callers pass one record per id (see ``bot.sources.hf.dedupe``). Only this store's deliveries are decided here
    (a poll's left owed is the next poll's); if this process is already deciding (a poll), that run decides these
    papers too and ``queued`` is empty: a command storing one paper never waits for a poll's deciding.
    """
    async with db.transaction() as conn:
        result, decision = await store_in(db, conn, papers, now=now)
    if decision is None:
        return Stored(papers=result)
    return Stored(papers=result, queued=await deciding.decide(db, wait=False, only=decision))


async def store_in(
    db: Database,
    conn: aiosqlite.Connection,
    papers: Sequence[Paper],
    *,
    now: int | None = None,
    decision: int | None = None,
) -> tuple[StoreResult, int | None]:
    """Merge ``papers`` inside the caller's transaction and owe their deliveries (added to ``decision`` if given).

    The caller runs :func:`bot.delivery.deciding.decide` after its commit (the poller, after its last chunk).
    """
    result = await db.papers.upsert(conn, papers)
    return result, await owe(db, conn, result, now=now, decision=decision)
