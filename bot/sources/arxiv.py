"""arXiv announcements from ``rss.arxiv.org`` (one feed for all configured categories)."""

from __future__ import annotations

import asyncio
import logging
import re
from calendar import timegm
from datetime import UTC, datetime
from typing import Any

import feedparser

from bot import text
from bot.models import Paper, Source, normalise_arxiv_id
from bot.sources.base import FetchResult, ParseResult
from bot.sources.http import HttpClient, SourceError

log = logging.getLogger(__name__)

NAME = "arxiv"
KEEP_TYPES = frozenset({"new", "cross"})
_ABSTRACT = re.compile(r"\bAbstract:\s*", re.IGNORECASE)
MAX_AUTHORS = 500


def feed_url(base_url: str, categories: list[str]) -> str:
    return f"{base_url.rstrip('/')}/{'+'.join(categories)}"


def _entry_time(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(timegm(parsed), UTC)


def _abstract(description: str) -> str:
    """The text after ``Abstract:`` (the description starts with ``arXiv:IDv1 Announce Type: ...``)."""
    found = _ABSTRACT.search(description)
    return description[found.end() :] if found else description


def _title(entry: Any) -> str:
    raw = entry.get("title", "")
    detail = entry.get("title_detail") or {}
    if "html" in str(detail.get("type", "")):
        return text.html_to_text(raw)
    return text.clean(raw)


def parse_entry(entry: Any) -> Paper | None:
    """A Paper from one RSS item; None for replacements (not news); ValueError when unusable."""
    announce = str(entry.get("arxiv_announce_type", "new")).strip().lower()
    if announce not in KEEP_TYPES:
        return None
    paper_id = normalise_arxiv_id(entry.get("link", "")) or normalise_arxiv_id(entry.get("id", ""))
    if paper_id is None:
        raise ValueError(f"no arXiv id in link {entry.get('link')!r} or guid {entry.get('id')!r}")
    title = _title(entry)
    if not title:
        raise ValueError(f"{paper_id}: no title")
    authors_field = entry.get("author") or ""
    authors = [name for part in authors_field.split(",") if (name := text.html_to_text(part))]
    categories = [tag.get("term") for tag in entry.get("tags", []) if isinstance(tag.get("term"), str)]
    announced = _entry_time(entry)
    return Paper(
        id=paper_id,
        title=title,
        abstract=text.html_to_text(_abstract(entry.get("summary", ""))),
        authors=authors[:MAX_AUTHORS],
        categories=list(dict.fromkeys(categories)),
        listed_at=announced,
        sources=Source.ARXIV,
    )


def parse_feed(body: bytes) -> ParseResult:
    """Papers from an RSS document; a damaged document yields whatever items were readable."""
    # Sanitising and URI resolution would treat LaTeX such as $x<y$ as markup and eat it.
    feed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    result = ParseResult()
    if feed.get("bozo"):
        problem = f"feed is not well-formed: {feed.get('bozo_exception')}"
        if not feed.entries and not feed.get("feed", {}).get("title"):
            raise SourceError(problem)
        result.problems.append(problem)
    for index, entry in enumerate(feed.entries):
        try:
            paper = parse_entry(entry)
        except (ValueError, TypeError, AttributeError) as error:
            result.problems.append(f"item {index}: {error}")
            continue
        if paper is not None:
            result.papers.append(paper)
    return result


class ArxivSource:
    name = NAME

    def __init__(self, http: HttpClient, base_url: str, categories: list[str]) -> None:
        self.http = http
        self.url = feed_url(base_url, categories)

    async def fetch(
        self, validators: dict[str, str] | None = None, now: datetime | None = None, since: datetime | None = None
    ) -> FetchResult:
        # ``since`` is unused: the RSS feed only ever holds the latest announcement day.
        validators = validators or {}
        headers = {}
        if etag := validators.get("etag"):
            headers["If-None-Match"] = etag
        if modified := validators.get("last_modified"):
            headers["If-Modified-Since"] = modified
        response = await self.http.get(self.url, source=NAME, headers=headers, ok=frozenset({200, 304}))
        if response.status == 304:
            return FetchResult(source=NAME, not_modified=True, validators=validators)
        # feedparser is synchronous and a full multi-category feed is a few megabytes.
        parsed = await asyncio.to_thread(parse_feed, response.body)
        fresh = {
            key: value
            for key, value in (
                ("etag", response.header("ETag")),
                ("last_modified", response.header("Last-Modified")),
            )
            if value
        }
        # A damaged feed is not remembered: the next poll must download it again, not get a 304.
        if parsed.problems and any(problem.startswith("feed is not") for problem in parsed.problems):
            fresh = {}
        return FetchResult(
            source=NAME,
            papers=parsed.papers,
            skipped=len(parsed.problems),
            warnings=parsed.problems,
            validators=fresh,
        )
