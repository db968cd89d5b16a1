"""The one search path: ``/search``, the command line and the topic preview all come through here.

The query language itself lives in ``bot.query`` (below the database, which stores parsed queries).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot import relaxed
from bot.archive import store
from bot.db.papers import SearchFilters, SortOrder
from bot.models import Paper, Source
from bot.query import Query, parse_query
from bot.sources.http import SourceError

if TYPE_CHECKING:
    from bot.db import Database
    from bot.sources.hf import HuggingFaceSource

log = logging.getLogger(__name__)

# The periods /search and /trending offer, by the value of their choice.
PERIODS = {"today": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}


@dataclass
class SearchPage:
    query: Query
    papers: list[Paper]
    page: int
    per_page: int
    has_more: bool
    relaxed: bool = False  # no page of papers had every word, so the closest matches are shown

    @property
    def notes(self) -> tuple[str, ...]:
        return (*self.query.notes, relaxed.RELAXED_NOTE) if self.relaxed else self.query.notes


# One ranking per relaxed search, so Previous/Next page over the same list (see bot.relaxed.RankingCache).
_RANKINGS = relaxed.RankingCache()


async def search(
    db: Database,
    query: str | Query,
    *,
    sort: SortOrder = "relevance",
    since: datetime | None = None,
    min_upvotes: int | None = None,
    source: Source | None = None,
    page: int = 0,
    per_page: int = 5,
    semantic: relaxed.SemanticSearch | None = None,
    until_pk: int | None = None,
) -> SearchPage:
    """The one search path: ``/search``, the CLI and the topic preview all come through here.

    Strict reading (every word, or the operators as written) when the query uses operators or finds a page;
    otherwise the relaxed reading of ``bot.relaxed``, computed once and paged over. A pager passes the same
    ``until_pk`` (``db.papers.newest_pk()`` when it opened) with every page, so papers stored meanwhile never
    shift its pages.
    """
    parsed = parse_query(query) if isinstance(query, str) else query
    filters = SearchFilters(since=since, min_upvotes=min_upvotes, source=source, until_pk=until_pk)
    if not relaxed.uses_operators(parsed):
        found = await _relaxed_page(db, parsed, filters, sort, page, per_page, semantic)
        if found is not None:
            return found
    rows = await db.papers.search(parsed.fts(), sort=sort, filters=filters, limit=per_page + 1, offset=page * per_page)
    return SearchPage(query=parsed, papers=rows[:per_page], page=page, per_page=per_page, has_more=len(rows) > per_page)


async def _relaxed_page(
    db: Database,
    parsed: Query,
    filters: SearchFilters,
    sort: SortOrder,
    page: int,
    per_page: int,
    semantic: relaxed.SemanticSearch | None,
) -> SearchPage | None:
    """A page of the relaxed reading, or None when the strict one stands (a page of matches, or nothing more)."""
    if await db.papers.strict_count(parsed.fts(), filters, per_page) >= per_page:
        return None
    with_model = semantic is not None and semantic.available
    key = (id(db), parsed.canonical(), filters, sort, with_model)
    cached = _RANKINGS.get(key)
    if cached is None:
        strict = await db.papers.strict_pks(parsed.fts(), filters, per_page)
        pks = await relaxed.ranking(db, parsed, strict_first=strict, semantic=semantic, filters=filters, sort=sort)
        cached = (len(strict), pks)
        _RANKINGS.put(key, cached)
    strict_count, pks = cached
    # When relaxing adds nothing, ``pks`` is exactly the strict answer in the strict order (score, then
    # newest pk; the sorts break ties the same way), so it is served from here without a second search.
    start = page * per_page
    papers = await db.papers.in_order(pks[start : start + per_page])
    return SearchPage(
        query=parsed,
        papers=papers,
        page=page,
        per_page=per_page,
        has_more=len(pks) > start + per_page,
        relaxed=len(pks) > strict_count,
    )


async def count_matches(db: Database, query: Query, *, since: datetime | None = None) -> int:
    return await db.papers.count_matches(query.fts(), SearchFilters(since=since))


@dataclass
class Fallback:
    """What Hugging Face search found for a query the archive has nothing for."""

    query: Query
    papers: list[Paper]
    answered: bool = True  # False: Hugging Face search failed, so "nothing" means "don't know"


async def search_hugging_face(db: Database, hf: HuggingFaceSource, query: Query, *, limit: int = 5) -> Fallback:
    """Nothing local matched: ask Hugging Face's search and keep what it knows, so the next search finds it here."""
    words = " ".join(" ".join(term.tokens) for term in query.terms)  # its search has no operators
    try:
        papers = await hf.search(words, limit=limit)
    except SourceError as error:
        log.warning("hugging face search failed for %r: %s", words, error)
        return Fallback(query=query, papers=[], answered=False)
    if papers:
        await store(db, papers)
    return Fallback(query=query, papers=papers)


@dataclass
class Trending:
    period: str  # a key of PERIODS
    papers: list[Paper] = field(default_factory=list)
    # Set when today had nothing yet and the latest listed day is shown instead.
    since_day: datetime | None = None


async def trending(db: Database, period: str, *, limit: int = 10, now: datetime | None = None) -> Trending:
    """The most upvoted papers listed in the period; for "today", the latest day with a list if today has none."""
    since = (now or datetime.now(UTC)) - PERIODS[period]
    papers = await db.papers.top(filters=SearchFilters(since=since), limit=limit)
    if papers or period != "today":
        return Trending(period=period, papers=papers)
    # Weekends and early mornings (UTC) have no new list yet: show the latest day that has one.
    latest = await db.papers.latest_listed_at()
    if latest is None:
        return Trending(period=period)
    day = latest.replace(hour=0, minute=0, second=0, microsecond=0)
    papers = await db.papers.top(filters=SearchFilters(since=day), limit=limit)
    return Trending(period=period, papers=papers, since_day=day if papers else None)
