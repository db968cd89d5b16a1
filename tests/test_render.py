"""The renderer keeps every Discord limit by construction, for any paper, feed, topic or status however
long or strange, and shows user text as text."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import render
from bot.db.deliveries import Counts
from bot.db.feeds import Feed
from bot.db.sources import SourceState
from bot.db.topics import Topic
from bot.feeds import SavedFeed
from bot.models import Paper, Source
from bot.query import Query, Term
from bot.render import feeds as feed_text
from bot.render import search as search_text
from bot.render import status as status_text
from bot.render import topics as topic_text
from bot.render.base import every, fit_lines, plural
from bot.render.help import HELP, help_embed
from bot.search import PERIODS, Fallback, SearchPage, Trending
from bot.status import Status
from bot.subscriptions import Subscribed
from testing.factories import make_paper

URL = re.compile(r"^https?://\S+$")


def check_embed(data: dict[str, Any]) -> None:
    assert len(data.get("title", "")) <= render.TITLE_MAX
    assert len(data.get("description", "")) <= render.DESCRIPTION_MAX
    fields = data.get("fields", [])
    assert len(fields) <= render.FIELDS_MAX
    for item in fields:
        assert 0 < len(item["name"]) <= render.FIELD_NAME_MAX
        assert 0 < len(item["value"]) <= render.FIELD_VALUE_MAX
    assert len(data.get("footer", {}).get("text", "")) <= render.FOOTER_MAX
    assert len(data.get("author", {}).get("name", "")) <= render.AUTHOR_MAX
    for key in ("url",):
        if key in data:
            assert URL.match(data[key])
    for key in ("thumbnail", "image"):
        if key in data:
            assert URL.match(data[key]["url"])


def check_message(embeds: list[discord.Embed]) -> None:
    assert len(embeds) <= render.MESSAGE_EMBEDS
    dicts: list[dict[str, Any]] = [dict(embed.to_dict()) for embed in embeds]
    for data in dicts:
        check_embed(data)
    assert sum(render.embed_chars(data) for data in dicts) <= render.MESSAGE_EMBED_CHARS


def check_content(text: str) -> None:
    assert 0 < len(text) <= render.CONTENT_MAX


wild_text = st.text(
    alphabet=st.characters(codec="utf-8") | st.sampled_from("*_~`|>#[]()<@!&\\\n "),
    max_size=6000,
)
urls = st.one_of(st.none(), st.from_regex(r"https://[a-z]{1,20}\.org/[a-z0-9/]{0,3000}", fullmatch=True))

papers = st.builds(
    Paper,
    id=st.from_regex(r"\d{2}(0[1-9]|1[0-2])\.\d{5}", fullmatch=True),
    title=wild_text.filter(lambda value: value.strip() != ""),
    abstract=wild_text,
    authors=st.lists(wild_text, max_size=300),
    keywords=st.lists(wild_text, max_size=60),
    ai_summary=st.none() | wild_text,
    upvotes=st.none() | st.integers(min_value=0, max_value=10**9),
    num_comments=st.none() | st.integers(min_value=0, max_value=10**9),
    github_repo=urls,
    github_stars=st.none() | st.integers(min_value=0, max_value=10**9),
    project_page=urls,
    organization=st.none() | wild_text,
    thumbnail=urls,
    categories=st.lists(st.from_regex(r"[a-z]{2}\.[A-Z]{2}", fullmatch=True), max_size=20),
    listed_at=st.none() | st.datetimes(timezones=st.just(UTC), min_value=datetime(2000, 1, 1)),
    published_at=st.none() | st.datetimes(timezones=st.just(UTC), min_value=datetime(2000, 1, 1)),
    sources=st.sampled_from([Source.HF, Source.ARXIV, Source.HF | Source.ARXIV]),
)


@settings(max_examples=150, deadline=None)
@given(papers, st.booleans())
def test_any_paper_card_is_within_limits(paper: Paper, full: bool) -> None:
    check_message([render.paper_card(paper, full=full)])


@settings(max_examples=60, deadline=None)
@given(st.lists(papers, min_size=1, max_size=14))
def test_any_batch_fits_one_message(batch: list[Paper]) -> None:
    check_message(render.paper_embeds(batch))


@settings(max_examples=60, deadline=None)
@given(st.lists(papers, max_size=10), st.lists(wild_text, max_size=3), wild_text)
def test_any_list_embed_is_within_limits(batch: list[Paper], notes: list[str], title: str) -> None:
    check_message([render.paper_list(title or "x", batch, notes=notes, footer=title)])


@given(wild_text)
def test_thread_and_choice_names_fit(value: str) -> None:
    paper = make_paper(title=value or "x")
    assert 0 < len(render.thread_name(paper)) <= render.THREAD_NAME_MAX
    assert 0 < len(render.choice_name(value)) <= render.CHOICE_NAME_MAX


def test_markdown_and_mentions_render_as_text() -> None:
    paper = make_paper(
        title="@everyone **Bold** [click](https://evil.example) <@&123456789012345678> # Heading ||spoiler||",
        authors=["@here", "_Ada_"],
    )
    data = render.paper_card(paper).to_dict()
    assert "@\u200beveryone" in data["title"]
    assert "\\*\\*Bold\\*\\*" in data["title"]
    assert "\\[click\\](https://evil.example)" in data["title"]
    assert "\\<@&123456789012345678\\>" in data["title"]
    assert "\\|\\|spoiler\\|\\|" in data["title"]
    authors = next(item for item in data["fields"] if item["name"] == "Authors")["value"]
    assert authors == "@\u200bhere, \\_Ada\\_"


def test_latex_backslashes_survive_escaping() -> None:
    paper = make_paper(title="$\\mathcal{O}(n)$ in 30\\% of cases")
    assert render.paper_card(paper).title == "$\\\\mathcal{O}(n)$ in 30\\\\% of cases"


def test_card_content() -> None:
    paper = make_paper(
        "2603.01001",
        "Sparse Experts",
        abstract="Long abstract. " * 10,
        ai_summary="The short version.",
        authors=["A", "B", "C", "D", "E"],
        upvotes=87,
        github_repo="https://github.com/x/y",
        github_stars=1200,
        project_page="https://p.org",
        keywords=["moe"],
        thumbnail="https://t.org/x.png",
        organization="Lab",
        categories=["cs.LG"],
        sources=Source.HF | Source.ARXIV,
    )
    data = render.paper_card(paper).to_dict()
    assert data["url"] == "https://huggingface.co/papers/2603.01001"
    assert data["description"].startswith("The short version.")
    fields = {item["name"]: item["value"] for item in data["fields"]}
    assert fields["Authors"] == "A, B, C +2 more"
    assert fields["Upvotes"] == "▲ 87"
    assert "[GitHub](https://github.com/x/y) ★1,200" in fields["Links"]
    assert "[PDF](https://arxiv.org/pdf/2603.01001)" in fields["Links"]
    assert data["footer"]["text"] == "arXiv:2603.01001 · cs.LG · Lab"
    assert data["thumbnail"]["url"] == "https://t.org/x.png"
    full = render.paper_card(paper, full=True).to_dict()
    assert "**Abstract**" in full["description"]
    assert any(item["name"] == "Keywords" for item in full["fields"])


def test_arxiv_only_paper_links_to_arxiv() -> None:
    paper = make_paper("2603.01101", "Only on arXiv", sources=Source.ARXIV, upvotes=None)
    data = render.paper_card(paper).to_dict()
    assert data["url"] == "https://arxiv.org/abs/2603.01101"
    assert all(item["name"] != "Upvotes" for item in data["fields"])
    assert "Hugging Face" not in next(item["value"] for item in data["fields"] if item["name"] == "Links")


def test_ten_long_papers_share_the_6000_budget() -> None:
    batch = [make_paper(f"2603.{i:05d}", "T" * 300, abstract="word " * 3000) for i in range(10)]
    embeds = render.paper_embeds(batch)
    assert len(embeds) == 10
    check_message(embeds)


# ---- everything else the commands show ------------------------------------------------------------------

times = st.datetimes(timezones=st.just(UTC), min_value=datetime(2000, 1, 1))
huge = st.integers(min_value=0, max_value=10**15)
snowflakes = st.integers(min_value=0, max_value=2**64 - 1)
short_text = wild_text.map(lambda value: value[:400])

feeds = st.builds(
    Feed,
    guild_id=snowflakes,
    channel_id=snowflakes,
    topic=st.none() | wild_text,
    min_upvotes=huge,
    sources=st.sampled_from([Source.HF, Source.ARXIV, Source.HF | Source.ARXIV, Source(0)]),
    mode=st.sampled_from(["instant", "digest"]),
    digest_hour=st.integers(min_value=0, max_value=23),
    timezone=wild_text,
    threads=st.booleans(),
    disabled_reason=st.none() | wild_text,
)
source_states = st.builds(
    SourceState,
    name=st.sampled_from(["huggingface", "arxiv"]) | short_text,
    last_success_at=st.none() | times,
    last_error=st.none() | wild_text,
    last_error_at=st.none() | times,
    next_attempt_at=st.none() | times,
    last_count=st.none() | huge,
)
counts = st.builds(Counts, pending=huge, sent_24h=huge, failed=huge)
statuses = st.builds(
    Status,
    started_at=times,
    papers=huge,
    sources=st.lists(source_states, max_size=8),
    enabled_sources=st.just([]),
    next_poll_at=st.none() | times,
    poll_interval=st.integers(min_value=1, max_value=10**9),
    guild_id=st.none() | snowflakes,
    guild_feeds=st.lists(feeds, max_size=30),
    guild_deliveries=counts,
    your_dms=counts,
    dms_paused=st.booleans(),
    owed_decisions=st.integers(min_value=0, max_value=10**12),
)
terms = st.builds(Term, tokens=st.lists(short_text, min_size=1, max_size=4).map(tuple))
queries = st.builds(
    Query,
    groups=st.lists(st.lists(terms, min_size=1, max_size=3).map(tuple), min_size=1, max_size=10).map(tuple),
    excluded=st.lists(terms, max_size=5).map(tuple),
    notes=st.lists(wild_text, max_size=4).map(tuple),
)
topics = st.builds(Topic, id=huge, user_id=snowflakes, query=wild_text, created_at=times)


@settings(max_examples=60, deadline=None)
@given(statuses)
def test_any_status_is_within_limits(report: Status) -> None:
    check_message([status_text.status_embed(report)])


@settings(max_examples=40, deadline=None)
@given(st.lists(feeds, min_size=1, max_size=60), st.dictionaries(snowflakes, st.none() | wild_text))
def test_every_feed_list_page_is_within_limits_and_every_feed_is_listed(
    feed_list: list[Feed], names: dict[int, str | None]
) -> None:
    pages = feed_text.feed_page_count(len(feed_list))
    listed = 0
    for page in range(pages):
        embed = feed_text.feed_list(feed_list, names, page=page)
        check_message([embed])
        listed += len(embed.fields)
    assert listed == len(feed_list)


@settings(max_examples=60, deadline=None)
@given(feeds, st.booleans(), st.booleans(), huge, st.lists(short_text, max_size=6))
def test_feed_answers_fit_one_message(
    feed: Feed, created: bool, backfill: bool, count: int, missing: list[str]
) -> None:
    check_content(feed_text.feed_saved(SavedFeed(feed=feed, created=created, backfilled=count), backfill=backfill))
    check_content(feed_text.cannot_post(feed.channel_id, missing))
    check_content(feed_text.feed_removed(feed.channel_id))


@settings(max_examples=60, deadline=None)
@given(topics, queries, huge)
def test_topic_answers_fit_one_message(topic: Topic, query: Query, count: int) -> None:
    check_content(topic_text.subscribed(Subscribed(topic=topic, query=query, recent_matches=count)))
    check_content(topic_text.unsubscribed(topic))


@settings(max_examples=40, deadline=None)
@given(st.lists(topics, max_size=40))
def test_any_topic_list_is_within_limits(topic_list: list[Topic]) -> None:
    check_message([topic_text.topic_list(topic_list)])


@settings(max_examples=40, deadline=None)
@given(queries, st.lists(papers, max_size=10), st.integers(min_value=0, max_value=10**6), st.booleans(), wild_text)
def test_search_and_fallback_answers_are_within_limits(
    query: Query, batch: list[Paper], page: int, answered: bool, sort: str
) -> None:
    result = SearchPage(query=query, papers=batch, page=page, per_page=5, has_more=True)
    check_message([search_text.search_page(result, sort=sort)])
    found = Fallback(query=query, papers=batch, answered=answered)
    check_message([search_text.fallback_list(found)])
    check_content(search_text.no_fallback(found))
    check_content(search_text.nothing_with_filters(query))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(PERIODS)), st.lists(papers, max_size=10), st.none() | times)
def test_any_trending_answer_is_within_limits(period: str, batch: list[Paper], day: datetime | None) -> None:
    result = Trending(period=period, papers=batch, since_day=day)
    check_message([search_text.trending_list(result)])
    check_content(search_text.nothing_trending(result))


def test_help_fits_and_names_every_command() -> None:
    embed = help_embed()
    check_message([embed])
    assert len(embed.fields) == len(HELP)  # one field per entry, however many commands there are
    names = " ".join(field.name or "" for field in embed.fields)
    for command in ("/search", "/paper", "/trending", "/subscribe", "/feed add", "/feed why", "/why", "/mydata"):
        assert command in names


@given(st.lists(wild_text, max_size=40), st.integers(min_value=20, max_value=5000))
def test_fit_lines_keeps_whole_lines_within_the_limit(lines: list[str], limit: int) -> None:
    result = fit_lines(lines, limit)
    assert len(result) <= limit
    # Either everything, or a prefix of whole lines and then how many were left out.
    cuts = ["\n".join([*lines[:kept], f"… and {len(lines) - kept:,} more"]) for kept in range(len(lines))]
    assert result == "\n".join(lines) or result in cuts


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (1, "every second"),
        (45, "every 45 seconds"),
        (60, "every minute"),
        (900, "every 15 minutes"),
        (3600, "every hour"),
        (5400, "every 1 hour 30 minutes"),
        (86_400 * 2 + 3_600 * 3 + 59, "every 2 days 3 hours"),
    ],
)
def test_intervals_read_as_people_say_them(seconds: int, expected: str) -> None:
    assert every(seconds) == expected


def test_counts_are_words_not_brackets() -> None:
    assert [plural(n, "feed") for n in (0, 1, 2, 1200)] == ["0 feeds", "1 feed", "2 feeds", "1,200 feeds"]
    assert plural(3, "query", "queries") == "3 queries"


def make_feed(**values: Any) -> Feed:
    return Feed(guild_id=1, channel_id=111111111111111111, **values)


def test_status_is_written_for_people() -> None:
    report = Status(
        started_at=datetime(2026, 3, 4, tzinfo=UTC),
        papers=1234,
        guild_deliveries=Counts(pending=10**15, sent_24h=10**15, failed=10**15),
        sources=[
            SourceState("huggingface", last_success_at=datetime(2026, 3, 4, tzinfo=UTC), last_count=1),
            SourceState("arxiv", last_error="HTTP 503 from https://x.org after 1 attempt", last_error_at=None),
        ],
        enabled_sources=["huggingface", "arxiv"],
        next_poll_at=None,
        poll_interval=900,
        guild_id=1,
        guild_feeds=[make_feed(disabled_reason=f"reason {index} " + "x" * 5000) for index in range(7)] + [make_feed()],
    )
    fields = {str(item.name): str(item.value) for item in status_text.status_embed(report).fields}
    assert fields["Next poll"] == "not scheduled (every 15 minutes)"
    assert "1 paper in the last fresh response" in fields["Sources"]
    assert "listings complete" not in fields["Sources"]  # no watermark yet
    assert fields["Papers stored"] == "1,234"
    server = fields["This server"].splitlines()
    assert server[0] == "8 feeds, 7 paused"
    assert len([line for line in server if line.startswith("⛔")]) == 5
    assert server[-1] == "… and 2 more paused (`/feed list` shows all)"
    one = Status(**{**report.__dict__, "guild_feeds": [make_feed()]})
    assert "1 feed, 0 paused" in str(status_text.status_embed(one).fields[-1].value)
    private = Status(**{**report.__dict__, "guild_id": None})
    assert all(item.name != "This server" for item in status_text.status_embed(private).fields)
    assert all(item.name != "Deliveries" for item in status_text.status_embed(report).fields)  # nothing owed
    owed = Status(**{**report.__dict__, "owed_decisions": 1})
    fields = {str(item.name): str(item.value) for item in status_text.status_embed(owed).fields}
    assert fields["Deliveries"].startswith("⏳ the papers of 1 store are still being matched")


def test_feed_and_topic_text_shows_user_text_as_text() -> None:
    hostile = "@everyone **look** <@&123456789012345678> [x](https://evil.example)"
    feed = make_feed(topic=hostile, min_upvotes=1, mode="digest", digest_hour=8, timezone="Europe/Berlin")
    line = feed_text.describe(feed)
    assert line.startswith("papers matching **@\u200beveryone \\*\\*look\\*\\* \\<@&123456789012345678\\>")
    assert "with at least 1 upvote," in line
    assert "daily digest at 08:00 Europe/Berlin" in line
    paused = feed_text.status_line(make_feed(disabled_reason="@here _oops_"))
    assert paused.startswith("⛔ paused: @\u200bhere \\_oops\\_")
    topic = Topic(id=1, user_id=2, query=hostile, created_at=datetime(2026, 3, 4, tzinfo=UTC))
    assert "@\u200beveryone" in topic_text.unsubscribed(topic)
    assert "@\u200beveryone" in str(topic_text.topic_list([topic]).description)
    query = Query(groups=((Term(("@everyone", "_x_")),),))  # tokens are letters and digits; escaped anyway
    assert '**"@\u200beveryone \\_x\\_"**' in search_text.nothing_with_filters(query)


def test_status_shows_the_last_complete_arxiv_listing() -> None:
    """After an outage, a back-fill still owed shows as listings complete only up to the day before it."""
    from bot.render.status import source_line

    ok = SourceState("arxiv", last_success_at=datetime(2026, 3, 4, tzinfo=UTC), watermark="2026-02-27")
    assert source_line(ok).endswith("; listings complete through Fri 27 Feb")
    failing = SourceState("arxiv", last_error="HTTP 503", last_error_at=None, watermark="2026-03-04")
    assert source_line(failing).endswith("HTTP 503; listings complete through Wed 4 Mar")
    assert "listings" not in source_line(SourceState("arxiv", last_success_at=datetime(2026, 3, 4), watermark="?"))
