"""What is due now: the targets with open rows, the digests whose hour has come, batch sizes and the DM cap.

Everything here takes ``now`` (epoch seconds) from the dispatcher's clock, so a test can move time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.db import Database
from bot.db.deliveries import Delivery, TargetKind
from bot.db.feeds import Feed
from bot.delivery.outbox import DM_DAILY_CAP as DM_DAILY_CAP  # re-exported: the dispatcher side reads it here
from bot.delivery.outbox import day_start as day_start
from bot.render.base import MESSAGE_EMBEDS

DM_BATCH = MESSAGE_EMBEDS
DIGEST_BATCH = MESSAGE_EMBEDS
IDLE_SECONDS = 60.0  # the longest the dispatcher sleeps without being woken
OPEN_ROWS = 200  # a target's open rows read per round
ALL_ROWS = 10_000

# (target kind, server id or None) → whether this process delivers there; see bot/shards.py.
Serves = Callable[[str, int | None], bool]


@dataclass
class Batch:
    """One Discord message's worth of rows; the nonce is the batch's name in the database."""

    nonce: str
    rows: list[Delivery]


@dataclass
class Target:
    kind: TargetKind
    target_id: int
    feed: Feed | None = None
    digest_due: datetime | None = None

    @property
    def is_digest(self) -> bool:
        return self.kind == "channel" and self.feed is not None and self.feed.mode == "digest"


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


async def due_targets(db: Database, now: float, serves: Serves | None = None) -> list[Target]:
    """Every target with open rows (in the order they were queued), and every digest whose slot has come.

    ``serves(kind, guild_id)``: only the targets this process delivers to (its shards'), when several share
    the database.
    """
    feeds = {
        feed.channel_id: feed
        for feed in await db.feeds.all_enabled()
        if serves is None or serves("channel", feed.guild_id)
    }
    moment = datetime.fromtimestamp(now, UTC)
    targets: dict[tuple[str, int], Target] = {}
    for kind, target_id, guild_id in await db.deliveries.open_targets():
        if serves is not None and not serves(kind, guild_id):
            continue
        feed = feeds.get(target_id) if kind == "channel" else None
        targets[(kind, target_id)] = Target(kind, target_id, feed=feed)
    for feed in feeds.values():
        if feed.mode != "digest":
            continue
        slot = digest_slot(feed, moment)
        since = feed.last_digest_at or feed.created_at
        if since is None or slot > since:
            target = targets.setdefault(("channel", feed.channel_id), Target("channel", feed.channel_id, feed))
            target.digest_due = slot
    return list(targets.values())


async def idle_timeout(db: Database, now: float) -> float:
    """How long the dispatcher may sleep: until the next retry or digest slot, at most ``IDLE_SECONDS``."""
    wait = IDLE_SECONDS
    retry_at = await db.deliveries.next_retry_at()
    if retry_at is not None:
        wait = min(wait, retry_at - now)
    moment = datetime.fromtimestamp(now, UTC)
    for feed in await db.feeds.digests():
        upcoming = digest_slot(feed, moment + timedelta(days=1))  # the first slot after now
        wait = min(wait, upcoming.timestamp() - now)
    return max(0.05, wait)


async def in_flight(db: Database, target: Target) -> list[Batch]:
    """Batches an earlier round or process claimed and did not settle, oldest first."""
    batches: dict[str, list[Delivery]] = {}
    for row in await db.deliveries.open_rows(target.kind, target.target_id, limit=OPEN_ROWS):
        if row.status == "sending" and row.batch:
            batches.setdefault(row.batch, []).append(row)
    return [Batch(nonce, rows) for nonce, rows in batches.items()]


async def pending(db: Database, target: Target, limit: int = ALL_ROWS) -> list[Delivery]:
    rows = await db.deliveries.open_rows(target.kind, target.target_id, limit=limit)
    return [row for row in rows if row.status == "pending"]


async def dm_room(db: Database, user_id: int, now: float) -> int:
    """How many more papers the member may get by DM today (their UTC day, by the dispatcher's clock)."""
    return DM_DAILY_CAP - await db.deliveries.sent_since("user", user_id, day_start(now))


async def dm_held(db: Database, user_id: int, now: float) -> int:
    """How many of the member's matches today were past the cap when queued (``bot.delivery.outbox``)."""
    return await db.users.held(user_id, day_start(now))
