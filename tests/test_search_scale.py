"""Bounded keyword search on a large archive: the windowed relevance with filters and the index walk for the
newest / most upvoted orders return exactly what sorting every match returns (docs/benchmarks.md, issue 13 part 4).

The thresholds are patched small so a few dozen papers exercise the paths a million-paper archive takes.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.db import Database
from bot.db import papers as papers_module
from bot.models import Paper, Source
from bot.query import parse_query
from bot.search import count_matches, search
from testing.factories import make_paper

START = datetime(2026, 1, 1, tzinfo=UTC)


def _corpus() -> list[Paper]:
    """Shuffled dates (pk order is not date order), shared dates and votes (ties), and papers without either."""
    rng = random.Random(13)
    papers = []
    for n in range(60):
        words = ["graph"] + (["robot"] if n % 3 == 0 else []) + (["diffusion"] if n % 7 == 0 else [])
        papers.append(
            make_paper(
                f"2601.{n:05d}",
                " ".join(rng.sample(words, len(words))) + f" study {n}",
                abstract="graph " * rng.randint(0, 3) + "a method",
                listed_at=None if n % 11 == 0 else START + timedelta(days=rng.randint(0, 20)),
                upvotes=None if n % 4 == 0 else rng.randint(0, 6),
                sources=Source.HF if n % 2 else Source.ARXIV,
            )
        )
    return papers


@pytest.fixture
async def archive(db: Database) -> Database:
    async with db.transaction() as conn:
        await db.papers.upsert(conn, _corpus())
    return db


async def _pages(db: Database, query: str, **kwargs: Any) -> list[list[str]]:
    pages, page = [], 0
    while True:
        found = await search(db, query, per_page=4, page=page, **kwargs)
        pages.append([paper.id for paper in found.papers])
        if not found.has_more:
            return pages
        page += 1


FILTERS: list[dict[str, Any]] = [
    {},
    {"since": START + timedelta(days=10)},
    {"min_upvotes": 3},
    {"source": Source.HF},
]


@pytest.mark.parametrize("sort", ["newest", "upvotes"])
@pytest.mark.parametrize("query", ["graph", "graph -robot", "robot OR diffusion", '"graph study"'])
async def test_the_index_walk_pages_exactly_like_sorting_every_match(
    archive: Database, monkeypatch: pytest.MonkeyPatch, sort: str, query: str
) -> None:
    for filters in FILTERS:
        monkeypatch.setattr(papers_module, "SORTED_WALK_MATCHES", 10**9)  # always sort every match
        expected = await _pages(archive, query, sort=sort, **filters)
        monkeypatch.setattr(papers_module, "SORTED_WALK_MATCHES", 1)  # always walk, in chunks of 3, 5 and 7
        monkeypatch.setattr(papers_module, "SORTED_CHUNKS", (3, 5, 7))
        assert await _pages(archive, query, sort=sort, **filters) == expected, filters
        shown = [paper for page in expected for paper in page]
        assert len(shown) == len(set(shown))


async def test_the_walk_finds_the_page_in_the_first_chunks(archive: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(papers_module, "SORTED_WALK_MATCHES", 1)
    monkeypatch.setattr(papers_module, "SORTED_CHUNKS", (5,))  # one chunk of five: enough for a page of "graph"
    calls: list[str] = []
    original = archive.fetchall

    async def counting(sql: str, params: Any = ()) -> Any:
        calls.append(sql)
        return await original(sql, params)

    monkeypatch.setattr(archive, "fetchall", counting)
    found = await search(archive, "graph", sort="newest", per_page=4)
    assert len(found.papers) == 4 and found.has_more
    assert not any("ORDER BY p.listed_at DESC, p.pk DESC LIMIT ? OFFSET ?" in sql for sql in calls)  # no full sort
    dates = [paper.listed_at for paper in found.papers]
    assert dates == sorted(dates, reverse=True)  # type: ignore[type-var]  # none is None: NULL dates come last


async def test_relevance_with_filters_ranks_the_newest_matches_that_pass(
    archive: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    everything = [paper.id for paper in (await search(archive, "graph", source=Source.HF, per_page=30)).papers]
    assert len(everything) == 30  # every odd-numbered paper
    monkeypatch.setattr(papers_module, "RELEVANCE_WINDOW", 4)
    windowed = [paper.id for paper in (await search(archive, "graph", source=Source.HF, per_page=30)).papers]
    # The four HF papers stored last, ranked among themselves; not four papers of which none passes the filter.
    assert set(windowed) == {"2601.00059", "2601.00057", "2601.00055", "2601.00053"}


async def test_a_period_is_searched_exactly_through_its_row_id_range(archive: Database) -> None:
    since = START + timedelta(days=15)
    expected = {paper.id for paper in _corpus() if paper.listed_at is not None and paper.listed_at >= since}
    found = {paper.id for paper in (await search(archive, "graph", since=since, per_page=60)).papers}
    assert found == expected
    assert await count_matches(archive, parse_query("graph"), since=since) == len(expected)  # the topic preview
    assert await count_matches(archive, parse_query("graph")) == len(_corpus())
    later = START + timedelta(days=400)
    assert (await search(archive, "graph", since=later, per_page=5)).papers == []
    assert await count_matches(archive, parse_query("graph"), since=later) == 0


@pytest.mark.parametrize("window", [4, 5_000])
@pytest.mark.parametrize("filters", [{"min_upvotes": 3}, {"min_upvotes": 5, "source": Source.HF}, {"min_upvotes": 99}])
async def test_an_upvote_floor_searched_from_the_index_ranks_the_same_papers(
    archive: Database, monkeypatch: pytest.MonkeyPatch, window: int, filters: dict[str, Any]
) -> None:
    monkeypatch.setattr(papers_module, "RELEVANCE_WINDOW", window)
    monkeypatch.setattr(papers_module, "UPVOTED_CANDIDATES", -1)  # never: walk the matches, joining each
    expected = await _pages(archive, "graph OR robot", **filters)
    monkeypatch.setattr(papers_module, "UPVOTED_CANDIDATES", 10**6)  # always: candidates from the upvotes index
    assert await _pages(archive, "graph OR robot", **filters) == expected
