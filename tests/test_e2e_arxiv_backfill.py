"""Issue 15's case end to end: arXiv down for two listing days, back on the third.

The real bot (poller, SQLite, dispatcher, discord.py) runs against the Discord stand-in; the fixture server
plays rss.arxiv.org and arXiv's API from the papers of a shared RSS fixture (read in place), split over four
listing days: the last one seen before the outage, the two missed, and the day arXiv comes back. Every paper
of the three days must be stored and posted exactly once, however many sources and polls saw it.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.config import Settings
from bot.models import Paper
from bot.sources import arxiv_calendar
from bot.sources.arxiv import parse_feed
from testing.arxiv_api import ArxivRecord
from testing.bot_harness import World, bot_settings, build_world, running_bot
from testing.factories import rss_feed, rss_item
from testing.fake_discord import FakeDiscord
from testing.paper_server import Fault, PaperServer
from tests.conftest import shared_fixture
from tests.test_e2e_delivery import add_feed, idle, posted_ids

pytestmark = pytest.mark.e2e

PER_DAY = 10


def listing_days() -> tuple[date, date, date, date]:
    """(last seen before the outage, missed, missed, back) ending with the latest weekday in New York."""
    back = datetime.now(UTC).astimezone(arxiv_calendar.NEW_YORK).date()
    if not arxiv_calendar.is_weekday(back):
        back = arxiv_calendar.previous_weekday(back)
    second = arxiv_calendar.previous_weekday(back)
    first = arxiv_calendar.previous_weekday(second)
    return arxiv_calendar.previous_weekday(first), first, second, back


def feed_of(day: date, papers: list[Paper]) -> bytes:
    """The RSS feed of one listing day, as rss.arxiv.org dates it."""
    pub_date = arxiv_calendar.listing_time(day).astimezone(arxiv_calendar.NEW_YORK).strftime("%a, %d %b %Y %H:%M:%S %z")
    return rss_feed(
        [
            rss_item(
                p.id, p.title, abstract=p.abstract, authors=p.authors, categories=tuple(p.categories), pub_date=pub_date
            )
            for p in papers
        ]
    )


def records_for(day: date, papers: list[Paper]) -> list[ArxivRecord]:
    """The API's view of one listing's papers: submitted through the morning before its cut-off."""
    cutoff_day = arxiv_calendar.previous_weekday(day)
    start = datetime.combine(cutoff_day, datetime.min.time(), arxiv_calendar.NEW_YORK) + timedelta(hours=2)
    return [
        ArxivRecord(
            p.id, p.title, start + index * timedelta(minutes=50), p.abstract, tuple(p.authors), tuple(p.categories)
        )
        for index, p in enumerate(papers)
    ]


async def test_two_listing_days_missed_are_stored_and_posted_once(
    paper_server: PaperServer, make_settings: Callable[..., Settings], fake_discord: FakeDiscord
) -> None:
    papers = [
        p for p in parse_feed(shared_fixture("seeds/arxiv_rss_001.xml").read_bytes()).papers if "cs.LG" in p.categories
    ]
    assert len(papers) >= 4 * PER_DAY
    groups = [papers[i * PER_DAY : (i + 1) * PER_DAY] for i in range(4)]
    days = listing_days()
    before, missed_one, missed_two, back = groups

    paper_server.arxiv_feed = feed_of(days[0], before)
    guild, general, news, admin, member = build_world(fake_discord)
    settings = bot_settings(
        make_settings(poll_interval_seconds=3600, arxiv_api_page_size=7, arxiv_api_interval_seconds=0.1),
        fake_discord,
    )
    async with running_bot(settings, fake_discord) as bot:
        world = World(fake_discord, paper_server, bot, settings, guild, general, news, admin, member)
        assert (await bot.db.sources.get("arxiv")).watermark == days[0].isoformat()
        await add_feed(world)  # the listing already stored is the feed's starting point, not posted

        # arXiv is down for two listing days: the feed, and the API with it.
        paper_server.fail_always("arxiv", Fault(status=503))
        paper_server.fail_always("arxiv_api", Fault(status=503))
        for _ in range(2):
            report = await bot.poller.poll_once(force=True)
            assert {item.name: item.status for item in report.sources}["arxiv"] == "failed"

        # Back on the third: the feed shows only today's listing; the API knows all four days.
        paper_server.recover()
        paper_server.arxiv_feed = feed_of(days[3], back)
        paper_server.arxiv_records = [
            record for day, group in zip(days, groups, strict=True) for record in records_for(day, group)
        ]
        report = await bot.poller.poll_once(force=True)
        assert {item.name: item.status for item in report.sources}["arxiv"] == "ok"
        expected = {p.id for p in itertools.chain(missed_one, missed_two, back)}
        await fake_discord.wait_for(
            lambda: len(fake_discord.messages(news)) >= len(expected), timeout=20, message="the three days posted"
        )
        # Polls after the recovery find no gap and post nothing again.
        await bot.poller.poll_once(force=True)
        await bot.poller.poll_once(force=True)
        await idle(world)

        for paper_id in expected | {p.id for p in before}:
            assert await bot.db.papers.get(paper_id) is not None, paper_id
        posted = Counter(posted_ids(fake_discord.messages(news)))
        assert set(posted) == expected
        assert set(posted.values()) == {1}
        assert (await bot.db.sources.get("arxiv")).watermark == days[3].isoformat()
        api_requests = paper_server.arxiv_api_requests()
        assert [item.status for item in api_requests].count(200) == -(-4 * PER_DAY // 7)  # one back-fill, paged
        gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(api_requests)]
        assert min(gaps) >= 0.1, gaps


async def test_an_api_failure_after_recovery_and_a_restart_lose_and_repeat_nothing(
    paper_server: PaperServer, make_settings: Callable[..., Settings], fake_discord: FakeDiscord
) -> None:
    """arXiv's feed is back but its API fails; the bot is restarted; the next start back-fills the rest."""
    papers = [
        p for p in parse_feed(shared_fixture("seeds/arxiv_rss_002.xml").read_bytes()).papers if "cs.AI" in p.categories
    ]
    per_day = len(papers) // 4
    groups = [papers[i * per_day : (i + 1) * per_day] for i in range(4)]
    days = listing_days()
    before, missed_one, missed_two, back = groups
    paper_server.arxiv_feed = feed_of(days[0], before)
    guild, general, news, admin, member = build_world(fake_discord)
    settings = bot_settings(
        make_settings(arxiv_categories="cs.AI", poll_interval_seconds=3600, arxiv_api_interval_seconds=0.05),
        fake_discord,
    )
    async with running_bot(settings, fake_discord) as bot:
        world = World(fake_discord, paper_server, bot, settings, guild, general, news, admin, member)
        await add_feed(world)
        paper_server.fail_always("arxiv", Fault(status=503))
        await bot.poller.poll_once(force=True)
        paper_server.recover("arxiv")
        paper_server.arxiv_feed = feed_of(days[3], back)
        paper_server.arxiv_records = [
            record for day, group in zip(days, groups, strict=True) for record in records_for(day, group)
        ]
        paper_server.fail_always("arxiv_api", Fault(reset=True))
        report = await bot.poller.poll_once(force=True)
        assert {item.name: item.status for item in report.sources}["arxiv"] == "ok"  # the feed's papers count
        await idle(world)
        assert set(posted_ids(fake_discord.messages(news))) == {p.id for p in back}
        assert (await bot.db.sources.get("arxiv")).watermark == days[0].isoformat()

    paper_server.recover("arxiv_api")
    async with running_bot(settings, fake_discord) as bot:  # a new process life; its first poll back-fills
        world = World(fake_discord, paper_server, bot, settings, guild, general, news, admin, member)
        assert (await bot.db.sources.get("arxiv")).watermark == days[3].isoformat()
        expected = {p.id for p in itertools.chain(missed_one, missed_two, back)}
        await fake_discord.wait_for(
            lambda: len(fake_discord.messages(news)) >= len(expected), timeout=20, message="the missed days posted"
        )
        await bot.poller.poll_once(force=True)
        await idle(world)
        posted = Counter(posted_ids(fake_discord.messages(news)))
        assert set(posted) == expected
        assert set(posted.values()) == {1}
