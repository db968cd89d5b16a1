"""``python -m bot fetch`` and ``search`` as an operator runs them: real subprocesses, real HTTP, real SQLite."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from bot.config import Settings
from bot.db import Database
from bot.db.feeds import FeedConfig
from bot.feeds import save_feed
from testing.bot_harness import bot_settings, build_world, running_bot, serve_today
from testing.fake_discord import FakeDiscord
from testing.paper_server import Fault, PaperServer
from testing.paths import DATA, data_json
from testing.process import Finished, bot_env, run_bot, workdir


async def run_cli(settings: Settings, *args: str) -> Finished:
    return await run_bot(*args, env=bot_env(settings, COLUMNS="100"), cwd=workdir(settings))


@pytest.fixture
def serving(paper_server: PaperServer) -> PaperServer:
    from datetime import UTC, datetime

    today = datetime.now(UTC).date().isoformat()
    paper_server.hf_days[today] = data_json("hf_daily_2026-03-04.json")
    paper_server.arxiv_feed = (DATA / "arxiv_2026-03-04.xml").read_bytes()
    return paper_server


async def test_fetch_prints_a_table_and_a_summary(serving: PaperServer, make_settings: Callable[..., Settings]) -> None:
    code, out, err = await run_cli(make_settings(), "fetch")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].split() == ["id", "upvotes", "title"]
    assert lines[1].startswith("2603.01001")  # most upvoted first
    assert "87" in lines[1]
    assert "2603.01101" in out and "-" in out  # arXiv-only paper: upvotes unknown
    assert lines[-1].startswith("7 new, 0 updated, 0 unchanged")
    assert "huggingface: 5 papers" in lines[-1]
    assert "arxiv: 4 papers" in lines[-1]


async def test_fetch_json_is_machine_readable(serving: PaperServer, make_settings: Callable[..., Settings]) -> None:
    code, out, _ = await run_cli(make_settings(), "fetch", "--json")
    assert code == 0
    data = json.loads(out)
    assert len(data["new"]) == 7
    first = next(item for item in data["new"] if item["id"] == "2603.01002")
    assert first["sources"] == ["hf", "arxiv"]
    assert first["url"] == "https://huggingface.co/papers/2603.01002"
    assert {item["name"]: item["status"] for item in data["sources"]} == {"huggingface": "ok", "arxiv": "ok"}
    code, out, _ = await run_cli(make_settings(), "fetch", "--json")
    data = json.loads(out)
    assert data["new"] == [] and data["unchanged"] >= 5
    assert {item["name"]: item["status"] for item in data["sources"]}["arxiv"] == "not-modified"


async def test_fetch_exits_1_when_every_source_fails(
    paper_server: PaperServer, make_settings: Callable[..., Settings]
) -> None:
    paper_server.fail_always("daily_papers", Fault(status=500))
    paper_server.fail_always("arxiv", Fault(status=500))
    code, out, err = await run_cli(make_settings(http_retries=0), "fetch")
    assert code == 1
    assert "huggingface: FAILED (" in out and "arxiv: FAILED (" in out
    assert "Traceback" not in out + err


async def test_fetch_exits_0_when_one_source_fails(
    serving: PaperServer, make_settings: Callable[..., Settings]
) -> None:
    serving.fail_always("arxiv", Fault(status=503))
    code, out, _ = await run_cli(make_settings(http_retries=0), "fetch")
    assert code == 0
    assert "arxiv: FAILED (HTTP 503" in out


@pytest.mark.e2e
async def test_papers_fetched_by_hand_are_posted_by_the_bot(
    paper_server: PaperServer, make_settings: Callable[..., Settings], fake_discord: FakeDiscord
) -> None:
    """Every write of papers decides their deliveries: a fetch from the command line cannot bypass the outbox."""
    serve_today(paper_server)
    guild, _general, news, _admin, _member = build_world(fake_discord)
    settings = bot_settings(make_settings(poll_interval_seconds=3600), fake_discord)
    db = await Database.open(settings.database_path)
    try:
        await save_feed(db, FeedConfig(guild_id=guild.id, channel_id=news.id), None)
    finally:
        await db.close()
    code, _, err = await run_cli(settings, "fetch")
    assert code == 0, err
    async with running_bot(settings, fake_discord) as bot:  # its first poll finds nothing new
        fetched = await bot.db.papers.count()
        queued = await bot.db.fetchval(
            "SELECT COUNT(*) FROM deliveries WHERE target_kind = 'channel' AND target_id = ?", (news.id,)
        )
        assert fetched > 0 and queued == fetched, f"{queued} deliveries queued for {fetched} fetched papers"
        await fake_discord.wait_for(
            lambda: len(fake_discord.messages(news)) == fetched, timeout=15, message="every fetched paper posted"
        )


async def test_search_after_fetch(serving: PaperServer, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    assert (await run_cli(settings, "fetch"))[0] == 0
    code, out, _ = await run_cli(settings, "search", "graphs", "--sort", "upvotes")
    assert code == 0
    assert out.splitlines()[1].startswith("2603.01002")
    code, out, _ = await run_cli(settings, "search", "reinforcement OR attention", "--json", "--limit", "5")
    data = json.loads(out)
    assert {item["id"] for item in data["results"]} == {"2603.01003", "2603.01005"}
    code, out, _ = await run_cli(settings, "search", "quantum chromodynamics")
    assert code == 0 and "No papers" in out
    code, out, _ = await run_cli(settings, "search", "attention", "--source", "arxiv")
    assert "No papers" in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["search", "!!!"], "nothing to search for"),
        (["search", "--", "-graph"], "exclusions"),
        (["search", "x", "--limit", "0"], "between 1 and 1000"),
        (["search", "x", "--since", "yesterday"], "not a date"),
        (["search", "x", "--sort", "random"], "invalid choice"),
    ],
)
async def test_bad_usage_is_exit_2_with_a_reason(
    make_settings: Callable[..., Settings], args: list[str], fragment: str
) -> None:
    code, _, err = await run_cli(make_settings(), *args)
    assert code == 2
    assert fragment in err
    assert "Traceback" not in err


async def test_fetch_by_hand_ignores_the_rest_period_and_says_so(
    paper_server: PaperServer, make_settings: Callable[..., Settings]
) -> None:
    """A person running fetch wants it to try now, not 'resting after errors' with exit 0 (issue 12, defect 3)."""
    settings = make_settings(http_retries=0, poll_interval_seconds=3600)
    paper_server.fail_always("daily_papers", Fault(status=500))
    paper_server.fail_always("arxiv", Fault(status=500))
    assert (await run_cli(settings, "fetch"))[0] == 1  # both sources now rest for a poll interval
    paper_server.recover()
    serve_today(paper_server)
    code, out, err = await run_cli(settings, "fetch")
    assert code == 0, out + err
    assert "resting after errors until" not in out
    assert "tried now despite" in out
    db = await Database.open(settings.database_path)
    try:
        assert await db.papers.count() > 0
    finally:
        await db.close()


async def test_fetch_exits_1_when_no_source_was_read(
    paper_server: PaperServer, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(http_retries=0, arxiv_categories=[], poll_interval_seconds=3600)
    paper_server.fail_always("daily_papers", Fault(status=500))
    code, out, _ = await run_cli(settings, "fetch")
    assert code == 1
    code, out, _ = await run_cli(settings, "fetch")
    assert code == 1 and "huggingface: FAILED" in out


async def test_search_accepts_a_query_starting_with_a_dash(
    serving: PaperServer, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    assert (await run_cli(settings, "fetch"))[0] == 0
    code, out, err = await run_cli(settings, "search", "-survey", "--limit", "3")
    assert "unrecognized arguments" not in err and "expected one argument" not in err
    assert code == 2 and "exclusions" in err  # a query of only exclusions gets the search's own sentence
    code, out, err = await run_cli(settings, "search", "graphs", "-survey", "--sort", "upvotes")
    assert code == 0, err
    assert out.splitlines()[1].startswith("2603.01002")


async def test_the_fetch_hint_shows_only_when_the_archive_is_empty(
    serving: PaperServer, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    code, out, _ = await run_cli(settings, "search", "graphs")
    assert code == 0 and "python3 dev.py run fetch" in out
    assert (await run_cli(settings, "fetch"))[0] == 0
    code, out, _ = await run_cli(settings, "search", "quantum chromodynamics")
    assert code == 0 and "No papers" in out and "fetch" not in out
