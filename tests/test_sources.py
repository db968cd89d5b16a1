"""Both sources over real HTTP against the fixture server, including every failure mode."""

from __future__ import annotations

import json
import socket
from datetime import UTC, date, datetime

import pytest

from bot.models import Source
from bot.sources.arxiv import ArxivSource, parse_feed
from bot.sources.hf import HuggingFaceSource, parse_daily_papers
from bot.sources.http import HttpClient, RetryPolicy, SourceError, parse_retry_after
from testing.factories import hf_item, rss_feed, rss_item
from testing.paper_server import Fault, PaperServer
from testing.paths import DATA, data_json

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def http(timeout: float = 2.0, retries: int = 1) -> HttpClient:
    return HttpClient(timeout=timeout, policy=RetryPolicy(retries=retries, backoff=0.01))


# ---- Hugging Face ----------------------------------------------------------------------------------


async def test_hf_reads_today_and_yesterday(paper_server: PaperServer) -> None:
    paper_server.hf_days["2026-03-04"] = data_json("hf_daily_2026-03-04.json")
    paper_server.hf_days["2026-03-03"] = data_json("hf_daily_2026-03-03.json")
    async with http() as client:
        result = await HuggingFaceSource(client, paper_server.base_url).fetch(now=NOW)
    assert {paper.id for paper in result.papers} == {
        "2603.01001",
        "2603.01002",
        "2603.01003",
        "2603.01004",
        "2603.01005",
        "2603.00901",
    }
    assert {item.query["date"] for item in paper_server.requests} == {"2026-03-04", "2026-03-03"}
    assert all(item.query["limit"] == "100" for item in paper_server.requests)
    full = next(paper for paper in result.papers if paper.id == "2603.01001")
    assert full.upvotes == 87
    assert full.ai_summary and full.summary == full.ai_summary
    assert full.keywords == ["mixture of experts", "long-context reasoning", "sparse routing"]
    assert full.github_repo == "https://github.com/example/sparse-moe"
    assert full.project_page == "https://example.org/sparse-moe"
    assert full.organization == "Example Lab"
    assert full.thumbnail and full.thumbnail.startswith("https://")
    assert full.authors == ["Mira Chen", "Tomás Oyelaran", "Priya Raman"]
    assert full.listed_at == datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
    assert full.sources == Source.HF
    assert "User-Agent" in paper_server.requests[0].headers
    assert paper_server.requests[0].headers["User-Agent"].startswith("paperbot/")


async def test_hf_pages_while_a_page_is_full(paper_server: PaperServer) -> None:
    items = [hf_item(f"2603.{10000 + i}", f"Paper number {i}") for i in range(230)]
    paper_server.hf_days["2026-03-04"] = items
    async with http() as client:
        source = HuggingFaceSource(client, paper_server.base_url, lookback_days=1)
        result = await source.fetch(now=NOW)
    assert len(result.papers) == 230
    assert [item.query["p"] for item in paper_server.requests] == ["0", "1", "2"]


async def test_hf_weekend_is_empty_not_an_error(paper_server: PaperServer) -> None:
    paper_server.hf_days["2026-03-07"] = []
    async with http() as client:
        result = await HuggingFaceSource(client, paper_server.base_url).fetch(now=datetime(2026, 3, 8, tzinfo=UTC))
    assert result.papers == []
    assert result.warnings == []


async def test_hf_paper_lookup_and_404(paper_server: PaperServer) -> None:
    paper_server.hf_papers["2603.01201"] = data_json("hf_paper_2603.01201.json")
    async with http() as client:
        source = HuggingFaceSource(client, paper_server.base_url)
        paper = await source.fetch_paper("2603.01201")
        missing = await source.fetch_paper("2603.09999")
    assert paper is not None
    assert paper.title == "Looked Up On Demand: A Paper Only the Paper Endpoint Knows"
    assert paper.upvotes == 9
    assert missing is None


async def test_hf_search(paper_server: PaperServer) -> None:
    paper_server.hf_search_results = data_json("hf_daily_2026-03-04.json")
    async with http() as client:
        hits = await HuggingFaceSource(client, paper_server.base_url).search("molecular graphs")
    assert [paper.id for paper in hits] == ["2603.01002"]
    assert paper_server.requests[-1].query["q"] == "molecular graphs"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'[{"paper": {"id": "2603.1', "malformed JSON"),
        (b"<html>Service Unavailable</html>", "malformed JSON"),
        (b'{"papers": []}', "expected a JSON list"),
        (b'{"error": "Invalid date"}', "API error"),
        (b"\xff\xfe not utf-8", "malformed JSON"),
    ],
)
async def test_hf_unusable_bodies_fail_the_source_with_a_reason(
    paper_server: PaperServer, body: bytes, message: str
) -> None:
    paper_server.hf_days["2026-03-04"] = body
    paper_server.hf_days["2026-03-03"] = body
    async with http() as client:
        with pytest.raises(SourceError, match=message):
            await HuggingFaceSource(client, paper_server.base_url).fetch(now=NOW)


async def test_hf_one_bad_day_keeps_the_other(paper_server: PaperServer) -> None:
    paper_server.hf_days["2026-03-04"] = b"[{truncated"
    paper_server.hf_days["2026-03-03"] = data_json("hf_daily_2026-03-03.json")
    async with http() as client:
        result = await HuggingFaceSource(client, paper_server.base_url).fetch(now=NOW)
    assert [paper.id for paper in result.papers] == ["2603.00901"]
    assert any("malformed JSON" in warning for warning in result.warnings)


def test_hf_bad_entries_are_skipped_and_reported() -> None:
    good = hf_item("2603.00001", "A Good Paper")
    items = [
        good,
        "not an object",
        {"title": "no paper object"},
        {"paper": {"id": "not-an-id", "title": "Bad id"}},
        {"paper": {"id": "2603.00002", "title": "   "}},
        {"paper": {"id": "2603.00003", "title": "Null authors", "authors": None, "upvotes": "many"}},
        {"paper": {"id": "2603.00004", "title": "Long", "summary": "word " * 4000, "authors": [{"name": None}]}},
        {"paper": {"id": 2603.00005, "title": "Numeric id"}},
    ]
    result = parse_daily_papers(items)
    assert [paper.id for paper in result.papers] == ["2603.00001", "2603.00003", "2603.00004"]
    assert len(result.problems) == 5
    nulls = result.papers[1]
    assert nulls.authors == []
    assert nulls.upvotes is None
    assert len(result.papers[2].abstract) == 19_999


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_hf_retries_transient_errors(paper_server: PaperServer, status: int) -> None:
    paper_server.hf_days["2026-03-04"] = [hf_item("2603.00001", "After a retry")]
    paper_server.fail("daily_papers", Fault(status=status, headers={"Retry-After": "0"}))
    async with http(retries=2) as client:
        result = await HuggingFaceSource(client, paper_server.base_url, lookback_days=1).fetch(now=NOW)
    assert [paper.id for paper in result.papers] == ["2603.00001"]
    assert [item.status for item in paper_server.requests] == [status, 200]


async def test_hf_long_retry_after_is_not_slept_through(paper_server: PaperServer) -> None:
    paper_server.fail_always("daily_papers", Fault(status=429, headers={"Retry-After": "600"}))
    async with http(retries=3) as client:
        with pytest.raises(SourceError) as caught:
            await HuggingFaceSource(client, paper_server.base_url, lookback_days=1).fetch(now=NOW)
    assert caught.value.retry_after == 600
    assert paper_server.count("/api/daily_papers") == 1


async def test_hf_gives_up_after_bounded_retries(paper_server: PaperServer) -> None:
    paper_server.fail_always("daily_papers", Fault(status=500))
    async with http(retries=2) as client:
        with pytest.raises(SourceError, match=r"HTTP 500 .* after 3 attempts"):
            await HuggingFaceSource(client, paper_server.base_url, lookback_days=1).fetch(now=NOW)
    assert paper_server.count("/api/daily_papers") == 3


async def test_one_try_is_counted_as_one_attempt(paper_server: PaperServer) -> None:
    paper_server.fail_always("daily_papers", Fault(status=500))
    async with http(retries=0) as client:
        with pytest.raises(SourceError, match=r"HTTP 500 .* after 1 attempt$"):
            await HuggingFaceSource(client, paper_server.base_url, lookback_days=1).fetch(now=NOW)


async def test_hf_404_on_the_list_is_an_error_not_a_retry(paper_server: PaperServer) -> None:
    paper_server.fail_always("daily_papers", Fault(status=404))
    async with http(retries=3) as client:
        with pytest.raises(SourceError, match="HTTP 404"):
            await HuggingFaceSource(client, paper_server.base_url, lookback_days=1).fetch(now=NOW)
    assert paper_server.count("/api/daily_papers") == 1


async def test_connection_refused_is_a_source_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with http(retries=1) as client:
        with pytest.raises(SourceError, match="cannot connect"):
            await HuggingFaceSource(client, f"http://127.0.0.1:{port}", lookback_days=1).fetch(now=NOW)


async def test_a_server_that_never_answers_times_out(paper_server: PaperServer) -> None:
    paper_server.fail_always("daily_papers", Fault(hang=True))
    async with http(timeout=0.3, retries=1) as client:
        with pytest.raises(SourceError, match=r"timed out after 0\.3s"):
            await HuggingFaceSource(client, paper_server.base_url, lookback_days=1).fetch(now=NOW)


async def test_a_reset_connection_is_retried(paper_server: PaperServer) -> None:
    paper_server.hf_days["2026-03-04"] = [hf_item("2603.00001", "After a reset")]
    paper_server.fail("daily_papers", Fault(reset=True))
    async with http(retries=1) as client:
        result = await HuggingFaceSource(client, paper_server.base_url, lookback_days=1).fetch(now=NOW)
    assert [paper.id for paper in result.papers] == ["2603.00001"]


def test_retry_after_parsing() -> None:
    assert parse_retry_after("12") == 12
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past


def test_days_are_utc_dates() -> None:
    source = HuggingFaceSource(http(), "http://x", lookback_days=3)
    late_evening_new_york = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)
    assert source.days(late_evening_new_york) == [date(2026, 3, 4), date(2026, 3, 3), date(2026, 3, 2)]


# ---- arXiv -------------------------------------------------------------------------------------------


def test_arxiv_feed_keeps_new_and_cross_only() -> None:
    result = parse_feed((DATA / "arxiv_2026-03-04.xml").read_bytes())
    assert [paper.id for paper in result.papers] == ["2603.01002", "2603.01101", "2603.01102", "2603.01003"]
    assert result.problems == []
    survey = result.papers[2]
    assert survey.title == "A Survey of Retrieval-Augmented Generation"
    assert survey.abstract.startswith("Retrieval-augmented generation couples")
    assert "Announce Type" not in survey.abstract
    assert survey.categories == ["cs.CL", "cs.LG"]
    assert survey.sources == Source.ARXIV
    assert survey.upvotes is None
    assert survey.listed_at == datetime(2026, 3, 4, 5, 0, tzinfo=UTC)
    robust = result.papers[1]
    assert robust.authors == ["Hana Kobayashi", "Diego Alvarez"]


async def test_arxiv_single_request_for_all_categories_and_304(paper_server: PaperServer) -> None:
    paper_server.arxiv_feed = (DATA / "arxiv_2026-03-04.xml").read_bytes()
    paper_server.arxiv_path = "/rss/cs.AI+cs.LG"
    async with http() as client:
        source = ArxivSource(client, paper_server.rss_base, ["cs.AI", "cs.LG"])
        first = await source.fetch({})
        second = await source.fetch(first.validators)
    assert len(first.papers) == 4
    assert set(first.validators) == {"etag", "last_modified"}
    assert second.not_modified
    assert second.papers == []
    assert [item.status for item in paper_server.requests] == [200, 304]
    assert paper_server.requests[1].headers["If-None-Match"] == first.validators["etag"]


def test_arxiv_empty_skip_day_channel() -> None:
    result = parse_feed(rss_feed([]))
    assert result.papers == []
    assert result.problems == []


def test_arxiv_malformed_xml_keeps_readable_items() -> None:
    good = rss_item("2603.00001", "Readable")
    broken = rss_feed([good]).replace(b"</channel></rss>", b"<item><title>Bare & <broken")
    result = parse_feed(broken)
    assert [paper.id for paper in result.papers] == ["2603.00001"]
    assert any("not well-formed" in problem for problem in result.problems)


def test_arxiv_garbage_is_an_error() -> None:
    with pytest.raises(SourceError, match="not well-formed"):
        parse_feed(b"\x00\x01 this is not xml at all <<<")


def test_arxiv_items_without_ids_or_titles_are_skipped() -> None:
    feed = rss_feed(
        [
            rss_item("2603.00001", "Fine"),
            "<item><title>No link</title><description>Abstract: x</description></item>",
            rss_item("2603.00002", ""),
        ]
    )
    result = parse_feed(feed)
    assert [paper.id for paper in result.papers] == ["2603.00001"]
    assert len(result.problems) == 2


@pytest.mark.parametrize("status", [404, 500])
async def test_arxiv_http_errors(paper_server: PaperServer, status: int) -> None:
    paper_server.fail_always("arxiv", Fault(status=status, body=b"nope"))
    async with http(retries=1) as client:
        with pytest.raises(SourceError, match=f"HTTP {status}"):
            await ArxivSource(client, paper_server.rss_base, ["cs.LG"]).fetch({})


async def test_arxiv_damaged_feed_is_not_remembered(paper_server: PaperServer) -> None:
    paper_server.arxiv_feed = rss_feed([rss_item("2603.00001", "Readable")])[:-20]
    async with http() as client:
        result = await ArxivSource(client, paper_server.rss_base, ["cs.LG"]).fetch({})
    assert [paper.id for paper in result.papers] == ["2603.00001"]
    assert result.validators == {}


def test_hf_json_roundtrip_of_project_fixture_is_stable() -> None:
    # The committed fixture parses without problems: guards against an accidental edit.
    result = parse_daily_papers(json.loads((DATA / "hf_daily_2026-03-04.json").read_text()))
    assert result.problems == []
    assert len(result.papers) == 5


def test_hugging_face_reads_back_over_an_outage() -> None:
    source = HuggingFaceSource(None, "http://127.0.0.1:1")  # type: ignore[arg-type]  # no HTTP client: the call fails before using one
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert len(source.days(now)) == 2
    assert len(source.days(now, since=datetime(2026, 3, 10, 1, tzinfo=UTC))) == 2
    assert source.days(now, since=datetime(2026, 3, 6, 23, tzinfo=UTC))[-1].isoformat() == "2026-03-06"
    assert len(source.days(now, since=datetime(2026, 1, 1, tzinfo=UTC))) == 7
