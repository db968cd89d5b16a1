"""The query language: semantics on a real FTS5 index, and safety against any input."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.db import Database
from bot.models import Source
from bot.query import MAX_EXCLUDED, MAX_QUERY_CHARS, MAX_TERMS, QueryError, parse_query
from bot.search import search
from testing.factories import make_paper

CORPUS = [
    make_paper(
        "2603.00001",
        "Graph Neural Networks for Molecules",
        abstract="We apply message passing to molecular graphs.",
        upvotes=50,
        listed_at=datetime(2026, 3, 1, tzinfo=UTC),
    ),
    make_paper(
        "2603.00002",
        "Diffusion Models for Images",
        abstract="Denoising diffusion generates images. A graph is not involved.",
        upvotes=80,
        listed_at=datetime(2026, 3, 2, tzinfo=UTC),
    ),
    make_paper(
        "2603.00003",
        "Large Language Models Reason",
        abstract="We study reasoning in a large language model with chain of thought.",
        upvotes=5,
        listed_at=datetime(2026, 3, 3, tzinfo=UTC),
        sources=Source.ARXIV,
    ),
    make_paper(
        "2603.00004",
        "Language and Vision",
        abstract="Large vision models and language models are compared.",
        upvotes=None,
        listed_at=datetime(2026, 3, 4, tzinfo=UTC),
        sources=Source.ARXIV,
    ),
    make_paper(
        "2603.00005",
        "Robots Learn to Walk",
        abstract="Reinforcement learning teaches a robot locomotion.",
        authors=["Zoë Müller"],
        keywords=["locomotion"],
        upvotes=20,
        listed_at=datetime(2026, 3, 5, tzinfo=UTC),
    ),
]


@pytest.fixture
async def corpus_db(db: Database) -> Database:
    async with db.transaction() as conn:
        await db.papers.upsert(conn, CORPUS)
    return db


async def ids(db: Database, query: str, **kwargs: object) -> list[str]:
    page = await search(db, query, per_page=20, **kwargs)  # type: ignore[arg-type]  # search's keyword options, passed through
    return [paper.id for paper in page.papers]


async def test_plain_words_are_all_required(corpus_db: Database) -> None:
    assert set(await ids(corpus_db, "language models")) == {"2603.00003", "2603.00004"}
    assert await ids(corpus_db, "language robot") == []


async def test_phrases_match_adjacent_words(corpus_db: Database) -> None:
    assert await ids(corpus_db, '"large language model"') == ["2603.00003"]
    assert set(await ids(corpus_db, "large language model")) == {"2603.00003", "2603.00004"}


async def test_or_and_exclusion(corpus_db: Database) -> None:
    assert set(await ids(corpus_db, "robot OR diffusion")) == {"2603.00002", "2603.00005"}
    assert set(await ids(corpus_db, "robot | diffusion")) == {"2603.00002", "2603.00005"}
    assert await ids(corpus_db, "graph -diffusion") == ["2603.00001"]
    assert await ids(corpus_db, 'language -"large language model"') == ["2603.00004"]
    assert await ids(corpus_db, "graph NOT images") == ["2603.00001"]


async def test_case_insensitive_and_stemmed(corpus_db: Database) -> None:
    assert set(await ids(corpus_db, "GRAPHS")) == {"2603.00001", "2603.00002"}
    assert "2603.00001" in await ids(corpus_db, "graph")
    assert await ids(corpus_db, "walking") == ["2603.00005"]


async def test_authors_keywords_and_diacritics(corpus_db: Database) -> None:
    assert await ids(corpus_db, "zoe muller") == ["2603.00005"]
    assert await ids(corpus_db, "locomotion") == ["2603.00005"]


async def test_title_match_ranks_above_abstract_match(corpus_db: Database) -> None:
    # Paper 1 has "graph" in its title; paper 2 only in its abstract.
    assert await ids(corpus_db, "graph") == ["2603.00001", "2603.00002"]


async def test_sort_orders_and_filters(corpus_db: Database) -> None:
    assert await ids(corpus_db, "language OR graph OR robot", sort="newest") == [
        "2603.00005",
        "2603.00004",
        "2603.00003",
        "2603.00002",
        "2603.00001",
    ]
    assert (await ids(corpus_db, "language OR graph OR robot", sort="upvotes"))[:3] == [
        "2603.00002",
        "2603.00001",
        "2603.00005",
    ]
    since = datetime(2026, 3, 3, tzinfo=UTC)
    assert set(await ids(corpus_db, "language", since=since)) == {"2603.00003", "2603.00004"}
    assert set(await ids(corpus_db, "graph OR language", min_upvotes=10)) == {"2603.00001", "2603.00002"}
    assert set(await ids(corpus_db, "language", source=Source.ARXIV)) == {"2603.00003", "2603.00004"}
    assert await ids(corpus_db, "language", source=Source.HF) == []


async def test_pagination_reports_more(corpus_db: Database) -> None:
    first = await search(corpus_db, "language OR graph OR robot", per_page=2, sort="newest")
    assert first.has_more
    last = await search(corpus_db, "language OR graph OR robot", per_page=2, page=2, sort="newest")
    assert [paper.id for paper in last.papers] == ["2603.00001"]
    assert not last.has_more


@pytest.mark.parametrize(
    "raw",
    [
        '"foo',
        "*",
        "NEAR(",
        "a OR",
        "-",
        "AND",
        "'; DROP TABLE papers;--",
        "x" * 5000,
        "🤖🧠",
        "نموذج لغوي كبير",
        "title:graph",
        "{title}: x",
        "^graph",
        "graph*",
        'a "b" OR OR -c NOT',
        "\x00\x01",
        "((((",
        "col : x",
    ],
)
async def test_hostile_inputs_never_break_fts(corpus_db: Database, raw: str) -> None:
    try:
        page = await search(corpus_db, raw)
    except QueryError as error:
        message = str(error)
    else:
        message = f"{len(page.papers)} results"
    assert message  # either results or a sentence for the user, never an sqlite error
    assert await corpus_db.papers.count() == len(CORPUS)  # still there, not dropped


def test_only_punctuation_or_only_exclusions_explain_why() -> None:
    with pytest.raises(QueryError, match="nothing to search for"):
        parse_query("!!! ... ---")
    with pytest.raises(QueryError, match="exclusions"):
        parse_query("-graph -images")
    with pytest.raises(QueryError):
        parse_query("")


def test_limits_are_enforced_and_reported() -> None:
    long = parse_query("x" * 5000)
    assert any(str(MAX_QUERY_CHARS) in note for note in long.notes)
    many = parse_query(" ".join(f"word{i}" for i in range(40)) + " " + " ".join(f"-no{i}" for i in range(20)))
    assert len(many.terms) == MAX_TERMS
    assert len(many.excluded) == MAX_EXCLUDED
    assert any("limited" in note for note in many.notes)


def test_canonical_form_identifies_equivalent_queries() -> None:
    assert parse_query("Diffusion   MODELS").canonical() == parse_query("diffusion models").canonical()
    assert parse_query('"Graph Nets" OR gnn -survey').canonical() == '"graph nets" OR gnn -survey'
    assert parse_query("gpt-4").canonical() == '"gpt 4"'


# ---- property: any unicode text is either refused politely or runs as valid FTS5 ----------------

_conn: sqlite3.Connection | None = None


def _fts_connection() -> sqlite3.Connection:
    global _conn
    if _conn is None:
        _conn = sqlite3.connect(":memory:")
        _conn.execute(
            "CREATE VIRTUAL TABLE f USING fts5(title, abstract, authors, keywords, "
            "tokenize='porter unicode61 remove_diacritics 2')"
        )
        _conn.execute("INSERT INTO f VALUES ('graph networks', 'an abstract', 'ada', 'gnn')")
    return _conn


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(max_size=400)
    | st.lists(
        st.sampled_from(
            ['"', "-", "OR", "AND", "NOT", "(", ")", "*", ":", "^", "NEAR", "a", "b", " ", "{", "}", "+", "|"]
        ),
        max_size=40,
    ).map("".join)
)
def test_any_text_compiles_to_valid_bounded_fts5(raw: str) -> None:
    try:
        query = parse_query(raw)
    except QueryError:
        return
    expression = query.fts()
    assert len(query.terms) <= MAX_TERMS
    assert len(query.excluded) <= MAX_EXCLUDED
    # Raises sqlite3.OperationalError on any FTS5 syntax error.
    _fts_connection().execute("SELECT rowid FROM f WHERE f MATCH ?", (expression,)).fetchall()
    assert query == parse_query(query.canonical())  # the canonical form reads back as the same query
