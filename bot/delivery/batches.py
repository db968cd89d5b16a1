"""One target's queue, in order: what an earlier attempt left in flight first, then new batches one at a time.

A target never has two messages in flight and nothing newer goes out before an unsettled batch, so papers
arrive in the order they were queued. Instant feeds get one paper per message; digests, at their hour, up
to ten per message under one header; DMs up to ten per message and ``DM_DAILY_CAP`` per member per UTC
day, the message that reaches the cap saying how many more matched (still queued, or held back when queued:
``bot.delivery.outbox`` queues at most a day's worth per member).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from bot.db import Database
from bot.delivery import plan
from bot.delivery.plan import DIGEST_BATCH, DM_BATCH, DM_DAILY_CAP, Target
from bot.delivery.send import Sender
from bot.render.delivery import daily_limit_note, digest_header

log = logging.getLogger(__name__)


class Batcher:
    def __init__(self, db: Database, sender: Sender, *, now: Callable[[], float], stats: Counter[str]) -> None:
        self.db = db
        self.sender = sender
        self.now = now
        self.stats = stats

    async def serve(self, target: Target) -> None:
        """Send what is due for ``target`` until it is done, or must wait (a retry, the DM cap, the next slot)."""
        if target.kind == "channel" and target.feed is None:
            # The feed was removed or disabled after these were queued: nothing more goes there.
            async with self.db.transaction() as conn:
                await self.db.deliveries.close_open(
                    conn, kind="channel", target_id=target.target_id, status="skipped", reason="feed removed or paused"
                )
            return
        if target.kind == "user" and await self.db.users.is_paused(target.target_id):
            return
        # First finish what an earlier round or process started: same batches, same nonces.
        for batch in await plan.in_flight(self.db, target):
            retry_at = batch.rows[0].next_attempt_at
            if retry_at is not None and retry_at > self.now():
                return  # keep order: nothing newer goes out before this batch
            if not await self.sender.send(target, batch):
                return
        if target.is_digest:
            if target.digest_due is None or target.feed is None:
                return
            if await self._send_new(target):
                async with self.db.transaction() as conn:
                    await self.db.feeds.set_last_digest(conn, target.feed.id, int(target.digest_due.timestamp()))
            return
        await self._send_new(target)

    async def _send_new(self, target: Target) -> bool:
        """Claim and send pending rows batch by batch; False when the target must wait (error or retry)."""
        part = 0
        total: int | None = None
        while True:
            pending = await plan.pending(self.db, target, limit=DIGEST_BATCH + 1)
            if not pending:
                return True
            size = 1
            note = ""
            if target.is_digest:
                size = DIGEST_BATCH
                if total is None:
                    total = len(await plan.pending(self.db, target))
            elif target.kind == "user":
                room = await plan.dm_room(self.db, target.target_id, self.now())
                if room <= 0:
                    await self._skip_over_cap(target)
                    return True
                size = min(DM_BATCH, room)
                if size == room and len(pending) >= size:
                    # This message reaches the cap: what is still queued past it, and what the poll held back.
                    waiting = len(await plan.pending(self.db, target))
                    more = waiting - room + await plan.dm_held(self.db, target.target_id, self.now())
                    if more > 0:
                        note = daily_limit_note(DM_DAILY_CAP, more)
            part += 1
            batch = await self.sender.claim([row.id for row in pending[:size]])
            if not batch.rows:
                continue
            if target.kind == "user":
                header: str | None = await self.sender.dm_header(target.target_id, batch, note)
            else:
                header = self._header(target, len(batch.rows), part, total)
            if not await self.sender.send(target, batch, header=header, fresh=True):
                return False
            if note:
                await self._skip_over_cap(target)
                return True

    def _header(self, target: Target, count: int, part: int, total: int | None) -> str | None:
        if target.is_digest:
            return digest_header(total or count, part)
        return None  # an instant post is the paper's card alone

    async def _skip_over_cap(self, target: Target) -> None:
        ids = [row.id for row in await plan.pending(self.db, target)]
        if ids:
            async with self.db.transaction() as conn:
                await self.db.deliveries.skip(conn, ids, "daily DM limit reached")
            log.info("daily DM limit: %d paper(s) for user %s not sent today", len(ids), target.target_id)
            self.stats["capped"] += len(ids)
