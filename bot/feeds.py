"""Channel feed configuration: validation and storage. Delivery itself lives in bot.delivery."""

from __future__ import annotations

from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot import delivery
from bot.db import Database
from bot.db.feeds import Feed, FeedConfig
from bot.errors import UserError
from bot.query import Query, parse_query

MAX_MIN_UPVOTES = 10_000


def check_timezone(name: str) -> str:
    value = name.strip()
    if not value or value.upper() == "UTC":
        return "UTC"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(
            f"`{value[:60]}` is not a time zone I know. Use a name like `Europe/Berlin` or `America/New_York`."
        ) from None
    return value


def timezone_suggestions(typed: str, limit: int = 25) -> list[str]:
    needle = typed.strip().lower()
    names = sorted(name for name in available_timezones() if "/" in name and not name.startswith(("Etc/", "SystemV/")))
    return [name for name in ["UTC", *names] if needle in name.lower()][:limit]


def normalise_config(config: FeedConfig, topic_text: str | None) -> tuple[FeedConfig, Query | None]:
    query = None
    if topic_text is not None and topic_text.strip():
        query = parse_query(topic_text, strict=True)
    if not 0 <= config.min_upvotes <= MAX_MIN_UPVOTES:
        raise UserError(f"Minimum upvotes must be between 0 and {MAX_MIN_UPVOTES:,}.")
    if not 0 <= config.digest_hour <= 23:
        raise UserError("The digest hour must be between 0 and 23.")
    if not config.sources:
        raise UserError("Choose at least one source.")
    topic = query.canonical() if query else None
    return replace(config, topic=topic, timezone=check_timezone(config.timezone)), query


@dataclass
class SavedFeed:
    feed: Feed
    created: bool
    backfilled: int


async def save_feed(db: Database, config: FeedConfig, topic_text: str | None, *, backfill: bool = False) -> SavedFeed:
    """Create or update the channel's feed; what it would match right now is marked handled in the same step."""
    config, query = normalise_config(config, topic_text)
    async with db.transaction() as conn:
        query_id = await db.queries.ensure(conn, query) if query else None
        feed, created = await db.feeds.save(conn, config, query_id)
        queued, _ = await delivery.baseline_feed(db, conn, feed, query, backfill=backfill)
        await db.queries.collect_garbage(conn)
    return SavedFeed(feed=feed, created=created, backfilled=queued)


async def remove_feed(db: Database, channel_id: int) -> Feed:
    async with db.transaction() as conn:
        removed = await db.feeds.remove(conn, channel_id)
        await db.deliveries.close_open(
            conn, kind="channel", target_id=channel_id, status="skipped", reason="feed removed"
        )
        await db.queries.collect_garbage(conn)
    if removed is None:
        raise UserError("There is no feed in that channel. `/feed list` shows this server's feeds.")
    return removed
