"""Per-user topic subscriptions: the same query language as search, so what /search finds a topic matches."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot import delivery
from bot.db import Database
from bot.db.topics import Topic
from bot.errors import UserError
from bot.query import Query, QueryError, parse_query
from bot.relaxed import content_words, frequencies, keyword_form, uses_operators
from bot.search import count_matches

MAX_TOPICS = 25
PREVIEW_DAYS = 30
CHOICE_VALUE_MAX = 100


@dataclass
class Subscribed:
    topic: Topic
    query: Query
    recent_matches: int
    suggestion: str | None = None  # the keyword form of a question that matched nothing lately


async def subscribe(db: Database, user_id: int, text: str, *, now: datetime | None = None) -> Subscribed:
    query = parse_query(text, strict=True)
    canonical = query.canonical()
    async with db.transaction() as conn:
        if await db.topics.count_for_user(conn, user_id) >= MAX_TOPICS:
            raise UserError(
                f"You already follow {MAX_TOPICS} topics, the most allowed. "
                "Remove one with /unsubscribe, or combine several with OR (for example `robot OR drone`)."
            )
        query_id = await db.queries.ensure(conn, query)
        topic = await db.topics.add(conn, user_id, canonical, query_id)
        if topic is not None:
            # Start from papers that appear from now on: what already matches is not sent by DM.
            await delivery.baseline_topic(db, conn, user_id, topic.id, query)
        else:
            await db.queries.collect_garbage(conn)
    if topic is None:
        raise UserError(f"You already follow **{canonical}**.")
    since = (now or datetime.now(UTC)) - timedelta(days=PREVIEW_DAYS)
    recent = await count_matches(db, query, since=since)
    return Subscribed(
        topic=topic, query=query, recent_matches=recent, suggestion=None if recent else await _suggest(db, query)
    )


async def _suggest(db: Database, query: Query) -> str | None:
    """Topics keep exact keyword meaning; a question that finds nothing gets its rarest words with OR instead."""
    if uses_operators(query) or len(content_words(query)) < 2:
        return None
    suggestion = keyword_form(query, await frequencies(db, query))
    return suggestion if suggestion and suggestion != query.canonical() else None


def choice_value(topic: Topic) -> str:
    """What autocomplete sends back: the topic itself, or ``#id`` when it is longer than Discord allows."""
    return topic.query if len(topic.query) <= CHOICE_VALUE_MAX else f"#{topic.id}"


async def unsubscribe(db: Database, user_id: int, text: str) -> Topic:
    by_id = re.fullmatch(r"#(\d{1,18})", text.strip())
    async with db.transaction() as conn:
        if by_id:
            removed = await db.topics.remove_by_id(conn, user_id, int(by_id.group(1)))
        else:
            try:
                canonical = parse_query(text).canonical()
            except QueryError:
                canonical = text.strip()
            removed = await db.topics.remove(conn, user_id, canonical)
        if removed is not None:
            await db.queries.collect_garbage(conn)
            if await db.topics.count_for_user(conn, user_id) == 0:
                await db.deliveries.close_open(
                    conn, kind="user", target_id=user_id, status="skipped", reason="no topics left"
                )
    if removed is None:
        topics = await db.topics.for_user(user_id)
        listing = ", ".join(f"`{topic.query}`" for topic in topics[:10]) or "none yet"
        raise UserError(f"You don't follow a topic matching `{text.strip()[:100]}`. Your topics: {listing}.")
    return removed


async def suggest(db: Database, user_id: int, typed: str, limit: int = 25) -> list[Topic]:
    """The user's own topics for autocomplete, those containing what they typed first."""
    needle = typed.strip().lower()
    topics = await db.topics.for_user(user_id)
    matching = [topic for topic in topics if needle in topic.query.lower()]
    return matching[:limit]
