"""/mydata export and delete end to end: the JSON file the member downloads, the confirmation button, and
that deleting removes what it says, keeps nothing else, and never leads to a paper being DM'd twice."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.mydata import EXPORT_NAME
from testing.bot_harness import World, today
from testing.factories import hf_item
from testing.fake_discord import FakeInvocationError
from tests.test_e2e_delivery import idle, posted_ids, publish

pytestmark = pytest.mark.e2e

_next_id = iter(range(60001, 69999))


def item(title: str, abstract: str = "We present a method.") -> dict[str, Any]:
    return hf_item(f"2612.{next(_next_id):05d}", title, upvotes=2, day=today(), abstract=abstract)


def button(message: Any, label: str) -> str:
    for row in message.components:
        for component in row.get("components", []):
            if component.get("label") == label:
                return str(component["custom_id"])
    raise AssertionError(f"no {label!r} button on {message.components}")


async def export(world: World) -> dict[str, Any]:
    inter = await world.run("mydata export")
    assert inter.error is None
    (message,) = inter.visible
    assert message.ephemeral
    document: dict[str, Any] = json.loads(world.fake.attachment_bytes(message, EXPORT_NAME))
    return document


async def dm_rows(world: World) -> list[Any]:
    return await world.bot.db.fetchall(
        "SELECT paper_id, status, topic_id, message_id FROM deliveries WHERE target_kind = 'user' AND target_id = ?",
        (world.member.id,),
    )


async def test_mydata_export_then_delete_and_no_second_dm_after_subscribing_again(world: World) -> None:
    empty = await export(world)
    assert empty["topics"] == [] and empty["deliveries_last_30_days"] == []

    await world.run("subscribe", {"topic": "robots"})
    await world.run("subscribe", {"topic": "quantum"}, user=world.admin)
    (sent,) = publish(world, item("Diffusion Policies for Robots"))
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.dm_messages(world.member)) == 1, timeout=10, message="DM")
    # DMs closed: the next paper waits, pending, and the member is paused.
    world.fake.close_dms(world.member)
    (waiting,) = publish(world, item("Robots That Wait"))
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: world.fake.stats["by_status"].get(403, 0) >= 1, timeout=10, message="refused")
    await idle(world)

    document = await export(world)
    assert [topic["query"] for topic in document["topics"]] == ["robots"]
    history = {row["paper_id"]: row for row in document["deliveries_last_30_days"]}
    assert history[sent]["status"] == "sent" and history[sent]["message_id"]
    assert history[waiting]["status"] in ("pending", "sending")
    assert document["direct_messages"]["paused_at"] is not None

    inter = await world.run("mydata delete")
    (prompt,) = inter.visible
    assert prompt.ephemeral and "cannot be undone" in prompt.content
    assert await world.bot.db.topics.for_user(world.member.id) != []  # nothing happens before the button
    confirm = button(prompt, "Delete my data")
    pressed = await world.fake.click(prompt, confirm, user=world.member)
    await pressed.wait_done(timeout=10)
    answer = world.fake.message_by_id(prompt.id)
    assert answer is not None
    assert "Deleted 1 topic, your DM settings, 1 pending DM paper" in answer.content
    assert "never get one twice" in answer.content
    with pytest.raises(FakeInvocationError):  # the buttons are gone: a second press cannot delete twice
        await world.fake.click(prompt, confirm, user=world.member)

    # What is left: one sent row, stripped, for the recent paper a poll could enqueue again. Nothing else.
    assert [tuple(row) for row in await dm_rows(world)] == [(sent, "sent", None, None)]
    assert await world.bot.db.users.state(world.member.id) is None
    assert [topic.query for topic in await world.bot.db.topics.for_user(world.admin.id)] == ["quantum"]

    # Subscribing again, to a topic the sent paper only matches after Hugging Face edits its abstract.
    world.fake.open_dms(world.member)
    await world.run("subscribe", {"topic": "manipulation"})
    days: Any = world.papers.hf_days
    for listed in days[today().isoformat()]:
        if listed["paper"]["id"] == sent:
            listed["paper"]["summary"] = listed["summary"] = "Dexterous manipulation with diffusion policies."
    await world.bot.poller.poll_once()
    await idle(world)
    assert posted_ids(world.fake.dm_messages(world.member)) == [sent]  # the first DM only, never again
    assert waiting not in posted_ids(world.fake.dm_messages(world.member))


async def test_mydata_delete_cancel_and_nothing_stored(world: World) -> None:
    await world.run("subscribe", {"topic": "robots"})
    inter = await world.run("mydata delete")
    (prompt,) = inter.visible
    pressed = await world.fake.click(prompt, button(prompt, "Cancel"), user=world.member)
    await pressed.wait_done(timeout=10)
    assert world.fake.message_by_id(prompt.id).content == "Nothing was deleted."  # type: ignore[union-attr]  # the prompt message exists in the stand-in
    assert [topic.query for topic in await world.bot.db.topics.for_user(world.member.id)] == ["robots"]

    inter = await world.run("mydata delete", user=world.admin)
    (prompt,) = inter.visible
    pressed = await world.fake.click(prompt, button(prompt, "Delete my data"), user=world.admin)
    await pressed.wait_done(timeout=10)
    assert "nothing stored about you" in world.fake.message_by_id(prompt.id).content  # type: ignore[union-attr]  # the prompt message exists in the stand-in


async def test_mydata_delete_pressed_twice_quickly_deletes_once_and_says_so(world: World) -> None:
    await world.run("subscribe", {"topic": "robots"})
    inter = await world.run("mydata delete")
    (prompt,) = inter.visible
    confirm = button(prompt, "Delete my data")
    first = await world.fake.click(prompt, confirm, user=world.member)
    second = await world.fake.click(prompt, confirm, user=world.member)
    await first.wait_done(timeout=10)
    await second.wait_done(timeout=10)
    answers = [message.content for message in second.visible]
    assert any("already used" in text for text in answers), answers
    assert "Deleted 1 topic" in world.fake.message_by_id(prompt.id).content  # type: ignore[union-attr]  # the prompt message exists in the stand-in
