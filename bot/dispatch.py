"""Sending the outbox to Discord: in order, paced below the global rate limit, and exactly once.

Exactly once across crashes. A batch (one Discord message) is claimed in its own transaction before the
request goes out: its rows become ``sending`` with the batch's nonce and the attempt is counted. Only after
Discord answers are the rows marked ``sent`` with the message id. If the process dies in between (even
SIGKILL after Discord created the message), the next start finds the rows still ``sending`` and:
- within ``NONCE_TRUST_SECONDS`` of the first attempt, sends the same batch again with the same nonce and
  ``enforce_nonce``: Discord returns the message it already created instead of posting a second one;
- later than that (Discord only remembers nonces for a few minutes), it first reads the channel's recent
  messages for one of ours carrying the batch's first paper, and marks the batch sent if it is there.
Rows never leave ``sending`` except to ``sent``, ``failed`` or (nothing delivered: DMs closed) ``pending``,
so a delivery is neither duplicated nor dropped.

Faults: a channel that refuses us (50001, 50013, 10003) disables its feed at once with the reason and is
not retried (Discord bans bots that keep making invalid requests); a user whose DMs are closed (50007) is
paused until they next use a command; 5xx, timeouts and connection resets are retried with exponential
backoff and jitter, a bounded number of times, then marked failed (visible in /status).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
import discord

from bot import delivery, render
from bot.db import Database
from bot.db.deliveries import Delivery, TargetKind
from bot.db.feeds import Feed
from bot.models import Paper

log = logging.getLogger(__name__)

NONCE_TRUST_SECONDS = 120  # Discord keeps nonces "a few minutes"; trust well under that
SEND_TIMEOUT = 30.0
WORKERS = 8  # targets served at once; each target gets one message at a time, in order
DM_BATCH = render.MESSAGE_EMBEDS
DIGEST_BATCH = render.MESSAGE_EMBEDS
DM_DAILY_CAP = 50
IDLE_SECONDS = 60.0
PRUNE_EVERY = 6 * 3600
THREAD_ARCHIVE_MINUTES = 1440
HISTORY_LIMIT = 50

# Discord error codes that mean "this channel is not ours to post in any more".
CHANNEL_GONE = {
    50001: "I lost access to this channel (Missing Access)",
    50013: "I'm missing permissions to post here (Missing Permissions)",
    10003: "the channel no longer exists (Unknown Channel)",
}
DMS_CLOSED = 50007
UNKNOWN_CHANNEL = 10003


class Pacer:
    """Spaces requests evenly at ``rate`` per second (discord.py has no proactive global limiter)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._lock:
            now = loop.time()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


def digest_slot(feed: Feed, now: datetime) -> datetime:
    """The most recent scheduled digest time at or before ``now`` (the feed's hour in its time zone)."""
    try:
        zone = ZoneInfo(feed.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    slot = datetime.combine(local.date(), dtime(feed.digest_hour), tzinfo=zone)
    if slot > local:
        slot = datetime.combine(local.date() - timedelta(days=1), dtime(feed.digest_hour), tzinfo=zone)
    return slot.astimezone(UTC)


@dataclass
class Batch:
    nonce: str
    rows: list[Delivery]


@dataclass
class Target:
    kind: TargetKind
    target_id: int
    feed: Feed | None = None
    digest_due: datetime | None = None


class Dispatcher:
    def __init__(
        self,
        client: discord.Client,
        db: Database,
        *,
        rate: float = 45.0,
        max_attempts: int = 5,
        retry_base: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.db = db
        self.pacer = Pacer(rate)
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.clock = clock
        self.nonce_trust_seconds = NONCE_TRUST_SECONDS
        self.stats: Counter[str] = Counter()
        self._wake = asyncio.Event()
        self._round = asyncio.Lock()  # one round at a time: a batch is only ever in one sender's hands
        self._last_prune = 0.0
        self._stopping = False
        self._random = random.Random()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run_forever(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.run_once()
                await self._maybe_prune()
            except Exception:
                # One bad round (a bug on odd data, a locked disk) must never stop deliveries for good.
                log.exception("delivery round failed; trying again shortly")
                self.stats["round_errors"] += 1
            timeout = await self._idle_timeout()
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation (a hang on shutdown).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    async def run_once(self) -> None:
        """Send everything that is due now; returns when every target is done or waiting."""
        async with self._round:
            await self._run_once()

    async def _run_once(self) -> None:
        targets = await self._targets()
        if not targets:
            return
        gate = asyncio.Semaphore(WORKERS)

        async def serve(target: Target) -> None:
            async with gate:
                try:
                    await self._serve(target)
                except Exception:
                    log.exception("delivering to %s %s failed; it is retried next round", target.kind, target.target_id)
                    self.stats["target_errors"] += 1

        await asyncio.gather(*(serve(target) for target in targets))

    # --- planning ---------------------------------------------------------------------------------

    def _now(self) -> float:
        return self.clock()

    async def _targets(self) -> list[Target]:
        feeds = {feed.channel_id: feed for feed in await self.db.feeds.all_enabled()}
        now = datetime.fromtimestamp(self._now(), UTC)
        targets: dict[tuple[str, int], Target] = {}
        for kind, target_id in await self.db.deliveries.open_targets():
            feed = feeds.get(target_id) if kind == "channel" else None
            targets[(kind, target_id)] = Target(kind, target_id, feed=feed)
        for feed in feeds.values():
            if feed.mode != "digest":
                continue
            slot = digest_slot(feed, now)
            since = feed.last_digest_at or feed.created_at
            if since is None or slot > since:
                target = targets.setdefault(("channel", feed.channel_id), Target("channel", feed.channel_id, feed))
                target.digest_due = slot
        return list(targets.values())

    async def _idle_timeout(self) -> float:
        wait = IDLE_SECONDS
        retry_at = await self.db.deliveries.next_retry_at()
        if retry_at is not None:
            wait = min(wait, retry_at - self._now())
        now = datetime.fromtimestamp(self._now(), UTC)
        for feed in await self.db.feeds.digests():
            upcoming = digest_slot(feed, now + timedelta(days=1))  # the first slot after now
            wait = min(wait, upcoming.timestamp() - self._now())
        return max(0.05, wait)

    # --- one target -------------------------------------------------------------------------------

    async def _serve(self, target: Target) -> None:
        rows = await self.db.deliveries.open_rows(target.kind, target.target_id, limit=200)
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
        in_flight: dict[str, list[Delivery]] = {}
        for row in rows:
            if row.status == "sending" and row.batch:
                in_flight.setdefault(row.batch, []).append(row)
        for nonce, batch_rows in in_flight.items():
            retry_at = batch_rows[0].next_attempt_at
            if retry_at is not None and retry_at > self._now():
                return  # keep order: nothing newer goes out before this batch
            if not await self._attempt(target, Batch(nonce, batch_rows)):
                return
        if target.kind == "channel" and target.feed is not None and target.feed.mode == "digest":
            if target.digest_due is None:
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
            pending = [
                row
                for row in await self.db.deliveries.open_rows(target.kind, target.target_id, limit=DIGEST_BATCH + 1)
                if row.status == "pending"
            ]
            if not pending:
                return True
            size = 1
            note = ""
            if target.kind == "channel" and target.feed is not None and target.feed.mode == "digest":
                size = DIGEST_BATCH
                if total is None:
                    total = await self._pending_count(target)
            elif target.kind == "user":
                today = datetime.fromtimestamp(self._now(), UTC)
                day_start = int(today.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
                room = DM_DAILY_CAP - await self.db.deliveries.sent_since("user", target.target_id, day_start)
                if room <= 0:
                    await self._skip_over_cap(target)
                    return True
                size = min(DM_BATCH, room)
                if size == room:
                    waiting = await self._pending_count(target)
                    if waiting > room:
                        note = (
                            f"That makes {DM_DAILY_CAP} papers today, your daily limit: {waiting - room} more "
                            f"match{'es' if waiting - room != 1 else ''} today won't be sent. Drop a topic with "
                            "/unsubscribe to get fewer, or find them with /search."
                        )
            chosen = pending[:size]
            part += 1
            nonce = f"pb{chosen[0].id}"
            async with self.db.transaction() as conn:
                await self.db.deliveries.claim(conn, [row.id for row in chosen], nonce, int(self._now()))
            claimed = await self.db.deliveries.batch_rows(nonce)
            if not claimed:
                continue
            header = self._header(target, len(claimed), part, total, note)
            if not await self._attempt(target, Batch(nonce, claimed), header=header, fresh=True):
                return False
            if note:
                await self._skip_over_cap(target)
                return True

    async def _pending_count(self, target: Target) -> int:
        rows = await self.db.deliveries.open_rows(target.kind, target.target_id, limit=10_000)
        return sum(row.status == "pending" for row in rows)

    async def _skip_over_cap(self, target: Target) -> None:
        rows = await self.db.deliveries.open_rows(target.kind, target.target_id, limit=10_000)
        ids = [row.id for row in rows if row.status == "pending"]
        if ids:
            async with self.db.transaction() as conn:
                await self.db.deliveries.skip(conn, ids, "daily DM limit reached")
            log.info("daily DM limit: %d paper(s) for user %s not sent today", len(ids), target.target_id)
            self.stats["capped"] += len(ids)

    def _header(self, target: Target, count: int, part: int, total: int | None, note: str) -> str | None:
        if target.kind == "channel":
            if target.feed is None or target.feed.mode != "digest":
                return None
            papers = total or count
            heading = f"📰 **Daily digest**: {papers:,} new paper{'s' if papers != 1 else ''}"
            return heading if part == 1 else f"📰 **Daily digest** (continued, part {part})"
        heading = f"📬 {count} new paper{'s' if count != 1 else ''} on your topics"
        if note:
            heading += f"\n-# {note}"
        return render.fit(heading, render.CONTENT_MAX)

    # --- one message ------------------------------------------------------------------------------

    async def _attempt(self, target: Target, batch: Batch, *, header: str | None = None, fresh: bool = False) -> bool:
        """Send one batch (or confirm an earlier attempt reached Discord); False if the target must wait."""
        papers = await self.db.papers.get_many([row.paper_id for row in batch.rows])
        ordered = [papers[row.paper_id] for row in batch.rows if row.paper_id in papers]
        if not ordered:
            async with self.db.transaction() as conn:
                await self.db.deliveries.fail(conn, batch.nonce, "paper missing from the archive", None)
            return True
        first = batch.rows[0]
        if header is None and target.kind == "user":
            header = self._header(target, len(ordered), 1, None, "")
        if header is None and target.feed is not None and target.feed.mode == "digest":
            header = "📰 **Daily digest**"
        try:
            messageable = await self._messageable(target)
            claimed_at = first.claimed_at
            # An earlier attempt may have reached Discord. Past its nonce memory, look before resending.
            stale = claimed_at is not None and self._now() - claimed_at > self.nonce_trust_seconds
            if not fresh and first.attempts > 0 and stale:
                found = await self._find_sent(messageable, ordered[0])
                if found is not None:
                    await self._mark_sent(target, batch, found, ordered, recovered=True)
                    return True
            if not fresh:
                async with self.db.transaction() as conn:
                    await self.db.deliveries.start_attempt(conn, batch.nonce)
            embeds = [render.paper_card(ordered[0])] if header is None else render.paper_embeds(ordered)
            await self.pacer.wait()
            async with asyncio.timeout(SEND_TIMEOUT):
                message = await messageable.send(content=header, embeds=embeds, nonce=batch.nonce)
        except discord.HTTPException as error:
            return await self._http_error(target, batch, error)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            return await self._transient(target, batch, f"{type(error).__name__}: {error}", None)
        await self._mark_sent(target, batch, message, ordered)
        if target.feed is not None and target.feed.threads and target.feed.mode == "instant":
            await self._start_thread(target, message, ordered[0])
        return True

    async def _messageable(self, target: Target) -> discord.PartialMessageable:
        if target.kind == "channel":
            guild_id = target.feed.guild_id if target.feed else None
            return self.client.get_partial_messageable(
                target.target_id, guild_id=guild_id, type=discord.ChannelType.text
            )
        channel_id = await self.db.users.dm_channel(target.target_id)
        if channel_id is None:
            await self.pacer.wait()
            async with asyncio.timeout(SEND_TIMEOUT):
                channel = await self.client.create_dm(discord.Object(target.target_id))
            channel_id = channel.id
            async with self.db.transaction() as conn:
                await self.db.users.set_dm_channel(conn, target.target_id, channel_id)
        return self.client.get_partial_messageable(channel_id, type=discord.ChannelType.private)

    async def _find_sent(self, messageable: discord.PartialMessageable, paper: Paper) -> discord.Message | None:
        me = self.client.user
        await self.pacer.wait()
        async for message in messageable.history(limit=HISTORY_LIMIT):
            if me is not None and message.author.id != me.id:
                continue
            if any(embed.url == paper.canonical_url for embed in message.embeds[:1]):
                return message
        return None

    async def _mark_sent(
        self,
        target: Target,
        batch: Batch,
        message: discord.Message,
        papers: Sequence[Paper],
        *,
        recovered: bool = False,
    ) -> None:
        async with self.db.transaction() as conn:
            await self.db.deliveries.mark_sent(conn, batch.nonce, message.id, int(self._now()))
        self.stats["messages"] += 1
        self.stats["papers"] += len(papers)
        where = f"channel {target.target_id}" if target.kind == "channel" else f"user {target.target_id} by DM"
        log.info(
            "delivered %s to %s (message %s%s)",
            ", ".join(paper.id for paper in papers),
            where,
            message.id,
            ", found after a restart" if recovered else "",
        )

    async def _start_thread(self, target: Target, message: discord.Message, paper: Paper) -> None:
        try:
            await self.pacer.wait()
            await self.client.http.start_thread_with_message(
                target.target_id,
                message.id,
                name=render.thread_name(paper),
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        except discord.HTTPException as error:
            # The post itself is delivered; a missing thread is worth a warning, not a retry loop.
            log.warning(
                "could not start a thread on message %s in channel %s: %s (code %s)",
                message.id,
                target.target_id,
                error.text or error.status,
                error.code,
            )
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            log.warning("could not start a thread on message %s: %s", message.id, error)

    # --- failures ---------------------------------------------------------------------------------

    async def _http_error(self, target: Target, batch: Batch, error: discord.HTTPException) -> bool:
        code, status = error.code, error.status
        if target.kind == "channel" and (code in CHANNEL_GONE or status in (403, 404)):
            reason = CHANNEL_GONE.get(code, f"Discord refused posts here ({status}, code {code})")
            async with self.db.transaction() as conn:
                feed = await self.db.feeds.disable(conn, target.target_id, reason)
                await self.db.deliveries.close_open(
                    conn, kind="channel", target_id=target.target_id, status="failed", reason=reason
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
        if target.kind == "user" and code == UNKNOWN_CHANNEL:
            async with self.db.transaction() as conn:
                await self.db.users.set_dm_channel(conn, target.target_id, None)
            return await self._transient(target, batch, "DM channel unknown; opening a new one", code)
        if target.kind == "user" and (code == DMS_CLOSED or status == 403):
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
        if status >= 500 or status == 429:
            return await self._transient(target, batch, f"HTTP {status}: {error.text or 'server error'}", code)
        # Anything else is a request Discord will never accept (50035 invalid form body, ...): retrying
        # would only add invalid requests. Record it and move on to the target's next paper.
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

    async def _transient(self, target: Target, batch: Batch, message: str, code: int | None) -> bool:
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
        delay = self.retry_base * (2 ** (attempts - 1)) * self._random.uniform(0.5, 1.5)
        async with self.db.transaction() as conn:
            await self.db.deliveries.retry_later(conn, batch.nonce, self._now() + delay, message, code)
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

    async def _maybe_prune(self) -> None:
        if self._now() - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = self._now()
        removed = await delivery.prune(self.db, now=int(self._now()))
        if removed:
            log.info("pruned %d settled deliveries past the retention period", removed)
