"""Core services behind the commands, without Discord: topics, feeds, paper lookup, fallback search, trending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import feeds, subscriptions
from bot.db import Database
from bot.db.feeds import FeedConfig
from bot.delivery import outbox
from bot.errors import UserError
from bot.lookup import find_paper, parse_reference
from bot.models import Source
from bot.query import parse_query
from bot.search import search_hugging_face, trending
from bot.sources.hf import HuggingFaceSource
from bot.sources.http import HttpClient, RetryPolicy
from testing.factories import hf_item, make_paper
from testing.paper_server import Fault, PaperServer
from testing.paths import data_json

NOW = datetime(2026, 3, 4, 12, tzinfo=UTC)


async def store(db: Database, *papers: object) -> None:
    async with db.transaction() as conn:
        await db.papers.upsert(conn, list(papers))  # type: ignore[arg-type]  # callers pass Papers


async def test_subscribe_counts_recent_matches_and_refuses_duplicates(db: Database) -> None:
    await store(
        db,
        make_paper("2603.00001", "Diffusion Models", listed_at=NOW - timedelta(days=2)),
        make_paper("2603.00002", "More Diffusion", listed_at=NOW - timedelta(days=40)),
    )
    result = await subscriptions.subscribe(db, 1, "  Diffusion ", now=NOW)
    assert result.topic.query == "diffusion"
    assert result.recent_matches == 1  # the 40-day-old paper is outside the preview window
    with pytest.raises(UserError, match="already follow"):
        await subscriptions.subscribe(db, 1, "DIFFUSION", now=NOW)
    other = await subscriptions.subscribe(db, 2, "diffusion", now=NOW)  # another user may follow it too
    assert other.topic.user_id == 2


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("!!!", "nothing to search for"), ("-survey", "exclusions"), ("x" * 2000, "2,000 characters"), ("   ", "nothing")],
)
async def test_bad_topics_are_explained(db: Database, text: str, fragment: str) -> None:
    with pytest.raises(UserError, match=fragment):
        await subscriptions.subscribe(db, 1, text)
    assert await db.topics.for_user(1) == []


async def test_topic_limit(db: Database) -> None:
    for index in range(subscriptions.MAX_TOPICS):
        await subscriptions.subscribe(db, 7, f"topic{index}")
    with pytest.raises(UserError, match="25 topics"):
        await subscriptions.subscribe(db, 7, "one more")
    assert len(await db.topics.for_user(7)) == subscriptions.MAX_TOPICS


async def test_unsubscribe_by_text_or_id_and_unknown(db: Database) -> None:
    a = await subscriptions.subscribe(db, 1, '"graph neural" OR gnn')
    await subscriptions.subscribe(db, 1, "robots")
    removed = await subscriptions.unsubscribe(db, 1, '"Graph Neural"   OR GNN')
    assert removed.id == a.topic.id
    long_topic = await subscriptions.subscribe(db, 1, " ".join(f"word{i}" for i in range(10)) + " " + "x" * 60)
    value = subscriptions.choice_value(long_topic.topic)
    assert len(value) <= 100
    assert (await subscriptions.unsubscribe(db, 1, value)).id == long_topic.topic.id
    with pytest.raises(UserError, match="don't follow") as caught:
        await subscriptions.unsubscribe(db, 1, "quantum")
    assert "`robots`" in str(caught.value)
    with pytest.raises(UserError):
        await subscriptions.unsubscribe(db, 2, "robots")  # someone else's topic is not yours to remove


async def test_suggest_only_shows_the_users_own_topics(db: Database) -> None:
    await subscriptions.subscribe(db, 1, "diffusion")
    await subscriptions.subscribe(db, 1, "robots")
    await subscriptions.subscribe(db, 2, "diffusion transformers")
    assert [topic.query for topic in await subscriptions.suggest(db, 1, "dif")] == ["diffusion"]
    assert [topic.query for topic in await subscriptions.suggest(db, 1, "")] == ["diffusion", "robots"]


async def test_feed_config_is_validated_and_saved(db: Database) -> None:
    config = FeedConfig(
        guild_id=10, channel_id=20, min_upvotes=5, mode="digest", digest_hour=8, timezone="Europe/Berlin"
    )
    saved = await feeds.save_feed(db, config, ' "Language Model" -survey ')
    feed, created = saved.feed, saved.created
    assert created
    assert feed.topic == '"language model" -survey'
    assert feed.timezone == "Europe/Berlin"
    resaved = await feeds.save_feed(db, FeedConfig(guild_id=10, channel_id=20), None)
    again, created = resaved.feed, resaved.created
    assert not created
    assert again.id == feed.id
    assert again.topic is None and again.mode == "instant"
    assert [item.channel_id for item in await db.feeds.for_guild(10)] == [20]


@pytest.mark.parametrize(
    ("config", "topic", "fragment"),
    [
        (FeedConfig(guild_id=1, channel_id=2, timezone="Mars/Olympus"), None, "time zone"),
        (FeedConfig(guild_id=1, channel_id=2, min_upvotes=-1), None, "between 0"),
        (FeedConfig(guild_id=1, channel_id=2, sources=Source(0)), None, "at least one source"),
        (FeedConfig(guild_id=1, channel_id=2), "NEAR(", None),
        (FeedConfig(guild_id=1, channel_id=2), "***", "nothing to search for"),
    ],
)
async def test_feed_validation(db: Database, config: FeedConfig, topic: str | None, fragment: str | None) -> None:
    if fragment is None:
        saved = await feeds.save_feed(db, config, topic)
        assert saved.feed.topic == "near"
        return
    with pytest.raises(UserError, match=fragment):
        await feeds.save_feed(db, config, topic)


async def test_remove_feed(db: Database) -> None:
    await feeds.save_feed(db, FeedConfig(guild_id=1, channel_id=2), None)
    assert (await feeds.remove_feed(db, 2)).channel_id == 2
    with pytest.raises(UserError, match="no feed"):
        await feeds.remove_feed(db, 2)


def test_timezone_suggestions() -> None:
    assert feeds.timezone_suggestions("berl") == ["Europe/Berlin"]
    assert feeds.timezone_suggestions("")[0] == "UTC"
    assert len(feeds.timezone_suggestions("a")) == 25


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2401.12345", "2401.12345"),
        ("arXiv:2401.12345v3", "2401.12345"),
        ("https://arxiv.org/pdf/2401.12345v2", "2401.12345"),
        ("<https://huggingface.co/papers/2401.12345>", "2401.12345"),
    ],
)
def test_parse_reference(text: str, expected: str) -> None:
    assert parse_reference(text) == expected


@pytest.mark.parametrize("text", ["not-an-id", "9999.99999", "", "https://example.org", "1234"])
def test_parse_reference_rejects_with_examples(text: str) -> None:
    with pytest.raises(UserError, match=r"arxiv\.org/abs"):
        parse_reference(text)


async def test_find_paper_local_remote_unknown_and_down(db: Database, paper_server: PaperServer) -> None:
    paper_server.hf_papers["2603.01201"] = data_json("hf_paper_2603.01201.json")
    await store(db, make_paper("2603.00001", "Local"))
    async with HttpClient(timeout=2, policy=RetryPolicy(retries=0)) as http:
        hf = HuggingFaceSource(http, paper_server.base_url)
        assert (await find_paper(db, hf, "2603.00001")).title == "Local"
        assert paper_server.requests == []  # local papers never cost a request
        fetched = await find_paper(db, hf, "2603.01201")
        assert fetched.upvotes == 9
        assert await db.papers.get("2603.01201") is not None  # stored for next time
        with pytest.raises(UserError, match="Neither my archive nor Hugging Face"):
            await find_paper(db, hf, "2603.09999")
        paper_server.fail_always("paper", Fault(status=503))
        with pytest.raises(UserError, match="isn't answering"):
            await find_paper(db, hf, "2603.09998")


async def test_hugging_face_fallback_stores_what_it_finds(db: Database, paper_server: PaperServer) -> None:
    paper_server.hf_search_results = [hf_item("2603.07777", "Quantum Annealing for Sparse Coding", upvotes=4)]
    async with HttpClient(timeout=2, policy=RetryPolicy(retries=0)) as http:
        hf = HuggingFaceSource(http, paper_server.base_url)
        found = await search_hugging_face(db, hf, parse_query('"quantum annealing" -survey'), limit=5)
        assert found.answered
        assert [paper.id for paper in found.papers] == ["2603.07777"]
        assert await db.papers.get("2603.07777") is not None  # the next search finds it locally
        assert paper_server.requests[-1].query["q"] == "quantum annealing"  # plain words; exclusions not sent
        nothing = await search_hugging_face(db, hf, parse_query("zebra"))
        assert nothing.answered and nothing.papers == []
        paper_server.fail_always("search", Fault(status=503))
        down = await search_hugging_face(db, hf, parse_query("zebra"))
        assert not down.answered and down.papers == []
    assert await db.papers.count() == 1


async def test_trending_ranks_by_upvotes_and_falls_back_to_the_latest_day(db: Database) -> None:
    latest = NOW - timedelta(days=2, hours=3)
    await store(
        db,
        make_paper("2603.00001", "Few", upvotes=3, listed_at=latest),
        make_paper("2603.00002", "Many", upvotes=90, listed_at=latest + timedelta(hours=1)),
        make_paper("2603.00003", "Old", upvotes=500, listed_at=NOW - timedelta(days=20)),
        make_paper("2603.00004", "No upvotes", upvotes=None, listed_at=latest),
    )
    week = await trending(db, "week", now=NOW)
    assert [paper.id for paper in week.papers] == ["2603.00002", "2603.00001"]
    assert week.since_day is None
    month = await trending(db, "month", limit=1, now=NOW)
    assert [paper.id for paper in month.papers] == ["2603.00003"]
    today = await trending(db, "today", now=NOW)  # nothing in the last 24 hours: the latest listed day instead
    assert [paper.id for paper in today.papers] == ["2603.00002", "2603.00001"]
    assert today.since_day == latest.replace(hour=0, minute=0)


async def test_trending_with_an_empty_archive(db: Database) -> None:
    result = await trending(db, "today", now=NOW)
    assert result.papers == [] and result.since_day is None


async def test_a_paper_looked_up_is_queued_like_a_polled_one(db: Database, paper_server: PaperServer) -> None:
    """Every write of papers decides their deliveries, including a /paper lookup that stores a new paper."""
    await feeds.save_feed(db, FeedConfig(guild_id=1, channel_id=2), None)
    today = datetime.now(UTC).date()
    paper_server.hf_papers["2611.00042"] = hf_item("2611.00042", "Fresh From Hugging Face", day=today)["paper"]
    async with HttpClient(timeout=2, policy=RetryPolicy(retries=0)) as http:
        await find_paper(db, HuggingFaceSource(http, paper_server.base_url), "2611.00042")
    assert await db.deliveries.status_of("channel", 2, "2611.00042") == "pending"


async def test_resuming_dms_says_once_whether_they_were_paused(db: Database) -> None:
    assert not await outbox.resume_dms(db, 7)  # never paused: nothing to tell
    async with db.transaction() as conn:
        await db.users.pause_dms(conn, 7, 50007)
    assert await outbox.resume_dms(db, 7)
    assert not await db.users.is_paused(7)
    assert not await outbox.resume_dms(db, 7)  # told once, not at every command


def test_papers_are_stored_only_through_the_archive() -> None:
    """No entry point may write papers without deciding their deliveries: only bot.archive upserts them."""
    root = Path(__file__).resolve().parents[1]
    writers = sorted(
        path.relative_to(root).as_posix()
        for folder in ("bot", "cogs")
        for path in (root / folder).rglob("*.py")
        if "papers.upsert(" in path.read_text(encoding="utf-8")
    )
    assert writers == ["bot/archive.py"]
