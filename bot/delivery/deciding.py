"""Deciding stored papers' deliveries outside the storing transaction: match on a snapshot, write in short steps.

At 100k topics one poll's matching and DM rows took ~10 s, all of it holding SQLite's write lock, so every
command and dispatcher write waited that long (docs/scaling.md). Now the storing transaction only records which
papers are owed a decision (``bot.delivery.outbox.owe``), and a decision here:

1. reads its papers, matches them and plans every member's DM rows on a read snapshot of a connection of its own
   (``Database.session``; only temporary tables are written, so writers go on meanwhile);
2. writes the feed rows and the first range of members' DM rows in one short transaction, then each further
   range of members in its own (``RANGE_ROWS`` rows each), each moving the decision's ``written_below`` mark;
3. deletes the decision in the transaction of the last range.

A crash between ranges leaves the decision and its mark: the next run plans again on a fresh snapshot and writes
only the members at or above the mark. Rows are UNIQUE (target, paper) and inserted OR IGNORE, and held counts are
added only in their range's transaction, which also moves the mark (compare-and-set, so a second process deciding
the same decision stops at its first range): nothing is queued or counted twice, and nothing owed is forgotten.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field

from bot.db import Database, dm_slots
from bot.db.decisions import Decision
from bot.delivery.outbox import DM_DAILY_CAP, EnqueueReport, day_start
from bot.matching import match

log = logging.getLogger(__name__)

RANGE_ROWS = 20_000  # DM rows per write transaction: ~70 ms of write lock at 1M papers (docs/benchmarks.md)


@dataclass
class _Turn:
    """This process's deciding: one at a time, and a store that finds it busy asks it to look again."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    again: bool = False


_turns: weakref.WeakKeyDictionary[Database, _Turn] = weakref.WeakKeyDictionary()


class _TakenError(Exception):
    """Another process moved the decision's mark: it is writing this decision, so this run stops."""


async def decide(
    db: Database, *, wait: bool = True, only: int | None = None, range_rows: int = RANGE_ROWS
) -> EnqueueReport:
    """Decide every owed decision, oldest first; what they queued.

    A command that stored a paper passes ``only`` (its decision) and ``wait=False``: it decides its own decision
    and any recorded after it, never an older one left owed (a poll's, possibly large: the next poll takes it);
    and if this process is already deciding, it leaves its decision to that run, which looks again before it
    ends, and returns at once with an empty report.
    A decision that fails is logged and stays owed (the next poll tries it again); the later ones are still
    decided, so one bad decision never stops every delivery after it.
    """
    turn = _turns.setdefault(db, _Turn())
    if not wait and turn.lock.locked():
        turn.again = True
        return EnqueueReport()
    report = EnqueueReport()
    async with turn.lock:
        last = 0 if only is None else only - 1
        while True:
            turn.again = False
            decision = await db.decisions.next_after(last)
            if decision is None:
                if turn.again:
                    continue
                break
            last = decision.id
            try:
                report.add(await _decide(db, decision, range_rows))
            except _TakenError:  # that process goes on to the later decisions too: no need to race it for them
                log.info("deliveries of stored papers (decision %d) are being decided by another process", decision.id)
                break
            except Exception:
                log.exception("deciding deliveries of stored papers (decision %d) failed; kept for the next poll", last)
    return report


async def _decide(db: Database, decision: Decision, range_rows: int) -> EnqueueReport:
    report = EnqueueReport(decisions=1)
    day = day_start(decision.now)
    async with db.session() as session:  # its temporary tables (the batch, the plan) close with it
        async with session.snapshot() as conn:
            pks, new_pks = await db.decisions.papers(conn, decision.id)
            report.papers = len(pks)
            await db.queries.prepare_batch(conn, pks)
            report.matching = stats = await match(conn, db.queries)
            await dm_slots.plan(conn, cap=DM_DAILY_CAP, day=day, new_pks=new_pks)
            low = dm_slots.FIRST_USER if decision.written_below is None else decision.written_below
            bounds = await dm_slots.ranges(conn, start=low, rows=range_rows)
        mark = decision.written_below
        for index, high in enumerate(bounds):
            last = index == len(bounds) - 1
            async with session.transaction() as conn:
                if mark is None:  # the first transaction: the feed rows (a few) go with the first members
                    report.channel_rows = await db.deliveries.enqueue_feeds(conn, decision.now)
                rows = await dm_slots.write(conn, decision.now, day=day, low=low, high=high)
                if not await db.decisions.advance(conn, decision.id, expected=mark, to=None if last else high):
                    raise _TakenError  # rolls this transaction back: the other process writes these rows
            report.user_rows += rows.rows
            report.user_held += rows.held
            mark = low = high
    if report.channel_rows or report.user_rows:
        log.info(
            "queued %d channel post(s) and %d DM paper(s) (%d held back by the daily DM cap) from %d recent "
            "paper(s) (%d topic queries evaluated)",
            report.channel_rows,
            report.user_rows,
            report.user_held,
            report.papers,
            stats.candidates,
        )
    return report
