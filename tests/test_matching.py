"""The percolator agrees with search, touches only anchored queries, and the outbox keeps its promises."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import delivery
from bot.db import Database
from bot.db.feeds import FeedConfig
from bot.db.migrations import MIGRATIONS, TOKENIZER
from bot.db.papers import StoreResult
from bot.delivery.deciding import decide
from bot.matching import BatchIndex, evaluate, match
from bot.models import Paper
from bot.query import QueryError, parse_query
from bot.subscriptions import subscribe, unsubscribe
from testing.factories import make_paper

NOW = datetime.now(UTC)

TITLES = [
    "Graph Neural Networks for Molecules",
    "Diffusion Models for Images and Video",
    "Large Language Models Reason with Chain of Thought",
    "Reinforcement Learning from Human Feedback at Scale",
    "Vision Language Models Can Count Objects",
    "Efficient Attention Kernels for Edge Devices",
    "Graphs of Thought: Diffusion over Reasoning Graphs",
    "Naïve Bayes Strikes Back: Robust Classification",
    "Language Model Agents for Robots",
    "Flow Matching Beats Diffusion on Audio",
    "Model-Based Planning with Learned World Models",
    "Survey of Large Language Model Evaluation",
]
WORDS = sorted(
    {word.strip(":").lower() for title in TITLES for word in title.split()} | {"unicorn", "graph", "model", "naive"}
)


def corpus() -> list[Paper]:
    return [
        make_paper(
            f"2611.{10000 + index:05d}",
            title,
            abstract=f"Abstract {index}: we study {title.lower()} in detail. Robots and graphs appear.",
            upvotes=index * 3,
            listed_at=NOW - timedelta(hours=index),
        )
        for index, title in enumerate(TITLES)
    ]


async def stored_db(path: Path) -> Database:
    db = await Database.open(path)
    async with db.transaction() as conn:
        await db.papers.upsert(conn, corpus())
    return db


async def percolate(db: Database, text: str) -> set[str]:
    """What the percolator matches for ``text`` among the whole corpus (as one poll's batch)."""
    query = parse_query(text)
    async with db.transaction() as conn:
        query_id = await db.queries.ensure(conn, query)
        async with conn.execute("SELECT pk FROM papers") as cursor:
            pks = [row[0] for row in await cursor.fetchall()]
        await db.queries.prepare_batch(conn, pks)
        await match(conn, db.queries)
        async with conn.execute(
            "SELECT p.arxiv_id FROM temp.match_pairs m JOIN papers p ON p.pk = m.paper_pk WHERE m.query_id = ?",
            (query_id,),
        ) as cursor:
            found = {row[0] for row in await cursor.fetchall()}
        await db.queries.clear_batch(conn)
    return found


async def searched(db: Database, text: str) -> set[str]:
    return {paper.id for paper in await db.papers.search(parse_query(text).fts(), limit=1000)}


EXPLICIT = [
    "graph",
    "graphs",
    "diffusion -survey",
    '"language model"',
    '"model language"',
    "robot OR robots",
    "diffusion OR graph -video",
    '-"chain of thought" reason',
    "naive",
    "naïve",
    "unicorn OR model",
    "unicorn",
    '"flow matching" audio',
    "model -model",
    "a",
]


async def test_percolator_matches_exactly_what_search_finds(tmp_path: Path) -> None:
    db = await stored_db(tmp_path / "p.db")
    try:
        rng = random.Random(7)
        queries = list(EXPLICIT)
        for _ in range(150):
            parts = []
            for _ in range(rng.randint(1, 4)):
                word = rng.choice(WORDS)
                roll = rng.random()
                if roll < 0.15:
                    word = f'"{word} {rng.choice(WORDS)}"'
                elif roll < 0.3:
                    word = f"-{word}"
                elif roll < 0.45:
                    word = f"{word} OR {rng.choice(WORDS)}"
                parts.append(word)
            queries.append(" ".join(parts))
        for text in queries:
            try:
                expected = await searched(db, text)
            except QueryError:
                continue
            assert await percolate(db, text) == expected, text
    finally:
        await db.close()


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("percolator") / "corpus.db"

    async def build() -> None:
        db = await stored_db(path)
        await db.close()

    asyncio.run(build())
    return path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([*WORDS, "OR", "-", '"', "NOT"]), min_size=1, max_size=6).map(" ".join))
def test_percolator_equals_search_for_generated_queries(corpus_file: Path, text: str) -> None:
    async def check() -> None:
        db = await Database.open(corpus_file)
        try:
            try:
                expected = await searched(db, text)
            except QueryError:
                return
            assert await percolate(db, text) == expected
        finally:
            await db.close()

    asyncio.run(check())


async def test_only_queries_anchored_on_the_batchs_stems_are_evaluated(tmp_path: Path) -> None:
    db = await stored_db(tmp_path / "p.db")
    try:
        async with db.transaction() as conn:
            for index in range(200):
                await db.queries.ensure(conn, parse_query(f"zzword{index} OR zzother{index}"))
            await db.queries.ensure(conn, parse_query("diffusion audio"))
            async with conn.execute("SELECT pk FROM papers") as cursor:
                pks = [row[0] for row in await cursor.fetchall()]
            await db.queries.prepare_batch(conn, pks)
            stats = await match(conn, db.queries)
            await db.queries.clear_batch(conn)
        assert stats.candidates == 1  # 201 stored queries, one could match
        assert stats.pairs == 1  # "Flow Matching Beats Diffusion on Audio"
    finally:
        await db.close()


def test_set_evaluation_of_groups_and_exclusions() -> None:
    batch = BatchIndex(
        {"model": {1, 2, 3}, "unicorn": {2}, "survey": {2}, "new": {1, 4}, "york": {1, 4}},
        {"new york": {4}},  # as FTS5 decided it
    )
    plan = {"groups": [[["model"]], [["unicorn"], ["pegasus"]]], "excluded": [["survey"]]}
    assert evaluate(plan, batch) == set()  # the only unicorn paper is a survey
    assert evaluate({"groups": [[["model"]]], "excluded": [["new", "york"]]}, batch) == {1, 2, 3}
    assert evaluate({"groups": [[["new"]]], "excluded": [["new", "york"]]}, batch) == {1}
    assert evaluate({"groups": [[["new", "york"], ["unicorn", "model"]]], "excluded": []}, batch) == {4}
    assert evaluate({"groups": [[[]]], "excluded": []}, batch) == set()  # a term without tokens


PHRASE_PAPERS = [
    ("Robots in New York", "Mapping the city of new york with drones."),
    ("New Methods", "York is a city; new results appear."),  # never adjacent
    ("Models of the New", "York streets at night."),  # adjacent only across title and abstract
    ("York New Order", "Deep deep networks and a new, York-based dataset."),  # punctuation between
    ("Deep Learning", "Deep networks learn deep features; new york new york."),
]


@pytest.mark.parametrize(
    "text",
    ['"new york"', '"york new"', '"deep deep"', '"deep networks"', 'new -"new york"', '"new york" OR "deep deep"'],
)
async def test_phrases_agree_with_fts5(tmp_path: Path, text: str) -> None:
    db = await Database.open(tmp_path / "p.db")
    try:
        async with db.transaction() as conn:
            await db.papers.upsert(
                conn,
                [
                    make_paper(f"2611.{20000 + index:05d}", title, abstract=abstract)
                    for index, (title, abstract) in enumerate(PHRASE_PAPERS)
                ],
            )
        assert await percolate(db, text) == await searched(db, text)
    finally:
        await db.close()


async def test_tokenizer_constant_matches_the_index(db: Database) -> None:
    sql = await db.fetchval("SELECT sql FROM sqlite_master WHERE name = 'papers_fts'")
    assert TOKENIZER in sql


async def test_topics_from_schema_2_are_indexed_on_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(f"{MIGRATIONS[0]}\n{MIGRATIONS[1]}\nPRAGMA user_version = 2;")
    conn.execute("INSERT INTO topics (user_id, query, created_at) VALUES (1, 'diffusion', 0)")
    conn.execute("INSERT INTO feeds (guild_id, channel_id, topic, created_at, updated_at) VALUES (1, 2, 'graph', 0, 0)")
    conn.commit()
    conn.close()
    db = await Database.open(path)
    try:
        async with db.transaction() as tx:
            assert await db.queries.index_unindexed(tx) == 2
        assert await db.fetchval("SELECT COUNT(*) FROM topics WHERE query_id IS NULL") == 0
        assert await db.fetchval("SELECT COUNT(*) FROM query_anchors") == 2
    finally:
        await db.close()


async def owe_and_decide(db: Database, stored: StoreResult, now: int | None = None) -> delivery.EnqueueReport:
    """What a store does with its papers' deliveries: owed in its transaction, decided after it."""
    async with db.transaction() as conn:
        await delivery.owe(db, conn, stored, now=now)
    return await decide(db)


async def test_enqueue_is_once_per_target_and_skips_the_baseline(db: Database) -> None:
    papers = corpus()
    async with db.transaction() as conn:
        await db.papers.upsert(conn, papers[:6])
    await subscribe(db, 42, "graph OR diffusion")
    await subscribe(db, 42, "diffusion")
    # What already matched when the topic was added is never sent.
    assert await db.fetchval("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'") == 0
    skipped = await db.fetchval("SELECT COUNT(*) FROM deliveries WHERE status = 'skipped'")
    assert skipped >= 2
    async with db.transaction() as conn:
        stored = await db.papers.upsert(conn, papers)
    report = await owe_and_decide(db, stored)
    # Two topics match "Graphs of Thought: Diffusion over ..." but the user gets it once.
    user_rows = await db.fetchall(
        "SELECT paper_id FROM deliveries WHERE target_kind = 'user' AND status = 'pending' ORDER BY id"
    )
    ids = [row["paper_id"] for row in user_rows]
    assert len(ids) == len(set(ids)) == report.user_rows
    assert "2611.10006" in ids and "2611.10009" in ids
    # Enqueueing the same changes again adds nothing.
    again = await owe_and_decide(db, StoreResult(updated=papers))
    assert again.user_rows == 0
    await unsubscribe(db, 42, "graph OR diffusion")
    await unsubscribe(db, 42, "diffusion")
    assert await db.fetchval("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM queries") == 0


async def test_old_papers_are_not_delivered_and_feeds_filter_in_sql(db: Database) -> None:
    from bot.feeds import save_feed

    await save_feed(db, FeedConfig(guild_id=1, channel_id=2, min_upvotes=10), None)
    old = make_paper("2611.20000", "Ancient Paper", upvotes=99, listed_at=NOW - timedelta(days=30))
    fresh = make_paper("2611.20001", "Fresh Paper", upvotes=12, listed_at=NOW)
    weak = make_paper("2611.20002", "Weak Paper", upvotes=3, listed_at=NOW)
    async with db.transaction() as conn:
        stored = await db.papers.upsert(conn, [old, fresh, weak])
    report = await owe_and_decide(db, stored)
    assert report.channel_rows == 1
    assert await db.deliveries.status_of("channel", 2, "2611.20001") == "pending"


async def test_pruning_never_allows_a_repost(db: Database) -> None:
    from bot.feeds import save_feed

    await save_feed(db, FeedConfig(guild_id=1, channel_id=2), None)
    paper = make_paper("2611.30000", "Recent Enough", upvotes=5, listed_at=NOW)
    async with db.transaction() as conn:
        stored = await db.papers.upsert(conn, [paper])
    await owe_and_decide(db, stored)
    async with db.transaction() as conn:
        await conn.execute("UPDATE deliveries SET status = 'sent', sent_at = 0")
    # Sent long ago by the clock, but the paper is recent: the row must stay (it blocks a re-post).
    assert await delivery.prune(db, now=int(time.time())) == 0
    # Far in the future the paper is old too, and can never be enqueued again: now it may go.
    assert await delivery.prune(db, now=int(time.time()) + 200 * 86_400) == 1
    again = await owe_and_decide(db, StoreResult(updated=[paper]), now=int(time.time()) + 200 * 86_400)
    assert again.channel_rows == 0


def test_plan_json_is_stable(tmp_path: Path) -> None:
    async def run() -> str:
        db = await Database.open(tmp_path / "x.db")
        try:
            async with db.transaction() as conn:
                query_id = await db.queries.ensure(conn, parse_query('"Graph Networks" OR graphs -survey'))
            plan: str = await db.fetchval("SELECT plan FROM queries WHERE id = ?", (query_id,))
            return plan
        finally:
            await db.close()

    plan = json.loads(asyncio.run(run()))
    assert plan == {
        "groups": [[["graph", "network"], ["graph"]]],
        "excluded": [["survei"]],
        "phrases": {"graph network": '"graph networks"'},
    }


async def test_plans_from_before_phrase_texts_are_rebuilt_at_start_up(tmp_path: Path) -> None:
    db = await stored_db(tmp_path / "p.db")
    try:
        async with db.transaction() as conn:
            query_id = await db.queries.ensure(conn, parse_query('"language model" -survey'))
            # How the first schema-3 release stored it: no phrase texts, and no anchors left to trust.
            await conn.execute("UPDATE queries SET plan = json_remove(plan, '$.phrases') WHERE id = ?", (query_id,))
            await conn.execute("DELETE FROM query_anchors WHERE query_id = ?", (query_id,))
            assert await db.queries.index_unindexed(conn) == 1
            assert await db.queries.index_unindexed(conn) == 0
        assert await db.fetchval("SELECT count(*) FROM query_anchors WHERE query_id = ?", (query_id,)) == 1
        assert (
            await percolate(db, '"language model" -survey') == await searched(db, '"language model" -survey') != set()
        )
    finally:
        await db.close()
