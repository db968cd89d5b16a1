"""A whole poll: both sources over HTTP into the real database, through failures and recoveries."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Settings
from bot.db import Database
from bot.db.feeds import FeedConfig
from bot.feeds import save_feed
from bot.models import Source
from bot.poller import Poller, build_http, build_sources
from bot.sources.http import HttpClient
from testing.factories import hf_item
from testing.paper_server import Fault, PaperServer
from testing.paths import DATA, data_json
from testing.sqlite_faults import refusing


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def serve_day(paper_server: PaperServer) -> PaperServer:
    paper_server.hf_days["2026-03-04"] = data_json("hf_daily_2026-03-04.json")
    paper_server.hf_days["2026-03-03"] = data_json("hf_daily_2026-03-03.json")
    paper_server.arxiv_feed = (DATA / "arxiv_2026-03-04.xml").read_bytes()
    return paper_server


def poller_for(db: Database, settings: Settings, clock: Clock) -> tuple[Poller, HttpClient]:
    http = build_http(settings)
    return Poller(db, build_sources(settings, http), interval=settings.poll_interval_seconds, clock=clock), http


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 4, 15, 0, tzinfo=UTC))


async def test_a_poll_merges_both_sources(
    db: Database, serve_day: PaperServer, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    poller, http = poller_for(db, make_settings(), clock)
    async with http:
        report = await poller.poll_once()
    assert {item.name: item.status for item in report.sources} == {"huggingface": "ok", "arxiv": "ok"}
    assert len(report.stored.new) == 8  # 6 from HF + 2 only on arXiv (2 overlap, 1 replacement skipped)
    both = await db.papers.get("2603.01002")
    assert both is not None
    assert both.sources == Source.HF | Source.ARXIV
    assert both.upvotes == 42  # from HF
    assert both.categories == ["cs.LG", "q-bio.BM"]  # from arXiv
    arxiv_only = await db.papers.get("2603.01101")
    assert arxiv_only is not None and arxiv_only.upvotes is None
    assert await db.papers.get("2502.07777") is None  # a replacement is not news


async def test_the_next_poll_updates_upvotes_and_uses_a_conditional_request(
    db: Database, serve_day: PaperServer, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    poller, http = poller_for(db, make_settings(), clock)
    async with http:
        await poller.poll_once()
        items = data_json("hf_daily_2026-03-04.json")
        items[1]["paper"]["upvotes"] = 99
        serve_day.hf_days["2026-03-04"] = items
        clock.advance(900)
        report = await poller.poll_once()
    assert [paper.id for paper in report.stored.updated] == ["2603.01002"]
    assert report.stored.new == []
    assert {item.name: item.status for item in report.sources}["arxiv"] == "not-modified"
    rss = [item for item in serve_day.requests if item.path.startswith("/rss/")]
    assert [item.status for item in rss] == [200, 304]
    paper = await db.papers.get("2603.01002")
    assert paper is not None
    assert paper.upvotes == 99
    assert paper.categories == ["cs.LG", "q-bio.BM"]  # the 304 poll did not erase what arXiv said


async def test_one_failing_source_never_stops_the_other(
    db: Database,
    serve_day: PaperServer,
    make_settings: Callable[..., Settings],
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    serve_day.fail_always("daily_papers", Fault(status=500))
    poller, http = poller_for(db, make_settings(), clock)
    async with http:
        with caplog.at_level(logging.WARNING):
            report = await poller.poll_once()
        assert {item.name: item.status for item in report.sources} == {"huggingface": "failed", "arxiv": "ok"}
        assert not report.all_failed
        assert len(report.stored.new) == 4
        assert any("source huggingface failed" in record.getMessage() for record in caplog.records)
        state = (await db.sources.all())["huggingface"]
        assert state.consecutive_failures == 1
        assert state.last_error and "HTTP 500" in state.last_error

        # While it rests, it is not asked; after the backoff it is, and the papers arrive.
        clock.advance(0.5)
        resting = await poller.poll_once()
        assert {item.name: item.status for item in resting.sources}["huggingface"] == "waiting"
        serve_day.recover()
        clock.advance(1)
        recovered = await poller.poll_once()
    assert {item.name: item.status for item in recovered.sources}["huggingface"] == "ok"
    assert len(recovered.stored.new) == 4  # the four HF-only papers, published while HF was down
    state = (await db.sources.all())["huggingface"]
    assert state.consecutive_failures == 0 and state.last_error is None


async def test_every_source_failing_is_reported(
    db: Database, serve_day: PaperServer, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    serve_day.fail_always("daily_papers", Fault(status=503))
    serve_day.fail_always("arxiv", Fault(status=503))
    poller, http = poller_for(db, make_settings(), clock)
    async with http:
        report = await poller.poll_once()
    assert report.all_failed
    assert await db.papers.count() == 0


async def test_retry_after_sets_the_next_attempt(
    db: Database, serve_day: PaperServer, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    serve_day.fail_always("daily_papers", Fault(status=429, headers={"Retry-After": "300"}))
    poller, http = poller_for(db, make_settings(), clock)
    async with http:
        report = await poller.poll_once()
    hf = next(item for item in report.sources if item.name == "huggingface")
    assert hf.next_attempt_at == clock.now + timedelta(seconds=300)


async def test_backoff_doubles_and_is_capped() -> None:
    poller = Poller(None, [], interval=60)  # type: ignore[arg-type]  # this poller never touches its database
    assert [poller.backoff(n, None).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert poller.backoff(30, None) == timedelta(hours=1)
    assert poller.backoff(1, 7.5) == timedelta(seconds=7.5)


async def test_a_failed_store_does_not_remember_the_etag(
    db: Database, serve_day: PaperServer, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    settings = make_settings()
    http = build_http(settings)
    await save_feed(db, FeedConfig(guild_id=1, channel_id=2), None)
    async with http:
        # A real failure late in the poll's transaction, after the papers are written: owing their deliveries.
        async with refusing(db, "decision_papers"):
            failing = Poller(db, build_sources(settings, http), interval=1, clock=clock)
            with pytest.raises(sqlite3.Error, match="disk full"):
                await failing.poll_once()
            assert await db.papers.count() == 0
            assert await db.sources.all() == {}
        poller = Poller(db, build_sources(settings, http), interval=1, clock=clock)
        report = await poller.poll_once()
    assert len(report.stored.new) == 8
    assert report.queued.channel_rows == 8  # stored papers always come with their deliveries decided
    rss = [item for item in serve_day.requests if item.path.startswith("/rss/")]
    assert "If-None-Match" not in rss[-1].headers  # the lost batch is downloaded again, not skipped


async def test_a_failure_deciding_deliveries_keeps_them_owed_for_the_next_poll(
    db: Database, serve_day: PaperServer, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    """Deciding runs after the papers' commit: if it fails, the poll still succeeds and the next one decides."""
    settings = make_settings()
    http = build_http(settings)
    await save_feed(db, FeedConfig(guild_id=1, channel_id=2), None)
    async with http:
        poller = Poller(db, build_sources(settings, http), interval=1, clock=clock)
        async with refusing(db, "deliveries"):
            report = await poller.poll_once()  # no exception: the poll's own work is done
            assert len(report.stored.new) == 8 and report.queued.channel_rows == 0
            assert await db.fetchval("SELECT COUNT(*) FROM deliveries") == 0
            assert await db.fetchval("SELECT COUNT(*) FROM decision_papers") == 8  # owed, not forgotten
        again = await poller.poll_once()
    assert again.stored.new == [] and again.queued.channel_rows == 8
    assert await db.fetchval("SELECT COUNT(*) FROM decisions") == 0
    assert await db.fetchval("SELECT COUNT(DISTINCT paper_id) FROM deliveries") == 8


@pytest.mark.parametrize(
    "bad_body",
    [b"[{", b'{"not": "a list"}', b"null", b"[1, 2, 3]"],
)
async def test_bad_hf_bodies_log_a_warning_and_the_next_poll_works(
    db: Database,
    serve_day: PaperServer,
    make_settings: Callable[..., Settings],
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
    bad_body: bytes,
) -> None:
    good = serve_day.hf_days["2026-03-04"]
    serve_day.hf_days["2026-03-04"] = bad_body
    serve_day.hf_days["2026-03-03"] = bad_body
    poller, http = poller_for(db, make_settings(arxiv_categories=""), clock)
    async with http:
        with caplog.at_level(logging.WARNING):
            await poller.poll_once()
        assert any("huggingface" in record.getMessage() for record in caplog.records)
        serve_day.hf_days["2026-03-04"] = good
        clock.advance(3600)
        report = await poller.poll_once()
    assert len(report.stored.new) == 5


async def test_partial_batches_store_the_good_entries(
    db: Database, paper_server: PaperServer, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    paper_server.hf_days["2026-03-04"] = [
        hf_item("2603.00001", "Good one"),
        {"paper": {"id": "nope", "title": "bad"}},
        hf_item("2603.00002", "Good two", abstract="x" * 20_000),
    ]
    poller, http = poller_for(db, make_settings(arxiv_categories=""), clock)
    async with http:
        report = await poller.poll_once()
    assert sorted(paper.id for paper in report.stored.new) == ["2603.00001", "2603.00002"]
    assert report.sources[0].skipped == 1


async def test_failing_since_is_the_first_failure_of_the_run(
    db: Database, serve_day: PaperServer, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    """/status says "failing since": the start of the current run of failures, not the latest (issue 12, defect 6)."""
    from bot.render.status import source_line

    serve_day.fail_always("daily_papers", Fault(status=500))
    poller, http = poller_for(db, make_settings(http_retries=0), clock)
    async with http:
        first = clock.now
        await poller.poll_once()
        clock.advance(3600)
        await poller.poll_once()
        state = (await db.sources.all())["huggingface"]
        assert state.consecutive_failures == 2
        assert state.failing_since == first
        assert f"failing since <t:{int(first.timestamp())}:R>" in source_line(state)

        serve_day.recover()
        clock.advance(3600)
        await poller.poll_once()
        assert (await db.sources.all())["huggingface"].failing_since is None
        serve_day.fail_always("daily_papers", Fault(status=500))
        clock.advance(3600)
        await poller.poll_once()
        assert (await db.sources.all())["huggingface"].failing_since == clock.now  # a new run starts now
