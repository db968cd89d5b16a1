"""What a failed send means, and what is done about it.

A channel that refuses us (50001, 50013, 10003, any 403/404) pauses its feed at once with the reason and
is not retried: Discord bans bots that keep making invalid requests. A member whose DMs are closed (50007)
is paused until they next use a command, with their papers waiting. Server errors, 429s, timeouts and
connection resets are retried with exponential backoff and jitter a bounded number of times, then marked
failed (visible in /status). Any other 4xx is a request Discord will never accept: failed at once.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from enum import StrEnum

import aiohttp
import discord

from bot.db import Database
from bot.db.deliveries import TargetKind
from bot.delivery.plan import Batch, Target

log = logging.getLogger(__name__)

# Discord error codes that mean "this channel is not ours to post in any more".
CHANNEL_GONE = {
    50001: "I lost access to this channel (Missing Access)",
    50013: "I'm missing permissions to post here (Missing Permissions)",
    10003: "the channel no longer exists (Unknown Channel)",
}
DMS_CLOSED = 50007
UNKNOWN_CHANNEL = 10003
# Failures below HTTP: the request may or may not have reached Discord (the nonce covers both).
NETWORK_ERRORS: tuple[type[Exception], ...] = (aiohttp.ClientError, OSError, TimeoutError)


class Fault(StrEnum):
    CHANNEL_GONE = "channel gone"  # pause the feed, fail what it has queued
    DM_CHANNEL_UNKNOWN = "DM channel unknown"  # forget the cached DM channel, try again
    DMS_CLOSED = "DMs closed"  # pause the member, put the batch back
    TRANSIENT = "transient"  # back off and retry, up to the limit
    PERMANENT = "permanent"  # fail the batch, go on with the next


def classify(kind: TargetKind, status: int, code: int | None) -> Fault:
    """The fault an HTTP error from Discord means for a target of ``kind``."""
    if kind == "channel" and (code in CHANNEL_GONE or status in (403, 404)):
        return Fault.CHANNEL_GONE
    if kind == "user" and code == UNKNOWN_CHANNEL:
        return Fault.DM_CHANNEL_UNKNOWN
    if kind == "user" and (code == DMS_CLOSED or status == 403):
        return Fault.DMS_CLOSED
    if status >= 500 or status == 429:
        return Fault.TRANSIENT
    return Fault.PERMANENT


def backoff(retry_base: float, attempts: int, rng: random.Random) -> float:
    """Seconds before the next try: ``retry_base`` × 2^(attempts-1), times a jitter of 0.5-1.5."""
    return retry_base * (2.0 ** (attempts - 1)) * rng.uniform(0.5, 1.5)


class FaultHandler:
    """Records a failed send in the outbox; each method says whether the target may go on (True) or waits."""

    def __init__(
        self,
        db: Database,
        *,
        max_attempts: int,
        retry_base: float,
        now: Callable[[], float],
        stats: Counter[str],
    ) -> None:
        self.db = db
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.now = now
        self.stats = stats
        self.random = random.Random()

    async def handle(self, target: Target, batch: Batch, error: Exception) -> bool:
        if isinstance(error, discord.HTTPException):
            return await self.http_error(target, batch, error)
        return await self.transient(target, batch, f"{type(error).__name__}: {error}", None)

    async def http_error(self, target: Target, batch: Batch, error: discord.HTTPException) -> bool:
        code, status = error.code, error.status
        fault = classify(target.kind, status, code)
        if fault is Fault.CHANNEL_GONE:
            reason = CHANNEL_GONE.get(code, f"Discord refused posts here ({status}, code {code})")
            async with self.db.transaction() as conn:
                feed = await self.db.feeds.disable(conn, target.target_id, reason)
                await self.db.deliveries.close_open(
                    conn, kind="channel", target_id=target.target_id, status="failed", reason=reason, code=code
                )
            self.stats["feeds_disabled"] += 1
            log.warning(
                "feed in channel %s (guild %s) paused: %s (HTTP %s, code %s)",
                target.target_id,
                feed.guild_id if feed else "?",
                reason,
                status,
                code,
            )
            return False
        if fault is Fault.DM_CHANNEL_UNKNOWN:
            async with self.db.transaction() as conn:
                await self.db.users.set_dm_channel(conn, target.target_id, None)
            return await self.transient(target, batch, "DM channel unknown; opening a new one", code)
        if fault is Fault.DMS_CLOSED:
            async with self.db.transaction() as conn:
                await self.db.users.pause_dms(conn, target.target_id, code)
                await self.db.deliveries.unclaim(conn, batch.nonce)
            self.stats["dms_paused"] += 1
            log.warning(
                "DMs to user %s paused: Discord refused the message (HTTP %s, code %s); "
                "they are told the next time they use a command",
                target.target_id,
                status,
                code,
            )
            return False
        if fault is Fault.TRANSIENT:
            return await self.transient(target, batch, f"HTTP {status}: {error.text or 'server error'}", code)
        # Retrying would only add invalid requests (50035 invalid form body, ...): record it, go on.
        async with self.db.transaction() as conn:
            await self.db.deliveries.fail(conn, batch.nonce, f"HTTP {status}: {error.text}", code)
        self.stats["failed"] += len(batch.rows)
        log.warning(
            "delivery of %s to %s %s failed permanently: HTTP %s, code %s: %s",
            ", ".join(row.paper_id for row in batch.rows),
            target.kind,
            target.target_id,
            status,
            code,
            error.text,
        )
        return True

    async def transient(self, target: Target, batch: Batch, message: str, code: int | None) -> bool:
        """Back off and retry the same batch, or mark it failed once the attempts are used up."""
        rows = await self.db.deliveries.batch_rows(batch.nonce)
        attempts = max((row.attempts for row in rows), default=self.max_attempts)
        if attempts >= self.max_attempts:
            async with self.db.transaction() as conn:
                await self.db.deliveries.fail(conn, batch.nonce, f"gave up after {attempts} attempts: {message}", code)
            self.stats["failed"] += len(rows)
            log.warning(
                "delivery to %s %s failed after %d attempts: %s (code %s)",
                target.kind,
                target.target_id,
                attempts,
                message,
                code,
            )
            return True
        delay = backoff(self.retry_base, attempts, self.random)
        async with self.db.transaction() as conn:
            await self.db.deliveries.retry_later(conn, batch.nonce, self.now() + delay, message, code)
        self.stats["retries"] += 1
        log.warning(
            "delivery to %s %s hit %s (code %s); attempt %d of %d, retrying in %.1f s",
            target.kind,
            target.target_id,
            message,
            code,
            attempts,
            self.max_attempts,
            delay,
        )
        return False
