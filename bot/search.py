"""The one search path: ``/search``, the command line and the topic preview all come through here.

The query language itself lives in ``bot.query`` (below the database, which stores parsed queries).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.db.papers import SearchFilters, SortOrder
from bot.models import Paper, Source
from bot.query import Query, parse_query

if TYPE_CHECKING:
    from bot.db import Database


@dataclass
class SearchPage:
    query: Query
    papers: list[Paper]
    page: int
    per_page: int
    has_more: bool


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
) -> SearchPage:
    """The one search path: ``/search``, the CLI and the topic preview all come through here."""
    parsed = parse_query(query) if isinstance(query, str) else query
    filters = SearchFilters(since=since, min_upvotes=min_upvotes, source=source)
    rows = await db.papers.search(parsed.fts(), sort=sort, filters=filters, limit=per_page + 1, offset=page * per_page)
    return SearchPage(query=parsed, papers=rows[:per_page], page=page, per_page=per_page, has_more=len(rows) > per_page)


async def count_matches(db: Database, query: Query, *, since: datetime | None = None) -> int:
    return await db.papers.count_matches(query.fts(), SearchFilters(since=since))
