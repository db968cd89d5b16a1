"""arXiv announcements from ``rss.arxiv.org`` (one feed for all configured categories).

The feed only holds the latest listing. The source keeps a watermark (the last listing day whose papers are
all stored, saved by the poller with those papers); when the feed shows a listing past a gap (arXiv or the
bot was down over a listing day), the missed listings' papers come from arXiv's API
(``bot.sources.arxiv_api``) in the same fetch. If that fails, the feed's own papers are still stored, the
watermark stays, and the feed is not remembered (no 304 next time), so the next poll tries again.
"""

from __future__ import annotations

import asyncio
import logging
import re
from calendar import timegm
from datetime import UTC, date, datetime
from typing import Any

import feedparser

from bot import text
from bot.models import Paper, Source, normalise_arxiv_id
from bot.sources import arxiv_calendar
from bot.sources.arxiv_api import ArxivApi
from bot.sources.arxiv_calendar import Window
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
    times = [moment for entry in feed.entries if (moment := _entry_time(entry)) is not None]
    if not times and (channel := _entry_time(feed.get("feed", {}))) is not None:
        times = [channel]  # an empty listing (a day without announcements) still says its day
    if times:
        result.day = arxiv_calendar.listing_day(max(times))
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

    def __init__(
        self,
        http: HttpClient,
        base_url: str,
        categories: list[str],
        *,
        api: ArxivApi | None = None,
        backfill_days: int = 0,
    ) -> None:
        self.http = http
        self.url = feed_url(base_url, categories)
        self.api = api if backfill_days > 0 else None
        self.backfill_days = backfill_days

    async def fetch(
        self,
        validators: dict[str, str] | None = None,
        now: datetime | None = None,
        since: datetime | None = None,
        watermark: str | None = None,
    ) -> FetchResult:
        # ``since`` is unused: the watermark says which listings are stored, whatever the clock says.
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
        result = FetchResult(
            source=NAME,
            papers=parsed.papers,
            skipped=len(parsed.problems),
            warnings=parsed.problems,
            validators=fresh,
        )
        damaged = any(problem.startswith("feed is not") for problem in parsed.problems)
        if damaged:
            # A damaged feed is not remembered: the next poll must download it again, not get a 304. Nor does
            # it move the watermark: if the next good feed is a later listing, this one is back-filled.
            result.validators = {}
        elif parsed.day is not None:
            await self._catch_up(result, _day(watermark), parsed.day)
        return result

    async def _catch_up(self, result: FetchResult, covered: date | None, seen: date) -> None:
        """Add the papers of listings missed between ``covered`` and ``seen``, then move the watermark."""
        if covered is not None and seen <= covered:
            return
        if covered is not None and self.api is not None:
            window = arxiv_calendar.backfill_window(covered, seen, max_days=self.backfill_days)
            if window is not None and not await self._backfill(result, covered, seen, window, self.api):
                return
        result.watermark = seen.isoformat()

    async def _backfill(self, result: FetchResult, covered: date, seen: date, window: Window, api: ArxivApi) -> bool:
        """The window's papers into ``result``; False (with a warning) when the API failed."""
        if window.clipped:
            result.warnings.append(
                f"listings since {covered} were missed; back-filling only submissions from {window.first} "
                f"(ARXIV_BACKFILL_MAX_DAYS={self.backfill_days})"
            )
        log.info(
            "arXiv: listing %s seen, last stored %s: back-filling %d missed listing day(s) from the API",
            seen,
            covered,
            len(arxiv_calendar.missed_listings(covered, seen)),
        )
        try:
            papers, problems = await api.fetch(window, latest=seen)
        except Exception as error:  # a bug here must not hold back the feed's own papers
            if not isinstance(error, SourceError):
                log.exception("arXiv back-fill failed unexpectedly")
            result.warnings.append(
                f"back-fill of submissions {window.first}..{window.last} failed: {error}; the next poll tries again"
            )
            result.validators = {}  # so the next poll reads the feed again and sees the gap again
            return False
        # The feed's own record of a paper comes last, so its facts win the merge.
        result.papers = [*papers, *result.papers]
        result.skipped += len(problems)
        result.warnings.extend(problems)
        return True


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
