"""arXiv's search API (``/api/query``, Atom) in miniature, for the fixture server: records, queries, pages.

Only what the bot asks is understood: ``cat:X`` terms (``cat:cs.*`` for a whole archive) joined by OR,
``AND submittedDate:[YYYYMMDDHHMM TO YYYYMMDDHHMM]``, ``start``/``max_results`` and ascending submission order.
Anything else is answered like arXiv answers a query it cannot read: HTTP 400 with an "Error" entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from bot.models import Paper
from bot.sources.arxiv import parse_feed

_CATEGORY = re.compile(r"cat:([A-Za-z\-]+(?:\.[A-Za-z\-]+|\.\*)?)")
_DATES = re.compile(r"submittedDate:\[(\d{12}) TO (\d{12})\]")


@dataclass(frozen=True)
class ArxivRecord:
    """One paper as the API describes it: ``submitted`` is its v1 submission time (Atom ``published``)."""

    paper_id: str
    title: str
    submitted: datetime
    abstract: str = "We study a problem. Our method works well."
    authors: tuple[str, ...] = ("Grace Hopper",)
    categories: tuple[str, ...] = ("cs.LG",)  # the primary first
    version: int = 1

    def matches(self, categories: list[str]) -> bool:
        return any(
            own == wanted or (wanted.endswith(".*") and own.startswith(wanted[:-1]))
            for own in self.categories
            for wanted in categories
        )

    def entry(self) -> str:
        stamp = self.submitted.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        url = f"http://arxiv.org/abs/{self.paper_id}v{self.version}"
        cats = "".join(
            f'<category term={quoteattr(cat)} scheme="http://arxiv.org/schemas/atom"/>' for cat in self.categories
        )
        authors = "".join(f"<author><name>{escape(name)}</name></author>" for name in self.authors)
        return (
            f"<entry><id>{url}</id><updated>{stamp}</updated><published>{stamp}</published>"
            f"<title>{escape(self.title)}</title><summary>{escape(self.abstract)}</summary>{authors}"
            f'<link href="{url}" rel="alternate" type="text/html"/>'
            f'<link title="pdf" href="http://arxiv.org/pdf/{self.paper_id}v{self.version}" rel="related"/>'
            f'<arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term={quoteattr(self.categories[0])}'
            f' scheme="http://arxiv.org/schemas/atom"/>{cats}</entry>'
        )


@dataclass
class Query:
    categories: list[str]
    first: datetime
    last: datetime  # inclusive, to the minute
    start: int = 0
    max_results: int = 10
    problems: list[str] = field(default_factory=list)


def parse_query(params: dict[str, str]) -> Query | str:
    """The query the bot sent, or why it is not one this miniature understands."""
    search = params.get("search_query", "")
    categories = _CATEGORY.findall(search)
    dates = _DATES.search(search)
    if not categories or dates is None:
        return f"unsupported search_query {search!r}"
    try:
        first = datetime.strptime(dates[1], "%Y%m%d%H%M").replace(tzinfo=UTC)
        last = datetime.strptime(dates[2], "%Y%m%d%H%M").replace(tzinfo=UTC)
        start = int(params.get("start", "0"))
        max_results = int(params.get("max_results", "10"))
    except ValueError as error:
        return str(error)
    if start < 0 or not 0 < max_results <= 2000:
        return f"start {start} / max_results {max_results} out of range"
    return Query(categories, first, last, start, max_results)


def select(records: Iterable[ArxivRecord], query: Query) -> list[ArxivRecord]:
    """Every record the query matches, oldest submission first (the bot asks for ascending order)."""
    end = query.last + timedelta(minutes=1)
    hits = [r for r in records if r.matches(query.categories) and query.first <= r.submitted < end]
    return sorted(hits, key=lambda record: (record.submitted, record.paper_id))


def feed(records: list[ArxivRecord], *, total: int, start: int, per_page: int) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom">'
        '<link href="http://arxiv.org/api/query" rel="self" type="application/atom+xml"/>'
        "<title>arXiv Query results</title><id>http://arxiv.org/api/fixture</id>"
        "<updated>2026-03-04T00:00:00-05:00</updated>"
        f"<opensearch:totalResults>{total}</opensearch:totalResults>"
        f"<opensearch:startIndex>{start}</opensearch:startIndex>"
        f"<opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>"
        + "".join(record.entry() for record in records)
        + "</feed>"
    ).encode()


def error_feed(message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"><title>arXiv Query results</title>'
        "<opensearch:totalResults>1</opensearch:totalResults>"
        "<entry><id>http://arxiv.org/api/errors#incorrect_search_query</id><title>Error</title>"
        f"<summary>{escape(message)}</summary></entry></feed>"
    ).encode()


def records_from_papers(papers: Iterable[Paper], submitted: datetime, *, step: timedelta) -> list[ArxivRecord]:
    """API records for papers (e.g. an RSS fixture's), submitted from ``submitted`` on, ``step`` apart."""
    return [
        ArxivRecord(
            paper_id=paper.id,
            title=paper.title,
            submitted=submitted + index * step,
            abstract=paper.abstract,
            authors=tuple(paper.authors) or ("Grace Hopper",),
            categories=tuple(paper.categories) or ("cs.LG",),
        )
        for index, paper in enumerate(papers)
    ]


def records_from_rss(path: Path, submitted: datetime, *, step: timedelta = timedelta(minutes=7)) -> list[ArxivRecord]:
    """The new and cross-listed papers of an arXiv RSS fixture (read in place) as API records."""
    return records_from_papers(parse_feed(path.read_bytes()).papers, submitted, step=step)
