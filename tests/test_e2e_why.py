"""/feed why and /why end to end: the real poller fills the archive, the real dispatcher posts, and the
explanation the admin or member reads names the rule that decided each paper's fate."""

from __future__ import annotations

from typing import Any

import pytest

from testing.bot_harness import World, today
from testing.factories import hf_item
from tests.test_e2e_delivery import add_feed, idle, posted_ids, publish

pytestmark = pytest.mark.e2e

_next_id = iter(range(70001, 79999))


def item(title: str, *, upvotes: int) -> dict[str, Any]:
    paper_id = f"2612.{next(_next_id):05d}"
    return hf_item(paper_id, title, upvotes=upvotes, day=today(), abstract=f"We present {title.lower()}.")


def private_text(inter: Any) -> str:
    assert inter.error is None, inter.error
    (message,) = inter.visible
    assert message.ephemeral
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
    return "\n".join(parts)


def line(text: str, label: str) -> str:
    (found,) = [row for row in text.splitlines() if f"**{label}" in row]
    return found


async def feed_why(world: World, paper_id: str, **options: Any) -> str:
    inter = await world.run(
        "feed why", {"paper": paper_id, "channel": world.news, **options}, user=world.admin, channel=world.general
    )
    return private_text(inter)


async def test_feed_why_names_the_rule_that_decided_each_paper(world: World) -> None:
    await add_feed(world, topic="diffusion", min_upvotes=10)
    sent, low, off_topic = publish(
        world,
        item("Diffusion Policies for Robots", upvotes=12),
        item("Tiny Diffusion Tricks", upvotes=3),
        item("Sparse Attention Again", upvotes=40),
    )
    await world.bot.poller.poll_once()
    await idle(world)
    assert posted_ids(world.fake.messages(world.news)) == [sent]

    text = await feed_why(world, sent)
    assert "✅ **Delivery:** sent" in text
    message = world.fake.messages(world.news)[0]
    assert f"https://discord.com/channels/{world.guild.id}/{world.news.id}/{message.id}" in text
    assert line(text, "Topic").startswith("✅")
    assert line(text, "Feed start").startswith("✅")

    text = await feed_why(world, low)
    upvotes = line(text, "Upvotes")
    assert upvotes.startswith("❌") and "3 upvotes, below the feed's minimum of 10" in upvotes
    assert "a later poll still posts it" in upvotes  # listed today: a rise within three days still counts
    assert line(text, "Topic").startswith("✅")
    assert "none queued" in line(text, "Delivery")

    text = await feed_why(world, off_topic)
    topic = line(text, "Topic")
    assert topic.startswith("❌") and "does not match" in topic and "✘ diffusion" in topic
    assert line(text, "Upvotes").startswith("✅")

    # Listed yesterday, in the archive since the first poll, before the feed existed: the baseline skipped it.
    text = await feed_why(world, "2603.01002")
    assert line(text, "Feed start").startswith("❌")
    assert "already listed when the feed was added" in line(text, "Delivery")
    assert "✔ diffusion" in line(text, "Topic")


async def test_feed_why_refuses_bad_input_privately(world: World) -> None:
    await add_feed(world)
    cases = {
        "not a paper": "doesn't look like an arXiv id",
        "2612.99999": "isn't in my archive",
    }
    for paper, fragment in cases.items():
        inter = await world.run("feed why", {"paper": paper}, user=world.admin, channel=world.news)
        assert fragment in private_text(inter)
    no_feed = await world.run("feed why", {"paper": "2603.01002", "channel": world.general}, user=world.admin)
    assert "There is no feed in that channel" in private_text(no_feed)
    # Discord hides the command from members without Manage Server; the bot checks it as well.
    member = await world.run(
        "feed why",
        {"paper": "2603.01002", "channel": world.news},
        user=world.member,
        enforce_default_permissions=False,  # a server admin opened the command to everyone
    )
    assert "Manage Server" in private_text(member)


async def test_why_explains_a_members_dms(world: World) -> None:
    assert "you follow none" in private_text(await world.run("why", {"paper": "2603.01002"}))
    await world.run("subscribe", {"topic": "robots"})
    await world.run("subscribe", {"topic": "diffusion -molecular"})
    got, missed = publish(world, item("Diffusion Policies for Robots", upvotes=1), item("Sparse Attention", upvotes=1))
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.dm_messages(world.member)) == 1, timeout=10, message="DM")
    await idle(world)  # the stand-in has the DM before the bot commits it as sent: /why must see the commit
    (dm,) = world.fake.dm_messages(world.member)

    text = await private_text_of(world, got)
    assert line(text, "Your topic** `robots`").startswith("✅")
    assert f"/@me/{dm.channel_id}/{dm.id}" in line(text, "Delivery")
    assert "1 of 50 DM papers sent to you today" in line(text, "Daily limit")
    assert line(text, "DMs").startswith("✅")

    text = await private_text_of(world, missed)
    assert "none of your topics matches it" in line(text, "Delivery")
    # In the archive before the topics existed, and excluded by one of them: both said plainly.
    text = await private_text_of(world, "2603.01002")
    assert "has excluded -molecular" in line(text, "Your topic** `diffusion -molecular`")
    assert "unknown" not in text.lower()

    for paper, fragment in {"2612.99999": "isn't in my archive", "x": "doesn't look like an arXiv id"}.items():
        assert fragment in private_text(await world.run("why", {"paper": paper}))


async def private_text_of(world: World, paper_id: str) -> str:
    return private_text(await world.run("why", {"paper": paper_id}))


async def test_feed_why_shows_a_failed_delivery_and_the_paused_feed(world: World) -> None:
    await add_feed(world)
    world.fake.set_channel_error(world.news.id, status=403, code=50013, message="Missing Permissions")
    (paper_id,) = publish(world, item("Refused Paper", upvotes=5))
    await world.bot.poller.poll_once()
    await idle(world)

    text = await feed_why(world, paper_id)
    delivery = line(text, "Delivery")
    assert delivery.startswith("❌") and "Discord error 50013: Missing Permissions" in delivery
    assert "Missing Permissions" in line(text, "Feed paused") and "`/feed add`" in line(text, "Feed paused")
