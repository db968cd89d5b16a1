"""The arXiv back-fill: the listing calendar, and the RSS source with arXiv's API over real HTTP.

The feed of tests/data/arxiv_2026-03-04.xml is Wednesday's listing. With Friday 27 February as the last
listing stored, Monday's and Tuesday's listings were missed: their papers come from the API fixture.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.config import Settings
from bot.db import Database
from bot.db.feeds import FeedConfig
from bot.db.sources import SourceState
from bot.feeds import save_feed
from bot.models import Paper
from bot.poller import Poller, build_http, build_sources
from bot.sources import arxiv_calendar
from bot.sources.arxiv import ArxivSource
from bot.sources.arxiv_api import ArxivApi, parse_page, query
from bot.sources.arxiv_calendar import Window, backfill_window, expected_listing, missed_listings
from bot.sources.base import FetchResult
from bot.sources.http import HttpClient, RetryPolicy, Spacing
from testing import arxiv_api
from testing.arxiv_api import ArxivRecord
from testing.factories import rss_feed, rss_item
from testing.paper_server import Fault, PaperServer
from testing.paths import DATA
from testing.sqlite_faults import refusing

NY = arxiv_calendar.NEW_YORK
FRIDAY, MONDAY, TUESDAY, WEDNESDAY = date(2026, 2, 27), date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)
RSS_IDS = {"2603.01002", "2603.01101", "2603.01102", "2603.01003"}  # new and cross; the replacement is not news


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A New York wall-clock time, as an aware datetime."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY)


# ---- the calendar ------------------------------------------------------------------------------------


def test_weekends_are_not_missed_listings() -> None:
    assert missed_listings(FRIDAY, MONDAY) == []
    assert missed_listings(TUESDAY, WEDNESDAY) == []
    assert missed_listings(FRIDAY, WEDNESDAY) == [MONDAY, TUESDAY]
    assert backfill_window(FRIDAY, MONDAY, max_days=10) is None


@pytest.mark.parametrize(
    ("submitted", "listing"),
    [
        (at(MONDAY, 10), TUESDAY),  # before Monday's 14:00 cut-off: announced Monday evening
        (at(MONDAY, 15), WEDNESDAY),
        (at(FRIDAY, 13, 59), MONDAY),  # announced Sunday evening
        (at(FRIDAY, 14), TUESDAY),  # after Friday's cut-off: Monday evening
        (at(date(2026, 2, 28), 9), TUESDAY),  # Saturday
    ],
)
def test_the_usual_listing_of_a_submission(submitted: datetime, listing: date) -> None:
    assert expected_listing(submitted) == listing


def test_the_window_starts_before_the_last_stored_listing_s_cutoff_and_ends_with_the_seen_one() -> None:
    assert backfill_window(FRIDAY, WEDNESDAY, max_days=10) == Window(date(2026, 2, 26), TUESDAY)
    clipped = backfill_window(date(2025, 6, 2), WEDNESDAY, max_days=10)
    assert clipped == Window(date(2026, 2, 22), TUESDAY, clipped=True) and clipped.days == 10


# New York's clocks go forward on 8 March 2026 and back on 1 November: submissions just before the cut-offs.
@example(covered=date(2026, 3, 6), gap=3, offset=3 * 24 * 60 + 17 * 60 + 30)  # Mon 13:30 EDT, for Tuesday
@example(covered=date(2026, 10, 30), gap=3, offset=18 * 60 + 30)  # Fri 14:30 EDT, for Tuesday
@example(covered=date(2026, 10, 30), gap=3, offset=3 * 24 * 60 + 18 * 60 + 30)  # Mon 13:30 EST, for Tuesday
@given(
    covered=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)).filter(arxiv_calendar.is_weekday),
    gap=st.integers(min_value=1, max_value=12),
    offset=st.integers(min_value=-6 * 24 * 60, max_value=14 * 24 * 60),
)
def test_no_submission_of_a_missed_listing_falls_outside_the_window(covered: date, gap: int, offset: int) -> None:
    """Whatever the gap (weekends, DST changes), a paper normally on a missed listing is asked for."""
    seen = covered
    for _ in range(gap):
        seen = arxiv_calendar.next_weekday(seen)
    window = backfill_window(covered, seen, max_days=60)
    submitted = datetime.combine(covered, datetime.min.time(), UTC) + timedelta(minutes=offset)
    if expected_listing(submitted) in missed_listings(covered, seen):
        assert window is not None
        assert window.first <= submitted.date() <= window.last


def test_the_query_is_in_arxiv_s_syntax() -> None:
    window = Window(date(2026, 2, 26), WEDNESDAY)
    assert query(["cs.AI", "cs.LG"], window) == (
        "(cat:cs.AI OR cat:cs.LG) AND submittedDate:[202602260000 TO 202603042359]"
    )
    assert query(["math"], window).startswith("cat:math.* AND ")  # a whole archive


# ---- the source over HTTP ----------------------------------------------------------------------------


def http(timeout: float = 2.0) -> HttpClient:
    return HttpClient(timeout=timeout, policy=RetryPolicy(retries=1, backoff=0.01))


def source(
    client: HttpClient, server: PaperServer, *, page_size: int = 10, interval: float = 0.02, days: int = 10
) -> ArxivSource:
    api = ArxivApi(client, server.arxiv_api_base, ["cs.LG"], page_size=page_size, spacing=Spacing(interval))
    return ArxivSource(client, server.rss_base, ["cs.LG"], api=api, backfill_days=days)


def missed_records(count: int = 25) -> list[ArxivRecord]:
    """``count`` cs.LG papers submitted for Monday's and Tuesday's listings, and three that are not asked for."""
    start = at(FRIDAY, 10)  # 10:00 Friday (Monday's listing) to Monday morning (Tuesday's)
    step = (at(MONDAY, 13) - start) / count
    wanted = [ArxivRecord(f"2602.{60000 + i}", f"Missed paper {i}", start + i * step) for i in range(count)]
    return [
        *wanted,
        ArxivRecord("2602.69001", "Too old to be missed", at(date(2026, 2, 25), 9)),
        ArxivRecord("2602.69002", "Another category", at(MONDAY, 9), categories=("cs.CV",)),
        ArxivRecord("2602.69003", "Cross-listed to cs.LG", at(MONDAY, 9, 30), categories=("stat.ML", "cs.LG")),
    ]


@pytest.fixture
def outage(paper_server: PaperServer) -> PaperServer:
    """Wednesday's feed is back; the API knows the papers of the two listings missed before it."""
    paper_server.arxiv_feed = (DATA / "arxiv_2026-03-04.xml").read_bytes()
    paper_server.arxiv_records = missed_records()
    return paper_server


MISSED_IDS = {f"2602.{60000 + i}" for i in range(25)} | {"2602.69003"}


async def test_the_first_fetch_only_sets_the_watermark(outage: PaperServer) -> None:
    async with http() as client:
        result = await source(client, outage).fetch()
    assert {paper.id for paper in result.papers} == RSS_IDS
    assert result.watermark == "2026-03-04"
    assert outage.arxiv_api_requests() == []


@pytest.mark.parametrize("covered", ["2026-03-03", "2026-03-04", "2026-03-05"])
async def test_no_gap_no_api(outage: PaperServer, covered: str) -> None:
    async with http() as client:
        result = await source(client, outage).fetch(watermark=covered)
    assert {paper.id for paper in result.papers} == RSS_IDS
    assert result.watermark == ("2026-03-04" if covered < "2026-03-04" else None)  # never moves back
    assert outage.arxiv_api_requests() == []


async def test_a_weekend_is_not_a_gap(paper_server: PaperServer) -> None:
    monday = "Mon, 02 Mar 2026 00:00:00 -0500"
    paper_server.arxiv_feed = rss_feed([rss_item("2603.00001", "Monday paper", pub_date=monday)])
    async with http() as client:
        result = await source(client, paper_server).fetch(watermark="2026-02-27")
    assert result.watermark == "2026-03-02"
    assert paper_server.arxiv_api_requests() == []


async def test_missed_listings_are_read_page_by_page(outage: PaperServer) -> None:
    async with http() as client:
        result = await source(client, outage, page_size=10).fetch(watermark="2026-02-27")
    assert {paper.id for paper in result.papers} == RSS_IDS | MISSED_IDS
    assert result.watermark == "2026-03-04" and result.warnings == []
    requests = outage.arxiv_api_requests()
    assert [item.query["start"] for item in requests] == ["0", "10", "20"]
    assert {item.query["max_results"] for item in requests} == {"10"}
    assert requests[0].query["search_query"] == "cat:cs.LG AND submittedDate:[202602260000 TO 202603032359]"
    missed = {paper.id: paper for paper in result.papers}
    assert missed["2602.60000"].listed_at == arxiv_calendar.listing_time(MONDAY)
    assert missed["2602.60024"].listed_at == arxiv_calendar.listing_time(TUESDAY)
    assert missed["2602.60000"].authors == ["Grace Hopper"]
    assert missed["2602.69003"].categories == ["stat.ML", "cs.LG"]


async def test_requests_are_spaced_by_the_interval_even_retries(outage: PaperServer) -> None:
    interval = 0.25
    outage.fail("arxiv_api", Fault(status=503))  # the first request is retried, also after the interval
    async with http() as client:
        result = await source(client, outage, page_size=10, interval=interval).fetch(watermark="2026-02-27")
    assert result.watermark == "2026-03-04"
    arrivals = [item.at for item in outage.arxiv_api_requests()]
    assert len(arrivals) == 4
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert min(gaps) >= interval, gaps


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(Fault(status=503), id="5xx"),
        pytest.param(Fault(status=200, body=b"<?xml version='1.0'?><feed><entry><title>cut"), id="malformed"),
        pytest.param(Fault(status=200, body=b"<html>maintenance</html>"), id="not-atom"),
        pytest.param(Fault(status=200, body=b""), id="empty-body"),
        pytest.param(Fault(hang=True), id="timeout"),
        pytest.param(Fault(reset=True), id="reset"),
    ],
)
async def test_a_failed_backfill_keeps_the_watermark_and_the_next_poll_finishes_it(
    outage: PaperServer, fault: Fault
) -> None:
    outage.fail_always("arxiv_api", fault)
    async with http(timeout=0.3) as client:
        failed = await source(client, outage).fetch(watermark="2026-02-27")
        # The feed's own papers are not held back, but nothing marks the missed listings as done.
        assert {paper.id for paper in failed.papers} == RSS_IDS
        assert failed.watermark is None
        assert failed.validators == {}  # the next poll reads the feed again instead of a 304
        assert any("back-fill of submissions 2026-02-26..2026-03-03 failed" in w for w in failed.warnings)
        outage.recover("arxiv_api")
        again = await source(client, outage).fetch(failed.validators, watermark="2026-02-27")
    assert {paper.id for paper in again.papers} == RSS_IDS | MISSED_IDS
    assert again.watermark == "2026-03-04"


async def test_an_empty_page_with_results_left_fails_the_backfill(outage: PaperServer) -> None:
    """arXiv's API sometimes answers a page with no entries though results remain: that is not the end."""
    wanted = arxiv_api.select(outage.arxiv_records, query_for_window())
    page0 = arxiv_api.feed(wanted[:10], total=len(wanted), start=0, per_page=10)
    page1 = arxiv_api.feed([], total=len(wanted), start=10, per_page=10)
    outage.fail("arxiv_api", Fault(status=200, body=page0), Fault(status=200, body=page1))
    async with http() as client:
        result = await source(client, outage, page_size=10).fetch(watermark="2026-02-27")
    assert result.watermark is None
    assert any(f"empty page at 10 of {len(wanted)}" in warning for warning in result.warnings)
    assert {paper.id for paper in result.papers} == RSS_IDS  # nothing from a half-read back-fill


def query_for_window() -> arxiv_api.Query:
    parsed = arxiv_api.parse_query(
        {"search_query": query(["cs.LG"], Window(date(2026, 2, 26), TUESDAY)), "max_results": "100"}
    )
    assert isinstance(parsed, arxiv_api.Query)
    return parsed


async def test_a_long_absence_backfills_only_the_last_days(outage: PaperServer) -> None:
    async with http() as client:
        result = await source(client, outage, days=3).fetch(watermark="2025-06-02")
    assert result.watermark == "2026-03-04"
    assert outage.arxiv_api_requests()[0].query["search_query"].endswith("[202603010000 TO 202603032359]")
    assert any("ARXIV_BACKFILL_MAX_DAYS=3" in warning for warning in result.warnings)


async def test_backfill_off_moves_the_watermark_without_asking(outage: PaperServer) -> None:
    async with http() as client:
        result = await source(client, outage, days=0).fetch(watermark="2026-02-27")
    assert result.watermark == "2026-03-04"
    assert outage.arxiv_api_requests() == []


async def test_a_damaged_feed_does_not_move_the_watermark(paper_server: PaperServer) -> None:
    paper_server.arxiv_feed = (DATA / "arxiv_2026-03-04.xml").read_bytes()[:-200]
    async with http() as client:
        result = await source(client, paper_server).fetch(watermark="2026-02-27")
    assert result.watermark is None
    assert paper_server.arxiv_api_requests() == []


# ---- through the poller and the database -----------------------------------------------------------


async def test_a_restart_during_the_outage_still_backfills(
    db: Database, outage: PaperServer, make_settings: Callable[..., Settings]
) -> None:
    """The watermark is in the database: a new process (new poller, new HTTP client) picks it up."""
    settings = make_settings(arxiv_api_page_size=10)
    clock = lambda: datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # noqa: E731
    friday = rss_feed([rss_item("2602.50001", "Friday paper", pub_date="Fri, 27 Feb 2026 00:00:00 -0500")])
    wednesday = outage.arxiv_feed

    async def poll() -> None:
        http_client = build_http(settings)
        async with http_client:
            report = await Poller(db, build_sources(settings, http_client), interval=1, clock=clock).poll_once()
        assert {item.name: item.status for item in report.sources}["arxiv"] == "ok"

    outage.arxiv_feed = friday
    await poll()
    assert (await db.sources.get("arxiv")).watermark == "2026-02-27"
    outage.arxiv_feed = wednesday
    outage.fail_always("arxiv_api", Fault(status=502))
    await poll()  # the feed's papers are stored; the missed listings are not, and the watermark says so
    assert (await db.sources.get("arxiv")).watermark == "2026-02-27"
    assert await db.papers.get("2603.01002") is not None and await db.papers.get("2602.60000") is None
    outage.recover()
    await poll()  # a new process
    assert (await db.sources.get("arxiv")).watermark == "2026-03-04"
    for paper_id in MISSED_IDS | RSS_IDS:
        assert await db.papers.get(paper_id) is not None, paper_id


def test_fetch_result_leaves_the_watermark_alone_by_default() -> None:
    assert FetchResult(source="x").watermark is None


# ---- odd pages -----------------------------------------------------------------------------------------


def test_a_wrong_encoding_declaration_still_reads_every_entry() -> None:
    record = ArxivRecord("2603.00001", "Café théorie", at(MONDAY, 9), authors=("Zoë Ångström",))
    body = arxiv_api.feed([record], total=1, start=0, per_page=10).replace(b'encoding="UTF-8"', b'encoding="us-ascii"')
    page = parse_page(body, latest=WEDNESDAY)
    assert [paper.title for paper in page.papers] == ["Café théorie"]
    assert page.papers[0].authors == ["Zoë Ångström"]
    assert page.entries == 1 and page.total == 1 and len(page.problems) == 1


async def test_an_unusable_entry_is_skipped_and_paging_goes_on(outage: PaperServer) -> None:
    outage.arxiv_records = [
        ArxivRecord(f"2602.{61000 + i}", "" if i == 3 else f"Paper {i}", at(MONDAY, 1) + timedelta(minutes=i))
        for i in range(12)
    ]
    async with http() as client:
        result = await source(client, outage, page_size=5).fetch(watermark="2026-02-27")
    assert len(outage.arxiv_api_requests()) == 3
    assert {paper.id for paper in result.papers} == RSS_IDS | {f"2602.{61000 + i}" for i in range(12) if i != 3}
    assert result.skipped == 1 and any("2602.61003: no title" in warning for warning in result.warnings)
    assert result.watermark == "2026-03-04"


async def test_an_error_entry_fails_the_backfill(outage: PaperServer) -> None:
    outage.fail("arxiv_api", Fault(status=200, body=arxiv_api.error_feed("malformed query")))
    async with http() as client:
        result = await source(client, outage).fetch(watermark="2026-02-27")
    assert result.watermark is None
    assert any("arXiv API error: malformed query" in warning for warning in result.warnings)


async def test_a_query_the_api_cannot_read_fails_cleanly(outage: PaperServer) -> None:
    """The fixture answers like arXiv (HTTP 400 and an Error entry); the bot reports it and keeps the feed."""
    async with http() as client:
        api = ArxivApi(client, outage.arxiv_api_base, ["cs.LG"], page_size=10, spacing=Spacing(0.01))
        api.url += "?search_query=nonsense"  # what a future change to the query syntax could send
        arxiv = ArxivSource(client, outage.rss_base, ["cs.LG"], api=api, backfill_days=10)
        result = await arxiv.fetch(watermark="2026-02-27")
    assert result.watermark is None and {paper.id for paper in result.papers} == RSS_IDS
    assert [item.status for item in outage.arxiv_api_requests()] == [400]  # not retried: it would not help
    assert any("HTTP 400" in warning for warning in result.warnings)


class BrokenApi(ArxivApi):
    async def fetch(self, window: Window, *, latest: date) -> tuple[list[Paper], list[str]]:
        raise RuntimeError("a bug in the back-fill")


async def test_a_bug_in_the_backfill_does_not_hold_back_the_feed(outage: PaperServer) -> None:
    async with http() as client:
        api = BrokenApi(client, outage.arxiv_api_base, ["cs.LG"], page_size=10, spacing=Spacing(0.01))
        result = await ArxivSource(client, outage.rss_base, ["cs.LG"], api=api, backfill_days=10).fetch(
            watermark="2026-02-27"
        )
    assert {paper.id for paper in result.papers} == RSS_IDS
    assert result.watermark is None and any("a bug in the back-fill" in warning for warning in result.warnings)


async def test_a_crash_part_way_through_a_chunked_backfill_loses_and_repeats_nothing(
    db: Database, outage: PaperServer, make_settings: Callable[..., Settings]
) -> None:
    """A back-fill is stored in chunks (short write locks); the watermark commits with the last one only."""
    settings = make_settings()
    clock = lambda: datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # noqa: E731
    await save_feed(db, FeedConfig(guild_id=1, channel_id=2), None)
    async with db.transaction() as conn:
        await db.sources.save(conn, SourceState(name="arxiv", watermark="2026-02-27"))
    http_client = build_http(settings)
    async with http_client:
        poller = Poller(db, build_sources(settings, http_client), interval=1, clock=clock, store_chunk=10)
        # A real failure in the third chunk: SQLite refuses one paper of it.
        async with refusing(db, "papers", when="NEW.arxiv_id = '2602.60022'"):
            with pytest.raises(sqlite3.Error, match="disk full"):
                await poller.poll_once()
            assert await db.papers.count() == 20  # two chunks committed, each with its deliveries owed
            assert await db.fetchval("SELECT COUNT(*) FROM decision_papers") == 20
            assert await db.fetchval("SELECT COUNT(*) FROM deliveries") == 0  # deciding comes after the last chunk
            assert (await db.sources.get("arxiv")).watermark == "2026-02-27"
        report = await poller.poll_once()
    assert (await db.sources.get("arxiv")).watermark == "2026-03-04"
    assert len(report.stored.new) == len(RSS_IDS | MISSED_IDS) - 20 and report.stored.unchanged == 20
    assert report.queued.channel_rows == len(RSS_IDS | MISSED_IDS)  # the owed 20 first, then this poll's
    assert report.queued.decisions == 2
    rows = await db.fetchall("SELECT paper_id, COUNT(*) AS n FROM deliveries GROUP BY paper_id")
    assert len(rows) == len(RSS_IDS | MISSED_IDS) and {row["n"] for row in rows} == {1}


async def test_a_whole_archive_category_asks_for_its_subjects(outage: PaperServer) -> None:
    """ARXIV_CATEGORIES=cs is one feed for RSS; the API is asked for cat:cs.* (papers carry subject classes)."""
    outage.arxiv_records = [
        ArxivRecord("2603.00011", "A robotics paper", at(MONDAY, 9), categories=("cs.RO",)),
        ArxivRecord("2603.00012", "A maths paper", at(MONDAY, 9), categories=("math.CO",)),
    ]
    async with http() as client:
        api = ArxivApi(client, outage.arxiv_api_base, ["cs"], page_size=10, spacing=Spacing(0.01))
        result = await ArxivSource(client, outage.rss_base, ["cs"], api=api, backfill_days=10).fetch(
            watermark="2026-02-27"
        )
    assert "2603.00011" in {paper.id for paper in result.papers}
    assert "2603.00012" not in {paper.id for paper in result.papers}
    assert outage.arxiv_api_requests()[0].query["search_query"].startswith("cat:cs.* AND ")


async def test_a_window_with_more_results_than_arxiv_pages_through_is_read_in_halves(outage: PaperServer) -> None:
    """arXiv pages through at most 30,000 results of one query; a larger window is split by days."""
    async with http() as client:
        api = ArxivApi(client, outage.arxiv_api_base, ["cs.LG"], page_size=4, spacing=Spacing(0.01), max_results=12)
        result = await ArxivSource(client, outage.rss_base, ["cs.LG"], api=api, backfill_days=10).fetch(
            watermark="2026-02-27"
        )
    assert {paper.id for paper in result.papers} == RSS_IDS | MISSED_IDS
    assert result.watermark == "2026-03-04"
    windows = {item.query["search_query"].split("submittedDate:")[1] for item in outage.arxiv_api_requests()}
    assert "[202602260000 TO 202603032359]" in windows  # asked once, 26 results: too many
    assert "[202602260000 TO 202602282359]" in windows and "[202603010000 TO 202603032359]" in windows


class FixedSource:
    """A source that always returns the same papers (this test is about the poller's chunks, not fetching)."""

    name = "huggingface"

    def __init__(self, papers: list[Paper]) -> None:
        self.papers = papers

    async def fetch(self, *args: object, **kwargs: object) -> FetchResult:
        return FetchResult(source=self.name, papers=list(self.papers))


async def test_chunks_give_members_daily_dm_slots_to_the_same_papers_as_one_batch(db: Database) -> None:
    """The DM cap fills a member's slots with the batch's most upvoted matches; chunking must not change who wins."""
    from bot.delivery.plan import DM_DAILY_CAP
    from bot.subscriptions import subscribe
    from testing.factories import make_paper

    noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    batch = [
        make_paper(f"2611.{20000 + n:05d}", f"A benchmark study {n}", upvotes=n, listed_at=noon - timedelta(minutes=n))
        for n in range(3 * DM_DAILY_CAP)
    ]  # the best are last, as in a back-fill's ascending submission order
    await subscribe(db, 4242, "benchmark")
    report = await Poller(db, [FixedSource(batch)], interval=60, clock=lambda: noon, store_chunk=20).poll_once()
    rows = await db.fetchall("SELECT paper_id FROM deliveries WHERE target_kind = 'user' ORDER BY paper_id")
    best = sorted(batch, key=lambda paper: -(paper.upvotes or 0))[:DM_DAILY_CAP]
    assert [row["paper_id"] for row in rows] == sorted(paper.id for paper in best)
    assert report.queued.user_rows == DM_DAILY_CAP and report.queued.user_held == 2 * DM_DAILY_CAP
