"""The weekly recommendations DM end to end: turned on with /foryou weekly:True, queued once per week through
the outbox, sent once, not again after a restart, and stopped by weekly:False and by /mydata delete."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import cast

import pytest

from bot import weekly
from bot.config import Settings
from bot.semantic import MODEL_NAME, Semantic
from bot.semantic.encoder import Encoder
from cogs.foryou import ForYou
from testing.bot_harness import World, bot_settings, build_world, running_bot, serve_today
from testing.fake_discord import FakeDiscord
from testing.paper_server import PaperServer
from tests.test_e2e_delivery import idle
from tests.test_e2e_foryou import CANDIDATES, SAVED, card_ids, encoder, publish_and_embed, save_all
from tests.test_e2e_library import buttons, only
from tests.test_e2e_mydata import button, export

pytestmark = pytest.mark.e2e
__all__ = ["encoder"]  # the module-scoped model fixture, shared with test_e2e_foryou


def picks_of(world: World) -> weekly.WeeklyPicks:
    return cast(ForYou, world.bot.get_cog("ForYou")).weekly


async def with_model(world: World, encoder: Encoder) -> Semantic:
    semantic = Semantic(world.bot.db, encoder=encoder)
    assert await semantic.load()
    world.bot.semantic = semantic
    return semantic


def test_slots_are_mondays_at_eight_utc() -> None:
    wednesday = 1_764_748_800  # 2025-12-03 08:00 UTC, a Wednesday
    assert weekly.slot_at(wednesday) == 1_764_576_000  # Monday 2025-12-01 08:00 UTC
    assert weekly.slot_at(1_764_576_000) == 1_764_576_000
    assert weekly.slot_at(1_764_576_000 - 1) == 1_764_576_000 - 7 * 86_400
    assert weekly.next_slot(wednesday) == 1_764_576_000 + 7 * 86_400


async def test_weekly_dm_is_sent_once_survives_a_restart_and_stops_when_turned_off(
    paper_server: PaperServer, make_settings: Callable[..., Settings], fake_discord: FakeDiscord, encoder: Encoder
) -> None:
    serve_today(paper_server)
    guild, general, news, admin, member = build_world(fake_discord)
    settings = bot_settings(make_settings(poll_interval_seconds=3600, delivery_retry_base_seconds=0.05), fake_discord)
    monday = weekly.next_slot(time.time()) + 60
    async with running_bot(settings, fake_discord) as bot:
        world = World(fake_discord, paper_server, bot, settings, guild, general, news, admin, member)
        semantic = await with_model(world, encoder)
        try:
            saved = await publish_and_embed(world, semantic, SAVED)
            candidates = await publish_and_embed(world, semantic, CANDIDATES)
            await save_all(world, saved)
            answer = only(await world.run("foryou", {"weekly": True}))
            assert answer.ephemeral and "Weekly recommendations DM on" in answer.content
            assert f"<t:{monday - 60}:F>" in answer.content
            assert "already on" in only(await world.run("foryou", {"weekly": True})).content

            assert (await picks_of(world).run_once(time.time())).members == 0, "nothing before the first Monday"
            report = await picks_of(world).run_once(monday)
            assert (report.members, report.queued) == (1, 3)
            await fake_discord.wait_for(lambda: len(fake_discord.dm_messages(member)) == 1, timeout=10, message="DM")
            await idle(world)
            (dm,) = fake_discord.dm_messages(member)
            assert "Your weekly picks" in dm.content and "`/foryou weekly:False` stops these" in dm.content
            assert sorted(card_ids(dm)) == sorted(candidates[:3])
            for title, _ in CANDIDATES[:3]:
                assert f"**{title}** is close to your saved **" in dm.content
            assert {f"Save {paper_id}" for paper_id in candidates[:3]} <= set(buttons(dm))
            why = only(await world.run("why", {"paper": candidates[0]})).embeds[0]["description"]
            assert "**Weekly pick:** chosen for your weekly recommendations DM" in why
            assert f"close to your saved **{SAVED[0][0]}**" in why and "✅ **Delivery:** sent" in why
            # Running again in the same week (a second process, an hourly check) queues nothing.
            assert (await picks_of(world).run_once(monday + 3600)).queued == 0
        finally:
            semantic.close()

    async with running_bot(settings, fake_discord, first_poll=False) as bot:
        world = World(fake_discord, paper_server, bot, settings, guild, general, news, admin, member)
        semantic = await with_model(world, encoder)
        try:
            assert await bot.db.embeddings.count(MODEL_NAME) == len(SAVED) + len(CANDIDATES)  # picks are possible
            assert (await picks_of(world).run_once(monday + 7200)).queued == 0
            await idle(world)
            assert len(fake_discord.dm_messages(member)) == 1, "a restart never sends the week again"
            state = await bot.db.foryou.weekly(member.id)
            assert state is not None and state.last_slot == monday - 60

            off = only(await world.run("foryou", {"weekly": False}))
            assert "Weekly recommendations DM off" in off.content
            assert (await picks_of(world).run_once(monday + 7 * 86_400)).members == 0
            await idle(world)
            assert len(fake_discord.dm_messages(member)) == 1
            assert await bot.db.foryou.weekly(member.id) is None
        finally:
            semantic.close()


async def test_mydata_exports_and_deletes_the_weekly_dm(world: World, encoder: Encoder) -> None:
    semantic = await with_model(world, encoder)
    try:
        saved = await publish_and_embed(world, semantic, SAVED)
        await publish_and_embed(world, semantic, CANDIDATES)
        await save_all(world, saved)
        await world.run("foryou", {"weekly": True})
        monday = weekly.next_slot(time.time()) + 60
        world.fake.close_dms(world.member)  # the picks stay pending, as a slow week's would
        assert (await picks_of(world).run_once(monday)).queued == 3
        await world.fake.wait_for(lambda: world.fake.stats["by_status"].get(403, 0) >= 1, timeout=10, message="403")

        document = await export(world)
        weekly_part = document["weekly_recommendations"]
        assert weekly_part["on"] is True and len(weekly_part["picks"]) == 3
        assert {pick["close_to_saved_paper_id"] for pick in weekly_part["picks"]} <= set(saved)

        prompt = only(await world.run("mydata delete"))
        pressed = await world.fake.click(prompt, button(prompt, "Delete my data"), user=world.member)
        await pressed.wait_done(timeout=10)
        answer = world.fake.message_by_id(prompt.id)
        assert answer is not None and "your weekly recommendations DM" in answer.content
        assert await world.bot.db.foryou.weekly(world.member.id) is None
        assert await world.bot.db.foryou.picks(world.member.id) == []

        world.fake.open_dms(world.member)
        assert (await picks_of(world).run_once(monday + 7 * 86_400)).members == 0
        await idle(world)
        assert world.fake.dm_messages(world.member) == []
    finally:
        semantic.close()


async def test_two_processes_running_the_same_slot_queue_it_once(world: World, encoder: Encoder) -> None:
    semantic = await with_model(world, encoder)
    try:
        saved = await publish_and_embed(world, semantic, SAVED)
        await publish_and_embed(world, semantic, CANDIDATES)
        await save_all(world, saved)
        await world.run("foryou", {"weekly": True})
        monday = weekly.next_slot(time.time()) + 60
        # A second process on the same database: its own runner, its own lock.
        other = weekly.WeeklyPicks(world.bot.db, lambda: semantic, clock=time.time, wake=lambda: None)
        reports = await asyncio.gather(picks_of(world).run_once(monday), other.run_once(monday))
        assert sorted(report.queued for report in reports) == [0, 3]
        await idle(world)
        assert len(world.fake.dm_messages(world.member)) == 1
    finally:
        semantic.close()


async def test_with_semantic_search_switched_off_the_week_is_skipped_and_the_member_told(world: World) -> None:
    rows = await world.bot.db.fetchall("SELECT arxiv_id FROM papers ORDER BY pk LIMIT 3")
    await save_all(world, [row["arxiv_id"] for row in rows])
    answer = only(await world.run("foryou", {"weekly": True}))
    assert "semantic search is turned off on this bot, so there will be nothing to send" in answer.content
    monday = weekly.next_slot(time.time()) + 60
    report = await picks_of(world).run_once(monday)
    assert (report.members, report.queued, report.waiting) == (1, 0, 0)
    state = await world.bot.db.foryou.weekly(world.member.id)
    assert state is not None and state.last_slot == monday - 60
