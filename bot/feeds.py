"""Channel feed configuration: validation and storage. Delivery itself lives in bot.delivery."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot import delivery
from bot.db import Database
from bot.db.feeds import Feed, FeedConfig, FeedMode
from bot.errors import UserError
from bot.models import Source
from bot.query import Query, parse_query

MAX_MIN_UPVOTES = 10_000
# `/feed add topic:*` goes back to every paper (leaving the option out keeps the current topic).
ALL_PAPERS = "*"
ONLY_FOR_DIGESTS = (
    "The digest hour and time zone are only for a daily digest, and this feed posts each paper as it appears. "
    "Add `mode: A daily digest` to switch it to a digest, or leave those options out."
)
# The settings /feed add can change, in the order a reply lists changes.
SETTINGS = ("topic", "min_upvotes", "sources", "mode", "digest_hour", "timezone", "threads")


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


@dataclass(frozen=True)
class FeedOptions:
    """The options an admin gave to /feed add; None means "not given": keep the feed's value (or the default)."""

    topic: str | None = None
    min_upvotes: int | None = None
    sources: Source | None = None
    mode: FeedMode | None = None
    digest_hour: int | None = None
    timezone: str | None = None
    threads: bool | None = None


def merge(
    existing: FeedConfig | None, options: FeedOptions, *, guild_id: int, channel_id: int
) -> tuple[FeedConfig, str | None]:
    """The feed's settings after /feed add: the existing feed (or the defaults) with only the given options changed.

    Returns the config and the topic text to parse. Options that cannot apply are refused, not ignored.
    """
    base = existing or FeedConfig(guild_id=guild_id, channel_id=channel_id)
    changes = {name: getattr(options, name) for name in SETTINGS if getattr(options, name) is not None}
    config = replace(base, guild_id=guild_id, channel_id=channel_id, **changes)
    if config.mode != "digest" and (options.digest_hour is not None or options.timezone is not None):
        raise UserError(ONLY_FOR_DIGESTS)
    topic = config.topic
    if topic is not None and topic.strip() == ALL_PAPERS:
        topic = None
    return replace(config, topic=None), topic


@dataclass
class SavedFeed:
    feed: Feed
    created: bool
    backfilled: int
    resumed: bool = False  # it was paused, and this /feed add turned it back on
    changes: list[tuple[str, object, object]] = field(default_factory=list)  # (setting, old, new)


async def save_feed(
    db: Database,
    config: FeedConfig,
    topic_text: str | None,
    *,
    backfill: bool = False,
    previous: Feed | None = None,
) -> SavedFeed:
    """Create or update the channel's feed; what it would match right now is marked handled in the same step.

    ``previous`` (the feed before this change) lets the answer say what changed and whether it resumed.
    """
    config, query = normalise_config(config, topic_text)
    async with db.transaction() as conn:
        query_id = await db.queries.ensure(conn, query) if query else None
        feed, created = await db.feeds.save(conn, config, query_id)
        queued, _ = await delivery.baseline_feed(db, conn, feed, query, backfill=backfill)
        await db.queries.collect_garbage(conn)
    saved = SavedFeed(feed=feed, created=created, backfilled=queued)
    if previous is not None:
        saved.resumed = not previous.enabled
        saved.changes = [
            (name, getattr(previous, name), getattr(feed, name))
            for name in SETTINGS
            if getattr(previous, name) != getattr(feed, name)
        ]
    return saved


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
