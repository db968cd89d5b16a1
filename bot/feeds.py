"""Channel feed configuration: validation and storage. Delivery itself lives in bot.delivery."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.db import Database
from bot.db.feeds import Feed, FeedConfig
from bot.errors import UserError
from bot.search import QueryError, parse_query

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


def normalise_config(config: FeedConfig, topic_text: str | None) -> FeedConfig:
    topic = None
    if topic_text is not None and topic_text.strip():
        try:
            topic = parse_query(topic_text, strict=True).canonical()
        except QueryError as error:
            raise UserError(f"That topic filter can't be used: {error}") from None
    if not 0 <= config.min_upvotes <= MAX_MIN_UPVOTES:
        raise UserError(f"Minimum upvotes must be between 0 and {MAX_MIN_UPVOTES:,}.")
    if not 0 <= config.digest_hour <= 23:
        raise UserError("The digest hour must be between 0 and 23.")
    if not config.sources:
        raise UserError("Choose at least one source.")
    return replace(config, topic=topic, timezone=check_timezone(config.timezone))


async def save_feed(db: Database, config: FeedConfig, topic_text: str | None) -> tuple[Feed, bool]:
    config = normalise_config(config, topic_text)
    async with db.transaction() as conn:
        return await db.feeds.save(conn, config)


async def remove_feed(db: Database, channel_id: int) -> Feed:
    async with db.transaction() as conn:
        removed = await db.feeds.remove(conn, channel_id)
    if removed is None:
        raise UserError("There is no feed in that channel. `/feed list` shows this server's feeds.")
    return removed
