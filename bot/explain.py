"""Why a paper was or wasn't delivered: every rule that decided its fate for a feed or a member, as data.

Nothing here decides anything anew. The rules are the outbox's own (``bot.delivery.outbox`` and the SQL
of ``bot.db.deliveries``): the same eligibility windows, the same FTS5 expressions ``bot.query`` builds for
``/search`` and topic matching, and the outbox row, which is the single source of truth for what happened.
Text for people is built in ``bot.render.why``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.db import Database
from bot.db.deliveries import Record
from bot.db.feeds import Feed
from bot.delivery.outbox import DAY, ELIGIBLE_DAYS, ELIGIBLE_MAX_DAYS
from bot.delivery.plan import DM_DAILY_CAP, day_start
from bot.errors import UserError
from bot.models import Paper
from bot.query import QueryError, parse_query


def _at(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


@dataclass(frozen=True)
class TermCheck:
    text: str
    found: bool


@dataclass(frozen=True)
class TopicCheck:
    """One query against one paper: the verdict, and which of its words the paper has."""

    query: str
    matches: bool
    terms: list[TermCheck]
    excluded: list[TermCheck]  # found: the paper has this excluded word, which rules it out


@dataclass(frozen=True)
class PaperFacts:
    paper: Paper
    counted_at: datetime  # when it counts as listed (the outbox's PAPER_TIME)
    first_seen_at: datetime
    rise_until: datetime  # until then, an upvote rise reported by a poll still makes it eligible
    arrived_too_old: bool  # first seen more than ELIGIBLE_MAX_DAYS after it was listed: never delivered

    @property
    def rise_still_counts(self) -> bool:
        return self.rise_until.timestamp() > time.time()


@dataclass(frozen=True)
class FeedExplanation:
    feed: Feed
    facts: PaperFacts
    topic: TopicCheck | None  # None: the feed takes every paper
    upvotes_ok: bool
    sources_ok: bool
    started_after: bool  # the feed was added when the paper was already archived: its baseline skipped it
    delivery: Record | None


@dataclass(frozen=True)
class MemberExplanation:
    facts: PaperFacts
    topics: list[TopicCheck]
    delivery: Record | None
    dm_paused: bool
    dm_pause_code: int | None
    dm_channel_id: int | None
    sent_today: int
    daily_cap: int
    held_today: int = 0  # matches past the cap when a poll queued them today: no row, only this count


async def paper_facts(db: Database, paper_id: str) -> PaperFacts:
    """The archived paper and its clock; a UserError when the archive doesn't hold it."""
    paper = await db.papers.get(paper_id)
    timeline = await db.papers.timeline(paper_id)
    if paper is None or timeline is None:
        raise UserError(
            f"arXiv:{paper_id} isn't in my archive, so nothing could have posted it: I only deliver papers "
            "that a poll of Hugging Face Daily Papers or the followed arXiv categories listed. "
            f"`/paper {paper_id}` looks it up."
        )
    counted, seen = timeline
    return PaperFacts(
        paper=paper,
        counted_at=_at(counted),
        first_seen_at=_at(seen),
        rise_until=_at(counted + ELIGIBLE_DAYS * DAY),
        arrived_too_old=seen - counted > ELIGIBLE_MAX_DAYS * DAY,
    )


async def check_topic(db: Database, paper_id: str, canonical: str) -> TopicCheck:
    """Run the stored query and each of its words through FTS5 for this paper, as /search would."""
    try:
        query = parse_query(canonical)
    except QueryError:
        return TopicCheck(query=canonical, matches=False, terms=[], excluded=[])
    terms, excluded = query.terms, list(query.excluded)
    found = await db.papers.matches_each(paper_id, [query.fts(), *(t.fts() for t in terms + excluded)])
    words = found[1 : 1 + len(terms)]
    vetoes = found[1 + len(terms) :]
    return TopicCheck(
        query=canonical,
        matches=found[0],
        terms=[TermCheck(term.display(), hit) for term, hit in zip(terms, words, strict=True)],
        excluded=[TermCheck(term.display(), hit) for term, hit in zip(excluded, vetoes, strict=True)],
    )


async def explain_feed(db: Database, feed: Feed, paper_id: str) -> FeedExplanation:
    facts = await paper_facts(db, paper_id)
    paper = facts.paper
    topic = await check_topic(db, paper_id, feed.topic) if feed.topic else None
    return FeedExplanation(
        feed=feed,
        facts=facts,
        topic=topic,
        upvotes_ok=(paper.upvotes or 0) >= feed.min_upvotes,
        sources_ok=bool(paper.sources & feed.sources),
        started_after=feed.created_at is not None and feed.created_at > facts.first_seen_at,
        delivery=await db.deliveries.record("channel", feed.channel_id, paper_id),
    )


async def explain_member(db: Database, user_id: int, paper_id: str) -> MemberExplanation:
    facts = await paper_facts(db, paper_id)
    topics = [await check_topic(db, paper_id, topic.query) for topic in await db.topics.for_user(user_id)]
    state = await db.users.state(user_id)
    return MemberExplanation(
        facts=facts,
        topics=topics,
        delivery=await db.deliveries.record("user", user_id, paper_id),
        dm_paused=state is not None and state.paused_at is not None,
        dm_pause_code=state.pause_code if state else None,
        dm_channel_id=state.dm_channel_id if state else None,
        sent_today=await db.deliveries.sent_since("user", user_id, day_start(time.time())),
        daily_cap=DM_DAILY_CAP,
        held_today=await db.users.held(user_id, day_start(time.time())),
    )
