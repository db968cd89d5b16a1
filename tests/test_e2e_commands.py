"""Every command end to end: INTERACTION_CREATE from the Discord stand-in, the real bot, a real database
filled by the real poller from the fixture server. Assertions are on what the user would see."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import pytest

from bot import feeds
from bot.db.feeds import FeedConfig
from bot.query import MAX_QUERY_CHARS
from testing.bot_harness import World
from testing.factories import hf_item
from testing.fake_discord import FakeHTTPError

pytestmark = pytest.mark.e2e


def only(inter: Any) -> Any:
    (message,) = inter.visible
    return message


def text_of(message: Any) -> str:
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.get("title", ""), embed.get("description", ""), embed.get("footer", {}).get("text", "")]
        parts += [f"{item['name']} {item['value']}" for item in embed.get("fields", [])]
    return "\n".join(parts)


# ---- /search --------------------------------------------------------------------------------------------


async def test_search_finds_papers_privately_by_default(world: World) -> None:
    inter = await world.run("search", {"query": "graphs"})
    message = only(inter)
    assert message.ephemeral
    embed = message.embeds[0]
    assert embed["title"] == "🔎 graphs"
    assert "Graph Neural Networks Meet Diffusion" in embed["description"]
    assert message.allowed_mentions == {"parse": []}
    assert world.fake.messages(world.general.id) == []  # nothing public


async def test_search_public_option_shares_the_results(world: World) -> None:
    inter = await world.run("search", {"query": "reinforcement", "public": True})
    message = only(inter)
    assert not message.ephemeral
    assert "Reinforcement Learning from Verifier Feedback" in message.embeds[0]["description"]


async def test_search_sort_and_filters(world: World) -> None:
    inter = await world.run("search", {"query": "we", "sort": "upvotes"})
    description = only(inter).embeds[0]["description"]
    assert description.index("Sparse Mixture") < description.index("Graph Neural")
    inter = await world.run("search", {"query": "we", "source": "arxiv", "min_upvotes": 0})
    assert "Robust Policy Gradients" in only(inter).embeds[0]["description"]
    inter = await world.run("search", {"query": "graphs", "min_upvotes": 1000})
    message = only(inter)
    assert message.ephemeral
    assert "with those filters" in message.content


async def test_search_pages_with_buttons_only_for_the_owner(world: World) -> None:
    inter = await world.run("search", {"query": "we OR the OR a", "sort": "newest", "public": True})
    first = only(inter)
    assert "Page 1" in first.embeds[0]["footer"]["text"]
    buttons = first.components[0]["components"]
    previous, following = buttons
    assert previous["disabled"] is True
    assert following.get("disabled", False) is False
    click = await world.fake.click(first, following["custom_id"], user=world.member)
    await click.wait_done()
    assert "Page 2" in first.embeds[0]["footer"]["text"]
    assert first.embeds[0]["description"].startswith("**6.")
    stranger = await world.fake.click(first, previous["custom_id"], user=world.admin)
    await stranger.wait_done()
    refusal = only(stranger)
    assert refusal.ephemeral
    assert "Only the person who ran this `/search` can page through it" in refusal.content
    assert "Page 2" in first.embeds[0]["footer"]["text"]  # unchanged


async def test_pager_buttons_disable_themselves_when_they_expire(world: World) -> None:
    world.bot.pager_timeout = 0.3
    inter = await world.run("search", {"query": "we OR the"})
    message = only(inter)
    await world.fake.wait_for(
        lambda: all(button.get("disabled") for button in message.components[0]["components"]),
        timeout=5,
        message="buttons disabled after the timeout",
    )


async def test_search_falls_back_to_hugging_face(world: World) -> None:
    world.papers.hf_search_results = [hf_item("2603.07777", "Quantum Annealing for Sparse Coding", upvotes=4)]
    inter = await world.run("search", {"query": "quantum annealing"})
    message = only(inter)
    assert "Quantum Annealing for Sparse Coding" in message.embeds[0]["description"]
    assert "come from Hugging Face search" in message.embeds[0]["description"]
    assert await world.bot.db.papers.get("2603.07777") is not None  # kept for next time


async def test_search_with_no_match_anywhere_says_so(world: World) -> None:
    inter = await world.run("search", {"query": "'; DROP TABLE papers;--"})
    message = only(inter)
    assert message.ephemeral
    assert "Nothing in my archive or on Hugging Face matches" in message.content
    assert await world.bot.db.papers.count() > 0


async def test_search_says_when_hugging_face_search_is_down(world: World) -> None:
    from testing.paper_server import Fault

    world.papers.fail_always("search", Fault(status=503))
    inter = await world.run("search", {"query": "quantum annealing", "public": True})
    # The public "thinking…" placeholder is replaced by a private answer: nobody else sees the failure.
    await world.fake.wait_for(lambda: len(inter.followups) == 1, timeout=5)
    assert inter.original is None
    message = inter.visible[-1]
    assert message.ephemeral
    assert "Nothing in my archive matches **quantum annealing**, and Hugging Face search isn't answering" in (
        message.content
    )
    assert [item for item in world.fake.messages(world.general.id, include_interactions=True) if not item.deleted] == []


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("   ", "nothing to search for"),
        ("x" * 2000, f"keep it under {MAX_QUERY_CHARS}"),
        ("***", "nothing to search for"),
        ("-survey", "exclusions"),
        ("🤖🧠", "nothing to search for"),
    ],
)
async def test_search_bad_input_gets_a_private_explanation(world: World, query: str, fragment: str) -> None:
    inter = await world.run("search", {"query": query})
    message = only(inter)
    assert message.ephemeral
    assert fragment in message.content
    assert inter.response_type == 4  # answered at once, never deferred


@pytest.mark.parametrize("query", ['"foo', "NEAR(", "a OR", "AND graphs"])
async def test_search_fts_syntax_is_just_text(world: World, query: str) -> None:
    inter = await world.run("search", {"query": query})
    assert inter.error is None
    assert only(inter).ephemeral


async def test_search_cooldown_says_when_to_retry(world: World) -> None:
    for _ in range(4):
        await world.run("search", {"query": "graphs"})
    inter = await world.run("search", {"query": "graphs"})
    message = only(inter)
    assert message.ephemeral
    assert "Try again <t:" in message.content
    other = await world.run("search", {"query": "graphs"}, user=world.admin)  # per user, not global
    assert "Graph Neural" in only(other).embeds[0]["description"]


# ---- /paper ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    [
        "2603.01001",
        "2603.01001v2",
        "https://arxiv.org/abs/2603.01001",
        "https://arxiv.org/pdf/2603.01001v1",
        "https://huggingface.co/papers/2603.01001",
    ],
)
async def test_paper_by_any_reference_shows_the_full_card(world: World, reference: str) -> None:
    inter = await world.run("paper", {"id": reference})
    message = only(inter)
    assert not message.ephemeral
    embed = message.embeds[0]
    assert embed["title"] == "Sparse Mixture-of-Experts Transformers for Long-Context Reasoning"
    assert embed["url"] == "https://huggingface.co/papers/2603.01001"
    fields = {item["name"]: item["value"] for item in embed["fields"]}
    assert fields["Upvotes"] == "▲ 87"
    assert "[GitHub](https://github.com/example/sparse-moe)" in fields["Links"]
    assert fields["Authors"] == "Mira Chen, Tomás Oyelaran, Priya Raman"
    assert "**Abstract**" in embed["description"]
    assert world.papers.count("/api/papers/") == 0  # local: no request to Hugging Face


async def test_paper_can_be_shown_privately(world: World) -> None:
    from testing.paths import data_json

    local = only(await world.run("paper", {"id": "2603.01001", "public": False}))
    assert local.ephemeral
    assert local.embeds[0]["title"].startswith("Sparse Mixture-of-Experts")
    world.papers.hf_papers["2603.01201"] = data_json("hf_paper_2603.01201.json")
    inter = await world.run("paper", {"id": "2603.01201", "public": False})
    assert inter.response_type == 5  # deferred privately while asking Hugging Face
    assert only(inter).ephemeral
    assert world.fake.messages(world.general.id, include_interactions=True) == []


async def test_paper_unknown_locally_is_fetched_from_hugging_face(world: World) -> None:
    from testing.paths import data_json

    world.papers.hf_papers["2603.01201"] = data_json("hf_paper_2603.01201.json")
    inter = await world.run("paper", {"id": "2603.01201"})
    message = only(inter)
    assert inter.response_type == 5  # deferred while asking Hugging Face
    assert message.embeds[0]["title"].startswith("Looked Up On Demand")
    assert await world.bot.db.papers.get("2603.01201") is not None


@pytest.mark.parametrize(
    ("reference", "fragment"),
    [
        ("not-an-id", "doesn't look like an arXiv id"),
        ("9999.99999", "doesn't look like an arXiv id"),
        ("2603.09999", "Neither my archive nor Hugging Face knows arXiv:2603.09999"),
    ],
)
async def test_paper_bad_or_unknown_ids_are_explained_privately(world: World, reference: str, fragment: str) -> None:
    inter = await world.run("paper", {"id": reference})
    if inter.response_type == 5:  # the public "thinking…" placeholder is replaced by a private answer
        await world.fake.wait_for(lambda: len(inter.followups) == 1, timeout=5)
        assert inter.original is None
    message = inter.visible[-1]
    assert message.ephemeral
    assert fragment in message.content
    assert [item for item in world.fake.messages(world.general.id, include_interactions=True) if not item.deleted] == []


# ---- /trending ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["today", "week", "month"])
async def test_trending_lists_the_most_upvoted(world: World, period: str) -> None:
    inter = await world.run("trending", {"period": period})
    message = only(inter)
    assert not message.ephemeral
    description = message.embeds[0]["description"]
    assert description.startswith("**1. [")
    order = [
        title for title in ("Scaling Laws for Data Mixtures", "Sparse Mixture", "Graph Neural") if title in description
    ]
    assert order == sorted(order, key=description.index)
    assert "Robust Policy Gradients" not in description  # arXiv-only: no upvotes to rank by


# ---- /subscribe, /unsubscribe, /subscriptions -----------------------------------------------------------


async def test_subscribe_reports_recent_matches(world: World) -> None:
    inter = await world.run("subscribe", {"topic": "Reinforcement"})
    message = only(inter)
    assert message.ephemeral
    assert "You now follow **reinforcement**" in message.content
    assert "would have matched **1 paper** in the last 30 days" in message.content


async def test_subscribe_duplicate_punctuation_and_limit(world: World) -> None:
    await world.run("subscribe", {"topic": "graphs"})
    again = await world.run("subscribe", {"topic": "GRAPHS"})
    assert "already follow **graphs**" in only(again).content
    bad = await world.run("subscribe", {"topic": "?!?!"})
    assert only(bad).ephemeral
    assert "nothing to search for" in only(bad).content
    async with world.bot.db.transaction() as conn:
        for index in range(24):
            await world.bot.db.topics.add(conn, world.member.id, f"topic{index}")
    full = await world.run("subscribe", {"topic": "one too many"})
    assert "25 topics, the most allowed" in only(full).content


async def test_subscriptions_list_autocomplete_and_unsubscribe(world: World) -> None:
    empty = await world.run("subscriptions")
    assert "don't follow any topics yet" in only(empty).content
    await world.run("subscribe", {"topic": "diffusion models"})
    await world.run("subscribe", {"topic": '"language model" OR llm'})
    listing = only(await world.run("subscriptions"))
    assert listing.ephemeral
    assert listing.embeds[0]["title"] == "Your topics (2 of 25)"
    assert '"language model" OR llm' in listing.embeds[0]["description"]
    choices = await world.fake.autocomplete(
        "unsubscribe", {"topic": "lang"}, focused="topic", user=world.member, guild=world.guild, channel=world.general
    )
    assert choices == [{"name": '"language model" OR llm', "value": '"language model" OR llm'}]
    others = await world.fake.autocomplete(
        "unsubscribe", {"topic": ""}, focused="topic", user=world.admin, guild=world.guild, channel=world.general
    )
    assert others == []  # only your own topics
    removed = await world.run("unsubscribe", {"topic": choices[0]["value"]})
    assert "no longer follow" in only(removed).content
    missing = await world.run("unsubscribe", {"topic": "quantum"})
    assert only(missing).ephemeral
    assert "You don't follow a topic matching `quantum`" in only(missing).content


# ---- /feed ----------------------------------------------------------------------------------------------


async def test_feed_add_list_remove(world: World) -> None:
    added = await world.run(
        "feed add",
        {
            "channel": world.news,
            "topic": "graphs OR diffusion",
            "min_upvotes": 10,
            "mode": "digest",
            "digest_hour": 8,
            "timezone": "Europe/Berlin",
            "threads": True,
        },
        user=world.admin,
    )
    message = only(added)
    assert message.ephemeral
    assert f"<#{world.news.id}> will now get papers matching **graphs OR diffusion** from" in message.content
    assert "daily digest at 08:00 Europe/Berlin" in message.content
    listing = only(await world.run("feed list", user=world.admin))
    field = listing.embeds[0]["fields"][0]
    assert field["name"] == "\\#papers"
    assert "✅ active" in field["value"]
    removed = await world.run("feed remove", {"channel": world.news}, user=world.admin)
    assert "Removed the feed" in only(removed).content
    again = await world.run("feed remove", {"channel": world.news}, user=world.admin)
    assert "There is no feed in that channel" in only(again).content


async def test_feed_list_pages_through_every_feed(world: World) -> None:
    channels = [world.fake.add_text_channel(world.guild.id, f"feed-{index:02d}") for index in range(30)]
    for index, channel in enumerate(channels):
        config = FeedConfig(guild_id=world.guild.id, channel_id=channel.id, min_upvotes=index)
        await feeds.save_feed(world.bot.db, config, None)
    inter = await world.run("feed list", user=world.admin)
    message = only(inter)
    assert message.ephemeral
    seen: list[str] = []
    footers: list[str] = []
    while True:
        embed = message.embeds[0]
        assert embed["title"] == "Feeds in this server (30)"
        seen += [item["name"] for item in embed["fields"]]
        footers.append(embed["footer"]["text"])
        previous, following = message.components[0]["components"]
        assert previous.get("disabled", False) is (len(footers) == 1)
        if following.get("disabled", False):
            break
        click = await world.fake.click(message, following["custom_id"], user=world.admin)
        await click.wait_done()
        assert click.error is None
    assert seen == [f"\\#feed-{index:02d}" for index in range(30)]  # every feed, in order, none twice
    assert footers == [
        "Page 1 of 3 · feeds 1–10 of 30",
        "Page 2 of 3 · feeds 11–20 of 30",
        "Page 3 of 3 · feeds 21–30 of 30",
    ]


async def test_feed_list_of_one_page_has_no_buttons(world: World) -> None:
    await world.run("feed add", {"min_upvotes": 1}, user=world.admin, channel=world.news)
    message = only(await world.run("feed list", user=world.admin))
    assert "with at least 1 upvote," in message.embeds[0]["fields"][0]["value"]
    assert not message.components
    assert "footer" not in message.embeds[0]


async def test_feed_defaults_to_this_channel_and_updates_in_place(world: World) -> None:
    await world.run("feed add", user=world.admin, channel=world.news)
    updated = await world.run("feed add", {"min_upvotes": 50}, user=world.admin, channel=world.news)
    assert "now gets every new paper from Hugging Face and arXiv, with at least 50 upvotes" in only(updated).content
    feeds = await world.bot.db.feeds.for_guild(world.guild.id)
    assert [(feed.channel_id, feed.min_upvotes) for feed in feeds] == [(world.news.id, 50)]


async def test_feed_is_hidden_from_members_and_checked_in_code(world: World) -> None:
    schema = next(command for command in world.fake.commands() if command["name"] == "feed")
    assert schema["default_member_permissions"] == str(32)  # Manage Server
    with pytest.raises(FakeHTTPError):  # what the Discord client does for a member without the permission
        await world.fake.invoke("feed list", {}, user=world.member, guild=world.guild, channel=world.general)
    # A server admin can override that per command; the bot must still refuse.
    inter = await world.run("feed add", {}, user=world.member, enforce_default_permissions=False)
    assert only(inter).ephemeral
    assert "Manage Server" in only(inter).content
    assert await world.bot.db.feeds.for_guild(world.guild.id) == []


async def test_feed_refuses_a_channel_the_bot_cannot_post_in(world: World) -> None:
    locked = world.fake.add_text_channel(world.guild.id, "locked", bot_can_send=False, bot_can_embed=False)
    inter = await world.run("feed add", {"channel": locked}, user=world.admin)
    message = only(inter)
    assert "I can't post in" in message.content
    assert "**Send Messages**" in message.content
    assert "**Embed Links**" in message.content
    assert await world.bot.db.feeds.for_guild(world.guild.id) == []


async def test_feed_timezone_autocomplete_and_validation(world: World) -> None:
    choices = await world.fake.autocomplete(
        "feed add", {"timezone": "new_y"}, focused="timezone", user=world.admin, guild=world.guild, channel=world.news
    )
    assert {"name": "America/New_York", "value": "America/New_York"} in choices
    inter = await world.run("feed add", {"mode": "digest", "timezone": "Mars/Olympus"}, user=world.admin)
    assert "not a time zone I know" in only(inter).content


async def test_feed_is_guild_only(world: World) -> None:
    schema = next(command for command in world.fake.commands() if command["name"] == "feed")
    assert schema.get("contexts") == [0] or schema.get("dm_permission") is False


# ---- /status, /help, errors, mentions -------------------------------------------------------------------


async def test_status_reports_sources_archive_and_next_poll(world: World) -> None:
    message = only(await world.run("status"))
    assert message.ephemeral
    fields = {item["name"]: item["value"] for item in message.embeds[0]["fields"]}
    assert fields["Papers stored"] == "8"
    assert fields["Write-ahead log"].endswith(" MiB")
    assert "✅ **Hugging Face**: last successful poll <t:" in fields["Sources"]
    assert "✅ **arXiv**" in fields["Sources"]
    assert fields["Next poll"].startswith("<t:")
    assert fields["Next poll"].endswith("(every hour)")  # POLL_INTERVAL_SECONDS=3600, said for people
    assert "0 feeds, 0 paused" in fields["This server"]


async def test_status_shows_a_failing_source(world: World) -> None:
    from testing.paper_server import Fault

    world.papers.fail_always("arxiv", Fault(status=503))
    world.bot.poller.interval = 60
    await world.bot.poller.poll_once()
    fields = {item["name"]: item["value"] for item in only(await world.run("status")).embeds[0]["fields"]}
    assert "⚠️ **arXiv**: failing since <t:" in fields["Sources"]
    assert "HTTP 503" in fields["Sources"]
    assert "next try <t:" in fields["Sources"]


async def test_status_and_feed_list_show_hostile_feeds_within_limits(world: World) -> None:
    reason = "@everyone **Missing Access** <@&123456789012345678> " * 30
    topic = " OR ".join("verylongwordgoingonandon" + str(index) for index in range(10))
    channels = [world.fake.add_text_channel(world.guild.id, f"chan-{index}") for index in range(12)]
    for channel in channels:
        config = FeedConfig(guild_id=world.guild.id, channel_id=channel.id, min_upvotes=10**4, mode="digest")
        await feeds.save_feed(world.bot.db, config, topic)
    async with world.bot.db.transaction() as conn:
        for channel in channels[:8]:
            await world.bot.db.feeds.disable(conn, channel.id, reason)
    status = await world.run("status")
    assert status.error is None  # the stand-in refuses anything over Discord's limits with 50035
    server = {item["name"]: item["value"] for item in only(status).embeds[0]["fields"]}["This server"]
    assert server.startswith("12 feeds, 8 paused")
    assert "@\u200beveryone \\*\\*Missing Access\\*\\*" in server
    assert "… and 3 more paused" in server
    listing = await world.run("feed list", user=world.admin)
    assert listing.error is None
    message = only(listing)
    assert len(message.embeds[0]["fields"]) == 10
    assert all("@everyone" not in item["value"] for item in message.embeds[0]["fields"])
    click = await world.fake.click(message, message.components[0]["components"][1]["custom_id"], user=world.admin)
    await click.wait_done()
    assert click.error is None
    assert len(message.embeds[0]["fields"]) == 2


async def test_help_lists_every_command(world: World) -> None:
    embed = only(await world.run("help")).embeds[0]
    names = " ".join(item["name"] for item in embed["fields"])
    for command in (
        "/search",
        "/paper",
        "/trending",
        "/subscribe",
        "/unsubscribe",
        "/subscriptions",
        "/feed",
        "/status",
        "/related",
        "/library",
        "/foryou",
        "/why",
        "/mydata",
    ):
        assert command in names
    # Whatever is added later: every command Discord is told about is in /help.
    for registered in world.bot.tree.get_commands():
        assert registered.name == "help" or f"/{registered.name}" in names, registered.name


async def test_an_unexpected_failure_is_logged_and_answered_without_a_traceback(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with sqlite3.connect(world.settings.database_path) as conn:  # a real fault: the topics table disappears
        conn.execute("DROP TABLE topics")
    with caplog.at_level(logging.ERROR):
        inter = await world.run("subscriptions")
    message = only(inter)
    assert message.ephemeral
    assert "Something went wrong on my side (error `" in message.content
    assert "Traceback" not in message.content
    record = next(record for record in caplog.records if record.getMessage().startswith("command failed"))
    assert "/subscriptions by user" in record.getMessage()
    assert record.exc_info is not None


async def test_titles_with_mentions_never_ping(world: World) -> None:
    world.papers.hf_papers["2603.06666"] = dict(
        hf_item("2603.06666", "@everyone look at <@&123456789012345678> and @here")["paper"]
    )
    inter = await world.run("paper", {"id": "2603.06666"})
    message = only(inter)
    assert message.allowed_mentions == {"parse": []}
    assert "@\u200beveryone" in message.embeds[0]["title"]
    assert "\\<@&123456789012345678\\>" in message.embeds[0]["title"]


async def test_every_answer_respects_discord_limits(world: World) -> None:
    long_title = "A " + "very " * 120 + "long title"
    world.papers.hf_papers["2603.05555"] = dict(hf_item("2603.05555", long_title, abstract="word " * 5000)["paper"])
    inter = await world.run("paper", {"id": "2603.05555"})
    assert inter.error is None  # the stand-in answers 50035 on any broken limit
    assert len(only(inter).embeds[0]["title"]) <= 256


# ---- /feed add on an existing feed (issue 12, defect 4) -------------------------------------------------


async def _digest_feed(world: World) -> None:
    options = {"topic": "graphs", "min_upvotes": 10, "source": "huggingface", "mode": "digest"}
    options |= {"digest_hour": 8, "timezone": "Europe/Berlin", "threads": True}
    await world.run("feed add", options, user=world.admin, channel=world.news)


def _settings(feed: Any) -> tuple[Any, ...]:
    return (feed.topic, feed.min_upvotes, int(feed.sources), feed.mode, feed.digest_hour, feed.timezone, feed.threads)


async def test_feed_add_resumes_a_paused_feed_keeping_every_setting(world: World) -> None:
    await _digest_feed(world)
    before = await world.bot.db.feeds.get(world.news.id)
    async with world.bot.db.transaction() as conn:
        await world.bot.db.feeds.disable(conn, world.news.id, "I lost access to the channel")
    listing = only(await world.run("feed list", user=world.admin))
    assert "run `/feed add` here to resume" in listing.embeds[0]["fields"][0]["value"]
    resumed = only(await world.run("feed add", user=world.admin, channel=world.news))
    after = await world.bot.db.feeds.get(world.news.id)
    assert after is not None and before is not None
    assert after.enabled
    assert _settings(after) == _settings(before)
    assert "Resumed" in resumed.content
    assert "daily digest at 08:00 Europe/Berlin" in resumed.content


async def test_feed_add_changes_only_the_options_given_and_says_what_changed(world: World) -> None:
    await _digest_feed(world)
    before = await world.bot.db.feeds.get(world.news.id)
    changed = only(await world.run("feed add", {"min_upvotes": 5}, user=world.admin, channel=world.news))
    after = await world.bot.db.feeds.get(world.news.id)
    assert after is not None and before is not None
    assert after.min_upvotes == 5
    assert _settings(after)[:1] + _settings(after)[2:] == _settings(before)[:1] + _settings(before)[2:]
    assert "minimum upvotes 10 → 5" in changed.content
    same = only(await world.run("feed add", {"min_upvotes": 5}, user=world.admin, channel=world.news))
    assert "Nothing changed" in same.content


async def test_feed_add_refuses_options_that_do_not_apply(world: World) -> None:
    inter = await world.run("feed add", {"digest_hour": 7}, user=world.admin, channel=world.news)
    assert "only for a daily digest" in only(inter).content
    assert await world.bot.db.feeds.get(world.news.id) is None
    await world.run("feed add", user=world.admin, channel=world.news)
    inter = await world.run("feed add", {"timezone": "Europe/Berlin"}, user=world.admin, channel=world.news)
    assert "only for a daily digest" in only(inter).content
    feed = await world.bot.db.feeds.get(world.news.id)
    assert feed is not None and feed.timezone == "UTC"


async def test_feed_add_can_clear_the_topic(world: World) -> None:
    await _digest_feed(world)
    inter = await world.run("feed add", {"topic": "*"}, user=world.admin, channel=world.news)
    feed = await world.bot.db.feeds.get(world.news.id)
    assert feed is not None and feed.topic is None and feed.mode == "digest"
    assert "every new paper" in only(inter).content


async def test_feed_add_says_when_read_message_history_is_missing(world: World) -> None:
    from testing.fake_discord.models import P

    channel = world.fake.add_text_channel(world.guild.id, "no-history")
    assert world.bot.user is not None
    bot_id = world.bot.user.id
    channel.overwrites.append({"id": str(bot_id), "type": 1, "allow": "0", "deny": str(int(P.READ_MESSAGE_HISTORY))})
    world.fake.set_bot_permissions(channel, can_send=True)

    def cached_without_history() -> bool:
        cached = world.bot.get_channel(channel.id)
        me = cached.guild.me if cached is not None else None  # type: ignore[union-attr]  # the stand-in channel is cached in these tests
        return me is not None and not cached.permissions_for(me).read_message_history  # type: ignore[union-attr]  # the stand-in channel is cached in these tests

    await world.fake.wait_for(cached_without_history, timeout=5, message="the bot saw the channel update")
    inter = await world.run("feed add", {"channel": channel}, user=world.admin)
    message = only(inter).content
    assert "**Read Message History**" in message
    assert await world.bot.db.feeds.get(channel.id) is not None  # posting works; only recovery needs it
