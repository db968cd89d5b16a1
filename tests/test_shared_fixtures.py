"""Conformance over ../shared/fixtures (real HF capture, seed-derived wire files, edge cases), read in place.

Each test is skipped when ../shared is absent. The files are served by the fixture server and read by the
real sources into the real database, exactly as a poll would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.config import Settings
from bot.db import Database
from bot.models import Source
from bot.poller import Poller, PollReport, build_http, build_sources
from bot.search import search
from bot.sources.arxiv import parse_feed
from bot.sources.hf import dedupe, parse_daily_papers
from testing.paper_server import PaperServer
from tests.conftest import shared_fixture

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def load(relative: str) -> Any:
    return json.loads(shared_fixture(relative).read_text(encoding="utf-8"))


async def poll_served(
    db: Database,
    paper_server: PaperServer,
    make_settings: Callable[..., Settings],
    *,
    hf: bytes | None,
    rss: bytes | None,
) -> PollReport:
    paper_server.hf_days["2026-03-04"] = hf if hf is not None else b"[]"
    paper_server.arxiv_feed = rss
    settings = make_settings(hf_lookback_days=1, arxiv_categories="cs.LG" if rss is not None else "")
    async with build_http(settings) as http:
        poller = Poller(db, build_sources(settings, http), interval=1, clock=lambda: NOW)
        return await poller.poll_once()


# ---- the real 2024 capture ---------------------------------------------------------------------------


async def test_real_capture_2024(
    db: Database, paper_server: PaperServer, make_settings: Callable[..., Settings]
) -> None:
    path = shared_fixture("hf/daily_papers_2024-10-25.json")
    report = await poll_served(db, paper_server, make_settings, hf=path.read_bytes(), rss=None)
    assert len(report.stored.new) == 29
    assert report.sources[0].skipped == 0
    paper = await db.papers.get("2410.17243")
    assert paper is not None
    assert paper.title == "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    assert "\n" not in paper.abstract
    assert paper.upvotes == 64
    assert paper.authors[0] == "Zesen Cheng"
    assert paper.listed_at == datetime(2024, 10, 25, 0, 57, 9, tzinfo=UTC)  # no submittedOnDailyAt: outer publishedAt
    assert paper.thumbnail == "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2410.17243.png"
    assert paper.ai_summary is None and paper.summary.endswith(".")
    raw = load("hf/daily_papers_2024-10-25.json")
    hidden = [
        (item["paper"]["id"], author["name"])
        for item in raw
        for author in item["paper"]["authors"]
        if author.get("hidden")
    ]
    assert hidden, "the capture has a hidden author"
    for paper_id, name in hidden:
        stored = await db.papers.get(paper_id)
        assert stored is not None and name in stored.authors  # still an author of the paper
    latex = [item["paper"]["id"] for item in raw if "\\%" in item["paper"]["summary"]]
    assert latex
    stored = await db.papers.get(latex[0])
    assert stored is not None and "\\%" in stored.abstract  # LaTeX kept verbatim
    assert (await search(db, "contrastive loss")).papers[0].id == "2410.17243"


def test_real_2026_item_maps_every_optional_field() -> None:
    item = load("hf/daily_papers_item_2026-03-06_2602.23229.json")
    result = parse_daily_papers([item])
    assert result.problems == []
    (paper,) = result.papers
    assert paper.id == "2602.23229"
    assert paper.upvotes == 10
    assert paper.github_repo == "https://github.com/marco-garosi/CIRCLE"
    assert paper.github_stars == 9
    assert paper.project_page == "https://circle-lmm.github.io/"
    assert paper.organization == "Multimedia and Human Understanding Group"
    assert paper.ai_summary and paper.summary == paper.ai_summary
    assert "in-context learning" in paper.keywords
    assert paper.listed_at == datetime(2026, 3, 6, 3, 55, 12, tzinfo=UTC)
    assert paper.published_at == datetime(2026, 2, 26, 17, 8, 18, tzinfo=UTC)
    assert paper.num_comments == 1
    assert len(paper.authors) == 5


# ---- seeds: the same papers in both wire formats ------------------------------------------------------


@pytest.mark.parametrize("number", ["000", "001", "002"])
def test_seed_files_agree_across_formats(number: str) -> None:
    hf = parse_daily_papers(load(f"seeds/hf_daily_papers_{number}.json"))
    rss_path = shared_fixture(f"seeds/arxiv_rss_{number}.xml")
    rss = parse_feed(rss_path.read_bytes())
    assert hf.problems == [] and rss.problems == []
    hf_by_id = {paper.id: paper for paper in hf.papers}
    total_items = rss_path.read_bytes().count(b"<item>")
    replacements = rss_path.read_bytes().count(b"<arxiv:announce_type>replace")
    assert len(rss.papers) == total_items - replacements
    assert len(hf.papers) == total_items
    for paper in rss.papers:
        twin = hf_by_id[paper.id]
        assert paper.title == twin.title  # HF hard-wraps about a quarter of titles: normalised away
        assert paper.authors == twin.authors
        assert paper.abstract == twin.abstract


async def test_seeds_store_and_merge(
    db: Database, paper_server: PaperServer, make_settings: Callable[..., Settings]
) -> None:
    hf = shared_fixture("seeds/hf_daily_papers_001.json").read_bytes()
    rss = shared_fixture("seeds/arxiv_rss_001.xml").read_bytes()
    report = await poll_served(db, paper_server, make_settings, hf=hf, rss=rss)
    assert len(report.stored.new) == 61
    both = await db.fetchval("SELECT COUNT(*) FROM papers WHERE sources = 3")
    assert both == 50
    organisations = await db.fetchval("SELECT COUNT(*) FROM papers WHERE organization IS NOT NULL")
    assert organisations >= 4


# ---- edge cases --------------------------------------------------------------------------------------


def test_edge_missing_optional_fields() -> None:
    result = parse_daily_papers(load("edge/hf_missing_optional_fields.json"))
    assert result.problems == []
    assert len(result.papers) == 6
    complete, minimal = result.papers[0], result.papers[1]
    assert complete.github_repo and complete.project_page and complete.organization and complete.keywords
    assert minimal.thumbnail is None and minimal.num_comments is None and minimal.github_repo is None
    empty_abstract = [paper for paper in result.papers if paper.abstract == ""]
    assert empty_abstract and empty_abstract[0].summary == ""


def test_edge_null_authors() -> None:
    result = parse_daily_papers(load("edge/hf_null_authors.json"))
    assert result.problems == []
    by_title = {paper.title: paper for paper in result.papers}
    assert by_title["Authors Is null"].authors == []
    assert any(len(paper.authors) == 100 for paper in result.papers)
    assert all(name for paper in result.papers for name in paper.authors)  # null and "" names dropped


def test_edge_long_abstract() -> None:
    (long, *_rest) = parse_daily_papers(load("edge/hf_long_abstract_20000_chars.json")).papers
    assert len(long.abstract) == 20_000
    assert len(long.summary) <= 1_500  # the AI summary as given, bounded further by the renderer


def test_edge_titles_with_newlines_and_markdown() -> None:
    result = parse_daily_papers(load("edge/hf_titles_newlines_markdown.json"))
    assert result.problems == []
    for paper in result.papers:
        assert "\n" not in paper.title and "\r" not in paper.title and "\t" not in paper.title
        assert paper.title == paper.title.strip()
    assert any("@everyone" in paper.title for paper in result.papers)  # kept as text; the renderer defuses it


def test_edge_emoji_and_rtl() -> None:
    result = parse_daily_papers(load("edge/hf_emoji_rtl.json"))
    assert result.problems == []
    assert all("\u202e" not in paper.title for paper in result.papers)
    assert any("🤖" in paper.title for paper in result.papers)
    assert any(any("\u0600" <= char <= "\u06ff" for char in paper.title) for paper in result.papers)


def test_edge_version_suffix_ids() -> None:
    result = parse_daily_papers(load("edge/hf_id_with_version_suffix.json"))
    assert [paper.id for paper in result.papers] == ["2603.90051", "2603.90052"]


def test_edge_duplicates_collapse_to_one_record_with_the_highest_counts() -> None:
    raw = load("edge/hf_duplicate_entries.json")
    papers = dedupe(parse_daily_papers(raw).papers)
    assert len(papers) == 2
    repeated = next(paper for paper in papers if paper.id == "2603.90061")
    highest = max(item["paper"]["upvotes"] for item in raw if item["paper"]["id"] == "2603.90061")
    assert repeated.upvotes == highest


async def test_edge_empty_weekend_and_truncated(
    db: Database, paper_server: PaperServer, make_settings: Callable[..., Settings]
) -> None:
    weekend = shared_fixture("edge/hf_empty_weekend.json").read_bytes()
    report = await poll_served(db, paper_server, make_settings, hf=weekend, rss=None)
    assert report.sources[0].status == "ok" and report.stored.new == []
    truncated = shared_fixture("edge/hf_truncated.json").read_bytes()
    report = await poll_served(db, paper_server, make_settings, hf=truncated, rss=None)
    assert report.sources[0].status == "failed"
    assert "malformed JSON" in (report.sources[0].error or "")


def test_edge_rss_replace_only_and_skipday() -> None:
    assert parse_feed(shared_fixture("edge/arxiv_rss_replace_only.xml").read_bytes()).papers == []
    skipday = parse_feed(shared_fixture("edge/arxiv_rss_empty_skipday.xml").read_bytes())
    assert skipday.papers == [] and skipday.problems == []


def test_edge_rss_malformed_keeps_the_readable_items() -> None:
    result = parse_feed(shared_fixture("edge/arxiv_rss_malformed.xml").read_bytes())
    assert [paper.id for paper in result.papers][:1] == ["2603.90091"]
    assert any("not well-formed" in problem for problem in result.problems)
    assert all(paper.title for paper in result.papers)


def test_edge_rss_entities_and_latex() -> None:
    result = parse_feed(shared_fixture("edge/arxiv_rss_entities_latex.xml").read_bytes())
    first, second = result.papers[:2]
    assert first.title == "$\\pi$-Play & $\\mathcal{O}(n^2)$ Bounds for \\textsc{Edge} Cases"
    assert "$\\alpha < \\beta$" in first.abstract and "$x > 0$" in first.abstract
    assert "30\\%" in first.abstract
    assert "<script>" not in first.abstract and "alert(1)" not in first.abstract
    assert "<b>" not in first.abstract and "not bold" in first.abstract
    assert first.authors == ["Jürgen Müller", "Zoë O'Brien", "Ana María López-Álvarez"]
    assert second.title == "Title With HTML Tags and an Ampersand & Sign"
    assert "https://example.org/a?b=1&c=2" in second.abstract
    assert first.sources == Source.ARXIV
