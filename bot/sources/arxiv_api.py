"""arXiv's search API (``export.arxiv.org/api/query``, Atom): the papers of listings the RSS feed missed.

The RSS feed only ever holds the latest listing, so after an outage (arXiv's or ours) ``bot.sources.arxiv``
asks this module for every paper of the configured categories submitted in a window of days
(``bot.sources.arxiv_calendar.backfill_window``), page by page, one request at a time with arXiv's
requested pause between requests (``Spacing``). A page that is damaged, short or missing fails the whole
back-fill: the caller keeps its watermark and asks again on the next poll, so nothing is half-read.
"""

from __future__ import annotations

import asyncio
import logging
from calendar import timegm
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import feedparser

from bot import arxiv_taxonomy, text
from bot.models import Paper, Source, normalise_arxiv_id
from bot.sources import arxiv_calendar
from bot.sources.arxiv_calendar import Window
from bot.sources.http import HttpClient, SourceError, Spacing

log = logging.getLogger(__name__)

NAME = "arxiv"
MAX_PAGE = 2000  # arXiv's limit for one request
MAX_RESULTS = 30_000  # arXiv refuses to page past this; a window with more is read in smaller windows
MAX_AUTHORS = 500


def query(categories: list[str], window: Window) -> str:
    """``search_query`` for the categories' papers submitted in the window (arXiv's own syntax)."""
    terms = [f"{category}.*" if arxiv_taxonomy.has_subjects(category) else category for category in categories]
    cats = " OR ".join(f"cat:{term}" for term in terms)
    if len(categories) > 1:
        cats = f"({cats})"
    first, last = window.first.strftime("%Y%m%d"), window.last.strftime("%Y%m%d")
    return f"{cats} AND submittedDate:[{first}0000 TO {last}2359]"


def _time(entry: Any, key: str) -> datetime | None:
    parsed = entry.get(f"{key}_parsed")
    return datetime.fromtimestamp(timegm(parsed), UTC) if parsed else None


def parse_entry(entry: Any, *, latest: date) -> Paper:
    """A Paper from one Atom entry; ValueError when unusable. ``latest``: the newest listing seen."""
    paper_id = normalise_arxiv_id(str(entry.get("id", ""))) or normalise_arxiv_id(str(entry.get("link", "")))
    if paper_id is None:
        raise ValueError(f"no arXiv id in {entry.get('id')!r}")
    title = text.clean(entry.get("title", ""))
    if not title:
        raise ValueError(f"{paper_id}: no title")
    authors = [name for author in entry.get("authors", []) if (name := text.clean(author.get("name", "")))]
    primary = (entry.get("arxiv_primary_category") or {}).get("term")
    terms = [tag.get("term") for tag in entry.get("tags", [])]
    categories = [term for term in [primary, *terms] if isinstance(term, str) and term]
    submitted = _time(entry, "published")
    listed = None
    if submitted is not None:
        # The API does not say which listing a paper was on; the usual schedule does, within the seen range.
        listed = arxiv_calendar.listing_time(min(arxiv_calendar.expected_listing(submitted), latest))
    return Paper(
        id=paper_id,
        title=title,
        abstract=text.clean(entry.get("summary", "")),
        authors=authors[:MAX_AUTHORS],
        categories=list(dict.fromkeys(categories)),
        published_at=submitted,
        listed_at=listed,
        sources=Source.ARXIV,
    )


@dataclass
class Page:
    papers: list[Paper] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    entries: int = 0  # entries on the page, usable or not: how far ``start`` moves
    total: int = 0  # results of the whole query (opensearch:totalResults)


def parse_page(body: bytes, *, latest: date) -> Page:
    """One Atom page of results; SourceError when the page cannot be trusted."""
    feed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    problems: list[str] = []
    if feed.get("bozo"):
        problem = feed.get("bozo_exception")
        # A wrong encoding declaration still parses every entry; anything else may have lost some.
        if not isinstance(problem, feedparser.CharacterEncodingOverride):
            raise SourceError(f"arXiv API page is not well-formed: {problem}")
        problems.append(f"API page: {problem}")
    try:
        total = int(feed.get("feed", {}).get("opensearch_totalresults", ""))
    except ValueError:
        raise SourceError("arXiv API page has no opensearch:totalResults") from None
    page = Page(problems=problems, entries=len(feed.entries), total=total)
    for index, entry in enumerate(feed.entries):
        # arXiv answers a bad query with one entry titled "Error" (and HTTP 400, which fails earlier).
        if str(entry.get("title", "")).strip() == "Error" and "api/errors" in str(entry.get("id", "")):
            raise SourceError(f"arXiv API error: {text.clean(entry.get('summary', ''))[:200]}")
        try:
            page.papers.append(parse_entry(entry, latest=latest))
        except (ValueError, TypeError, AttributeError) as error:
            page.problems.append(f"API entry {index}: {error}")
    return page


class ArxivApi:
    """Pages through one query; every request waits its turn in ``spacing`` (shared by the whole process)."""

    def __init__(
        self,
        http: HttpClient,
        base_url: str,
        categories: list[str],
        *,
        page_size: int,
        spacing: Spacing,
        max_results: int = MAX_RESULTS,
    ) -> None:
        self.http = http
        self.url = f"{base_url.rstrip('/')}/query"
        self.categories = categories
        self.page_size = max(1, min(page_size, MAX_PAGE))
        self.spacing = spacing
        self.max_results = max_results
        self.requests = 0

    async def fetch(self, window: Window, *, latest: date) -> tuple[list[Paper], list[str]]:
        """Every paper submitted in ``window``, or SourceError (nothing is returned from a partial read)."""
        self.requests = 0
        papers, problems = await self._window(window, latest)
        log.info(
            "arXiv back-fill: %d papers submitted %s..%s (%d requests)",
            len(papers),
            window.first,
            window.last,
            self.requests,
        )
        return papers, problems

    async def _window(self, window: Window, latest: date) -> tuple[list[Paper], list[str]]:
        """One query's pages; a window with more results than arXiv pages through is read in two halves."""
        search = query(self.categories, window)
        papers: list[Paper] = []
        problems: list[str] = []
        start = 0
        while True:
            params = {
                "search_query": search,
                "start": str(start),
                "max_results": str(self.page_size),
                "sortBy": "submittedDate",
                "sortOrder": "ascending",
            }
            response = await self.http.get(self.url, source=NAME, params=params, spacing=self.spacing)
            self.requests += 1
            page = await asyncio.to_thread(parse_page, response.body, latest=latest)
            if page.total > self.max_results:
                if window.days > 1:
                    middle = window.first + timedelta(days=window.days // 2)
                    older = await self._window(Window(window.first, middle - timedelta(days=1)), latest)
                    newer = await self._window(Window(middle, window.last), latest)
                    return older[0] + newer[0], older[1] + newer[1]
                raise SourceError(f"arXiv API: {page.total} results for {window.first}, over {self.max_results}")
            if page.entries == 0 and start < page.total:
                # arXiv sometimes answers an empty page mid-way; the rest is not lost, only not read yet.
                raise SourceError(f"arXiv API gave an empty page at {start} of {page.total} results")
            papers.extend(page.papers)
            problems.extend(page.problems)
            start += page.entries
            if start >= page.total:
                return papers, problems
