"""The weekly recommendations DM (``/foryou weekly:true``): once a week, a member's picks go into the outbox.

Every Monday at ``SLOT_HOUR`` UTC is a slot. For each member who turned the DM on before the slot, the
picks (``bot.foryou``, the last 7 days, leaving out papers the member already has any DM row for) are
queued as outbox rows in the same transaction that records the slot as done, so a restart, a second
process or a second run can never queue a week twice; the outbox then sends each row exactly once, ten
papers to a message, within the daily DM limit. A week with fewer than 3 saved papers, nothing close
enough, or semantic search switched off (``SEMANTIC_ENABLED=false``) is recorded as done with nothing sent.
While the model loads (or failed to), or before any saved paper is indexed, the slot stays open and is tried
again on the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot import foryou

if TYPE_CHECKING:
    from bot.db import Database
    from bot.semantic import Semantic

log = logging.getLogger(__name__)

SLOT_WEEKDAY = 0  # Monday
SLOT_HOUR = 8  # UTC
CHECK_SECONDS = 3600.0  # a missed slot (the bot was down, the model loading) is retried this often
MODEL_WAIT_SECONDS = 600.0  # at start-up, how long the first run waits for the model to load
_DONE = {foryou.Status.OK, foryou.Status.TOO_FEW, foryou.Status.NOTHING_CLOSE}


def slot_at(now: float) -> int:
    """The latest slot at or before ``now`` (epoch seconds)."""
    moment = datetime.fromtimestamp(now, UTC)
    start = moment.replace(hour=SLOT_HOUR, minute=0, second=0, microsecond=0) - timedelta(
        days=(moment.weekday() - SLOT_WEEKDAY) % 7
    )
    if start > moment:
        start -= timedelta(days=7)
    return int(start.timestamp())


def next_slot(now: float) -> int:
    return slot_at(now) + 7 * 86_400


@dataclass
class Report:
    members: int = 0  # due members handled
    queued: int = 0  # outbox rows added
    waiting: int = 0  # members left for a later run (no model, nothing indexed)


async def turn(db: Database, user_id: int, *, on: bool, now: float) -> bool:
    """Turn the member's weekly DM on or off; False when it already was."""
    async with db.transaction() as conn:
        return await db.foryou.set_weekly(conn, user_id, on=on, now=int(now))


async def because_title(db: Database, user_id: int, paper_id: str) -> str | None:
    """For ``/why``: the title of the saved paper a weekly pick is close to; None when it was no weekly pick."""
    because = (await db.foryou.because(user_id, [paper_id])).get(paper_id)
    if because is None:
        return None
    saved = await db.papers.get(because)
    return saved.title if saved else f"arXiv:{because}"


async def queue_member(db: Database, semantic: Semantic | None, user_id: int, *, slot: int, now: float) -> int | None:
    """Queue the member's picks for ``slot``; rows added, or None when the slot must be tried again later."""
    exclude = await db.foryou.delivered_pks(user_id)
    result = await foryou.recommend(db, semantic, user_id, period="week", now=now, exclude=exclude)
    switched_off = semantic is None or not semantic.enabled  # SEMANTIC_ENABLED=false: no week will ever have picks
    if result.status not in _DONE and not (result.status is foryou.Status.NO_MODEL and switched_off):
        return None
    async with db.transaction() as conn:
        if not await db.foryou.claim_slot(conn, user_id, slot):
            return 0  # another process or run got there first
        picks = [(pick.paper.id, pick.because.id) for pick in result.picks]
        return await db.foryou.queue_picks(conn, user_id, picks, slot=slot, now=int(now))


async def queue_due(db: Database, semantic: Semantic | None, *, now: float) -> Report:
    """Queue every due member's picks for the latest slot."""
    slot = slot_at(now)
    report = Report()
    for user_id in await db.foryou.due(slot):
        queued = await queue_member(db, semantic, user_id, slot=slot, now=now)
        if queued is None:
            report.waiting += 1
            continue
        report.members += 1
        report.queued += queued
    if report.members or report.waiting:
        log.info(
            "weekly picks: %d paper(s) queued for %d member(s), %d member(s) waiting for the semantic index",
            report.queued,
            report.members,
            report.waiting,
        )
    return report


class WeeklyPicks:
    """Runs ``queue_due`` at each slot (and hourly, for slots missed), then wakes the dispatcher."""

    def __init__(
        self,
        db: Database,
        semantic: Callable[[], Semantic | None],
        *,
        clock: Callable[[], float],
        wake: Callable[[], None],
    ) -> None:
        self.db = db
        self.semantic = semantic
        self.clock = clock
        self.wake = wake
        self._lock = asyncio.Lock()

    async def run_once(self, now: float | None = None) -> Report:
        async with self._lock:
            report = await queue_due(self.db, self.semantic(), now=self.clock() if now is None else now)
        if report.queued:
            self.wake()
        return report

    async def run_forever(self) -> None:
        # At start-up the model is still loading: a first run now would only leave every member waiting an hour.
        semantic = self.semantic()
        if semantic is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(MODEL_WAIT_SECONDS):
                    await semantic.ready()
        while True:
            try:
                await self.run_once()
            except Exception:  # a bad week (a locked disk, odd data) must never stop the next one
                log.exception("queueing weekly picks failed; trying again later")
            now = self.clock()
            await asyncio.sleep(max(1.0, min(CHECK_SECONDS, next_slot(now) - now)))
