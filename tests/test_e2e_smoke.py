from __future__ import annotations

import pytest

from testing.bot_harness import World

pytestmark = pytest.mark.e2e


async def test_bot_starts_syncs_and_answers_help(world: World) -> None:
    assert {command["name"] for command in world.fake.commands()} >= {"search", "paper", "feed", "help"}
    inter = await world.run("help")
    (message,) = inter.visible
    assert message.ephemeral
    assert message.embeds[0]["title"] == "paperbot"
