"""Hugging Face Daily Papers: ``/api/daily_papers``, ``/api/papers/{id}`` and ``/api/papers/search``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot import text
from bot.models import Paper, Source, normalise_arxiv_id
from bot.sources.base import FetchResult, ParseResult, parse_time
from bot.sources.http import HttpClient, SourceError

log = logging.getLogger(__name__)

NAME = "huggingface"
PAGE_SIZE = 100  # the API's maximum
MAX_PAGES = 10  # a daily list is far shorter; this only bounds a misbehaving server
MAX_AUTHORS = 500
MAX_KEYWORDS = 50


class ItemError(ValueError):
    """One entry of a response is unusable; the rest of the response still counts."""


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return max(0, int(value))


def _url(value: object) -> str | None:
    """An absolute http(s) URL (Discord rejects anything else in embeds), or None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if value.startswith(("https://", "http://")) and " " not in value and len(value) <= 2048:
        return value
    return None


def _github(value: object) -> str | None:
    url = _url(value)
    if url is None and isinstance(value, str) and value.strip().count("/") == 1:
        # Some records carry "owner/repo" rather than a URL.
        url = _url(f"https://github.com/{value.strip()}")
    return url


def _authors(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    names = []
    for author in value[:MAX_AUTHORS]:
        name = author.get("name") if isinstance(author, dict) else author
        if isinstance(name, str) and (name := text.clean(name)):
            names.append(name)
    return names


def _keywords(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    words = [text.clean(word) for word in value[:MAX_KEYWORDS] if isinstance(word, str)]
    return list(dict.fromkeys(word for word in words if word))


def _organization(*candidates: object) -> str | None:
    for candidate in candidates:
        if isinstance(candidate, dict):
            name = _str(candidate.get("fullname")) or _str(candidate.get("name"))
            if name and (name := text.clean(name)):
                return name
        elif isinstance(candidate, str) and (name := text.clean(candidate)):
            return name
    return None


def parse_paper(paper: dict[str, Any], outer: dict[str, Any] | None = None, listed_on: date | None = None) -> Paper:
    """A Paper from the API's ``paper`` object, with the daily-list wrapper ``outer`` when there is one."""
    outer = outer or {}
    raw_id = paper.get("id")
    paper_id = normalise_arxiv_id(raw_id) if isinstance(raw_id, str) else None
    if paper_id is None:
        raise ItemError(f"no usable arXiv id ({raw_id!r})")
    # The outer title is not hard-wrapped, so it reads better; both describe the same paper.
    title = text.clean(_str(outer.get("title")) or _str(paper.get("title")))
    if not title:
        raise ItemError(f"{paper_id}: no title")
    abstract = text.clean(_str(paper.get("summary")) or _str(outer.get("summary")))
    listed_at = (
        parse_time(paper.get("submittedOnDailyAt"))
        or (parse_time(outer.get("publishedAt")) if "submittedOnDailyAt" not in paper else None)
        or (datetime.combine(listed_on, time(), UTC) if listed_on else None)
    )
    return Paper(
        id=paper_id,
        title=title,
        abstract=abstract,
        authors=_authors(paper.get("authors")),
        keywords=_keywords(paper.get("ai_keywords")),
        ai_summary=text.clean(_str(paper.get("ai_summary"))) or None,
        upvotes=_int(paper.get("upvotes")),
        num_comments=_int(outer.get("numComments")),
        github_repo=_github(paper.get("githubRepo")),
        github_stars=_int(paper.get("githubStars")),
        project_page=_url(paper.get("projectPage")),
        organization=_organization(paper.get("organization"), outer.get("organization")),
        thumbnail=_url(outer.get("thumbnail")),
        published_at=parse_time(paper.get("publishedAt")),
        listed_at=listed_at,
        sources=Source.HF,
    )


def parse_daily_papers(data: object, *, listed_on: date | None = None) -> ParseResult:
    """Papers from a daily_papers (or papers/search) response; malformed items are reported, not fatal."""
    if isinstance(data, dict) and "error" in data:
        raise SourceError(f"API error: {str(data['error'])[:200]}")
    if not isinstance(data, list):
        raise SourceError(f"expected a JSON list, got {type(data).__name__}")
    result = ParseResult()
    for index, item in enumerate(data):
        try:
            if not isinstance(item, dict):
                raise ItemError(f"item is a {type(item).__name__}, not an object")
            paper = item.get("paper")
            if paper is None and "id" in item:
                paper, item = item, {}
            if not isinstance(paper, dict):
                raise ItemError("no 'paper' object")
            result.papers.append(parse_paper(paper, item, listed_on))
        except (ValueError, TypeError) as error:
            result.problems.append(f"item {index}: {error}")
    return result


def decode_json(body: bytes, url: str) -> object:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SourceError(f"malformed JSON from {url}: {error}") from None


def dedupe(papers: Iterable[Paper]) -> list[Paper]:
    """One record per id, merging repeats (a list can name the same paper twice)."""
    merged: dict[str, Paper] = {}
    for paper in papers:
        merged[paper.id] = merged[paper.id].merge(paper, counts="max") if paper.id in merged else paper
    return list(merged.values())


# After an outage, read back at most this many daily lists (what delivery still treats as new).
MAX_CATCH_UP_DAYS = 7


class HuggingFaceSource:
    name = NAME

    def __init__(self, http: HttpClient, base_url: str, *, lookback_days: int = 2) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.lookback_days = lookback_days

    def days(self, now: datetime | None = None, since: datetime | None = None) -> list[date]:
        """Today and the lookback days, reaching back to ``since`` (the last success) after an outage."""
        today = (now or datetime.now(UTC)).astimezone(UTC).date()
        count = self.lookback_days
        if since is not None:
            missed = (today - since.astimezone(UTC).date()).days + 1
            count = max(count, min(missed, MAX_CATCH_UP_DAYS))
        return [today - timedelta(days=offset) for offset in range(count)]

    async def fetch(
        self,
        validators: dict[str, str] | None = None,
        now: datetime | None = None,
        since: datetime | None = None,
        watermark: str | None = None,
    ) -> FetchResult:
        result = FetchResult(source=NAME)
        failures: list[str] = []
        days = self.days(now, since)
        for day in days:
            try:
                parsed = await self.fetch_day(day)
            except SourceError as error:
                if error.retry_after is not None:
                    raise  # asked to back off: requesting the other days now would only make it worse
                # One bad day must not hide the other; the poll fails only if every day failed.
                failures.append(f"{day}: {error}")
                continue
            result.papers.extend(parsed.papers)
            result.skipped += len(parsed.problems)
            result.warnings.extend(f"{day} {problem}" for problem in parsed.problems)
        if failures and len(failures) == len(days):
            raise SourceError("; ".join(failures))
        result.warnings.extend(failures)
        result.papers = dedupe(result.papers)
        return result

    async def fetch_day(self, day: date) -> ParseResult:
        url = f"{self.base_url}/api/daily_papers"
        combined = ParseResult()
        for page in range(MAX_PAGES):
            params = {"date": day.isoformat(), "limit": PAGE_SIZE, "p": page}
            response = await self.http.get(url, source=NAME, params=params)
            data = decode_json(response.body, url)
            parsed = parse_daily_papers(data, listed_on=day)
            combined.papers.extend(parsed.papers)
            combined.problems.extend(parsed.problems)
            if not isinstance(data, list) or len(data) < PAGE_SIZE:
                break
        return combined

    async def fetch_paper(self, paper_id: str) -> Paper | None:
        """One paper by bare id, or None when Hugging Face does not know it."""
        url = f"{self.base_url}/api/papers/{paper_id}"
        response = await self.http.get(url, source=NAME, ok=frozenset({200, 404}))
        if response.status == 404:
            return None
        data = decode_json(response.body, url)
        if not isinstance(data, dict):
            raise SourceError(f"expected a JSON object from {url}, got {type(data).__name__}")
        try:
            return parse_paper(data)
        except ItemError as error:
            raise SourceError(f"unusable paper from {url}: {error}") from None

    async def search(self, query: str, limit: int = 20) -> list[Paper]:
        url = f"{self.base_url}/api/papers/search"
        response = await self.http.get(url, source=NAME, params={"q": query[:200]})
        parsed = parse_daily_papers(decode_json(response.body, url))
        return dedupe(parsed.papers)[:limit]
