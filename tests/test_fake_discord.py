"""The Discord stand-in (tests/fake_discord) proven against real, unmodified discord.py.

A small AutoShardedBot defined here (not the project's bot) connects to the fake over loopback REST + gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import sys
import textwrap
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands
from discord.webhook.async_ import async_context, interaction_response_params

from testing.fake_discord import (
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeHTTPError,
    FakeInvocationError,
    FakePermissionError,
    FakeUser,
    RateLimits,
    RouteLimit,
    iter_options,
)

pytestmark = pytest.mark.e2e

TOPICS = ["diffusion", "diffusion models", "transformers", "reinforcement learning"]


# ---------------------------------------------------------------------------------------------- the test bot


class VoteView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.votes = 0

    @discord.ui.button(label="Up", custom_id="vote:up", style=discord.ButtonStyle.primary)
    async def up(self, interaction: discord.Interaction, button: discord.ui.Button[VoteView]) -> None:
        self.votes += 1
        await interaction.response.edit_message(content=f"votes: {self.votes}", view=self)


@app_commands.command(description="Search papers")
@app_commands.choices(sort=[Choice(name="Newest", value="newest"), Choice(name="Most relevant", value="relevant")])
async def search(
    interaction: discord.Interaction,
    query: app_commands.Range[str, 1, 100],
    sort: str = "relevant",
    channel: discord.TextChannel | None = None,
    limit: app_commands.Range[int, 1, 10] = 5,
) -> None:
    where = f"#{channel.name}" if channel is not None else "here"
    await interaction.response.send_message(
        f"{limit} {sort} results for {query!r} in {where}", allowed_mentions=discord.AllowedMentions.none()
    )


feed = app_commands.Group(name="feed", description="Manage paper feeds", guild_only=True)


@feed.command(name="add", description="Follow a topic in a channel")
async def feed_add(interaction: discord.Interaction, topic: str, channel: discord.TextChannel) -> None:
    await interaction.response.send_message(f"following {topic} in #{channel.name}", ephemeral=True)


@app_commands.command(description="Answer later")
async def slow(interaction: discord.Interaction, private: bool = False) -> None:
    await interaction.response.defer(ephemeral=private, thinking=True)
    await interaction.followup.send("here you go")
    await interaction.followup.send("one more thing")


@app_commands.command(description="Stop following a topic")
async def unsubscribe(interaction: discord.Interaction, topic: str) -> None:
    await interaction.response.send_message(f"unsubscribed from {topic}", ephemeral=True)


@unsubscribe.autocomplete("topic")
async def topic_autocomplete(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
    return [Choice(name=t, value=t) for t in TOPICS if t.startswith(current)]


@app_commands.command(description="Vote")
async def vote(interaction: discord.Interaction) -> None:
    await interaction.response.send_message("votes: 0", view=VoteView())


@app_commands.command(description="Wait for the test before answering")
async def wait(interaction: discord.Interaction) -> None:
    await interaction.client.release.wait()  # type: ignore[attr-defined]  # client is our FakeTestBot
    await interaction.response.send_message("finally")


@app_commands.command(description="Answer twice (the second time behind discord.py's back)")
async def twice(interaction: discord.Interaction) -> None:
    await interaction.response.send_message("one")
    adapter = async_context.get()
    params = interaction_response_params(4, {"content": "two"})
    await adapter.create_interaction_response(
        interaction.id, interaction.token, session=interaction._session, params=params
    )


@app_commands.command(description="Admins only")
@app_commands.default_permissions(manage_guild=True)
@app_commands.checks.has_permissions(manage_guild=True)
async def purge(interaction: discord.Interaction) -> None:
    await interaction.response.send_message("purged", ephemeral=True)


class TopicModal(discord.ui.Modal, title="New topic"):
    topic: discord.ui.TextInput[TopicModal] = discord.ui.TextInput(label="Topic", custom_id="topic", max_length=100)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"added {self.topic.value}", ephemeral=True)


@app_commands.command(description="Open a form")
async def form(interaction: discord.Interaction) -> None:
    await interaction.response.send_modal(TopicModal())


@app_commands.command(description="Attach a file")
async def upload(interaction: discord.Interaction) -> None:
    await interaction.response.send_message("here", file=discord.File(io.BytesIO(b"a,b\n1,2\n"), "papers.csv"))


class FakeTestBot(commands.AutoShardedBot):
    def __init__(self, intents: discord.Intents | None = None) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents or discord.Intents.default(),
            guild_ready_timeout=0.05,
            help_command=None,
        )
        self.events: dict[str, list[Any]] = defaultdict(list)
        self.app_errors: list[BaseException] = []
        self.release = asyncio.Event()
        command: app_commands.Command[Any, ..., Any] | app_commands.Group
        for command in (search, feed, slow, unsubscribe, vote, wait, twice, purge, form, upload):
            self.tree.add_command(command)
        self.tree.error(self.on_app_command_error)

    async def setup_hook(self) -> None:
        await self.tree.sync()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py sleeps 5 s before every non-initial IDENTIFY; this test bot does not."""

    async def on_app_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        original = getattr(error, "original", error)
        self.app_errors.append(original)
        if isinstance(error, app_commands.MissingPermissions) and not interaction.response.is_done():
            await interaction.response.send_message("You need Manage Server.", ephemeral=True)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        self.events["guild_remove"].append(guild.id)

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        self.events["channel_delete"].append(channel.id)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        self.events["guild_join"].append(guild.id)

    async def on_thread_create(self, thread: discord.Thread) -> None:
        self.events["thread_create"].append(thread.id)

    async def on_shard_resumed(self, shard_id: int) -> None:
        self.events["resumed"].append(shard_id)


# ---------------------------------------------------------------------------------------------- fixtures


@dataclass
class Env:
    fake: FakeDiscord
    bot: FakeTestBot
    guild: FakeGuild
    channel: FakeChannel
    alice: FakeUser
    task: asyncio.Task[None]

    @property
    def bot_channel(self) -> discord.TextChannel:
        channel = self.bot.get_channel(self.channel.id)
        assert isinstance(channel, discord.TextChannel)
        return channel


Starter = Callable[..., Awaitable[Env]]


@pytest.fixture
def point_discord_py(monkeypatch: pytest.MonkeyPatch) -> Callable[[FakeDiscord], None]:
    def point(fake: FakeDiscord) -> None:
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
        monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))

    return point


@pytest.fixture
async def start(point_discord_py: Callable[[FakeDiscord], None]) -> AsyncIterator[Starter]:
    """Start a fake (with the given options) and a test bot connected to it; both are closed afterwards."""
    fakes: list[FakeDiscord] = []
    bots: list[tuple[FakeTestBot, asyncio.Task[None]]] = []

    async def starter(*, intents: discord.Intents | None = None, wait: bool = True, **fake_options: Any) -> Env:
        fake = FakeDiscord(**fake_options)
        await fake.start()
        fakes.append(fake)
        point_discord_py(fake)
        guild = fake.add_guild("Lab")
        channel = fake.add_text_channel(guild.id, "papers")
        alice = fake.add_member(guild.id, "alice")
        bot = FakeTestBot(intents)
        task = asyncio.create_task(bot.start(fake.token))
        bots.append((bot, task))
        if wait:
            await fake.wait_until_ready()
            await asyncio.wait_for(bot.wait_until_ready(), 5)
        return Env(fake, bot, guild, channel, alice, task)

    yield starter
    for bot, task in bots:
        await bot.close()
        with contextlib.suppress(Exception):
            await task
    for fake in fakes:
        await fake.stop()


# ---------------------------------------------------------------------------------------------- start-up


async def test_startup_ready_and_guilds(start: Starter) -> None:
    env = await start()
    fake, bot = env.fake, env.bot
    paths = [(r.method, r.path) for r in fake.requests]
    assert paths[:3] == [
        ("GET", "/users/@me"),
        ("GET", "/oauth2/applications/@me"),
        ("PUT", f"/applications/{fake.application_id}/commands"),
    ]
    assert ("GET", "/gateway/bot") in paths
    assert fake.identify_count == 1 and fake.connections == 1
    assert bot.user is not None and bot.user.id == fake.bot_user_id and bot.user.bot
    assert bot.application_id == fake.application_id
    guild = bot.get_guild(env.guild.id)
    assert guild is not None and guild.name == "Lab" and guild.me is not None
    assert env.bot_channel.permissions_for(guild.me).send_messages
    assert fake.identify_payloads[0]["intents"] == discord.Intents.default().value


async def test_channel_permissions_reach_discord_py(start: Starter) -> None:
    env = await start()
    muted = env.fake.add_text_channel(env.guild, "muted", bot_can_send=False, bot_can_embed=False)
    hidden = env.fake.add_text_channel(env.guild, "hidden", bot_can_view=False)
    await env.fake.wait_for(lambda: env.bot.get_channel(hidden.id) is not None, message="CHANNEL_CREATE not seen")
    me = env.bot.get_guild(env.guild.id).me  # type: ignore[union-attr]  # cached by now; None fails the test anyway
    muted_perms = env.bot.get_channel(muted.id).permissions_for(me)  # type: ignore[union-attr]  # cached by now; None fails the test anyway
    assert muted_perms.view_channel and not muted_perms.send_messages and not muted_perms.embed_links
    assert not env.bot.get_channel(hidden.id).permissions_for(me).view_channel  # type: ignore[union-attr]  # cached by now; None fails the test anyway
    with pytest.raises(discord.Forbidden) as excinfo:
        await env.bot.get_channel(muted.id).send("hi")  # type: ignore[union-attr]  # cached by now; None fails the test anyway
    assert excinfo.value.code == 50013
    with pytest.raises(discord.Forbidden) as excinfo:
        await env.bot.get_channel(hidden.id).send("hi")  # type: ignore[union-attr]  # cached by now; None fails the test anyway
    assert excinfo.value.code == 50001


async def test_wrong_token_is_401(point_discord_py: Callable[[FakeDiscord], None]) -> None:
    async with FakeDiscord() as fake:
        point_discord_py(fake)
        bot = FakeTestBot()
        try:
            with pytest.raises(discord.LoginFailure):
                await bot.login("not-the-token")
        finally:
            await bot.close()
        assert fake.requests[-1].status == 401
        assert fake.stats["invalid_requests"] == 1


async def test_privileged_intents_are_refused(start: Starter) -> None:
    env = await start(intents=discord.Intents.all(), wait=False)
    with pytest.raises(discord.PrivilegedIntentsRequired):
        await asyncio.wait_for(env.task, 10)


async def test_privileged_intents_when_enabled(start: Starter) -> None:
    env = await start(intents=discord.Intents.all(), privileged_intents_enabled=True)
    guild = env.bot.get_guild(env.guild.id)
    assert guild is not None
    await env.fake.wait_for(lambda: guild.get_member(env.alice.id) is not None, message="members not delivered")


async def test_two_shards_route_guilds_and_interactions(start: Starter) -> None:
    env = await start(shards=2, wait=False)
    second = env.fake.add_guild("Second", shard_id=1)
    second_channel = env.fake.add_text_channel(second, "general")
    bob = env.fake.add_member(second, "bob")
    await env.fake.wait_until_ready()
    await asyncio.wait_for(env.bot.wait_until_ready(), 5)
    assert env.fake.identify_count == 2 and env.fake.connections == 2
    assert {p["shard"][0] for p in env.fake.identify_payloads} == {0, 1}
    await env.fake.wait_for(lambda: env.bot.get_guild(second.id) is not None, message="second guild missing")
    assert env.bot.get_guild(second.id).shard_id == 1  # type: ignore[union-attr]  # cached by now; None fails the test anyway
    inter = await env.fake.invoke("search", {"query": "x"}, user=bob, guild=second, channel=second_channel)
    await inter.wait_done()
    assert "results for 'x'" in inter.original.content  # type: ignore[union-attr]  # cached by now; None fails the test anyway


# ---------------------------------------------------------------------------------------------- commands


async def test_sync_guild_and_global_commands(start: Starter) -> None:
    env = await start()
    fake, bot = env.fake, env.bot
    names = {"search", "feed", "slow", "unsubscribe", "vote", "wait", "twice", "purge", "form", "upload"}
    assert {c["name"] for c in fake.commands()} == names
    assert fake.commands(env.guild.id) == [] and fake.sync_count == 1
    purge_cmd = next(c for c in fake.commands() if c["name"] == "purge")
    assert purge_cmd["default_member_permissions"] == str(discord.Permissions(manage_guild=True).value)

    bot.tree.copy_global_to(guild=discord.Object(env.guild.id))
    synced = await bot.tree.sync(guild=discord.Object(env.guild.id))
    assert {c.name for c in synced} == {c["name"] for c in fake.commands(env.guild.id)}
    assert fake.sync_count == 2
    ids_before = {c["name"]: c["id"] for c in fake.commands(env.guild.id)}
    await bot.tree.sync(guild=discord.Object(env.guild.id))
    assert {c["name"]: c["id"] for c in fake.commands(env.guild.id)} == ids_before  # ids are kept across overwrites

    inter = await fake.invoke("search", {"query": "graphs"}, user=env.alice, guild=env.guild, channel=env.channel)
    assert inter.data["guild_id"] == str(env.guild.id)
    await inter.wait_done()
    assert inter.original is not None and "graphs" in inter.original.content


async def test_bad_command_schema_is_50035(start: Starter) -> None:
    env = await start()
    bad = [
        {"name": "Bad Name", "description": "x", "type": 1},
        {
            "name": "opts",
            "description": "x",
            "options": [
                {"type": 3, "name": "b", "description": "b", "required": False},
                {"type": 3, "name": "a", "description": "a", "required": True},
            ],
        },
        {
            "name": "many",
            "description": "x",
            "options": [
                {
                    "type": 3,
                    "name": "c",
                    "description": "c",
                    "choices": [{"name": str(i), "value": str(i)} for i in range(26)],
                },
            ],
        },
    ]
    with pytest.raises(discord.HTTPException) as excinfo:
        await env.bot.http.bulk_upsert_global_commands(env.bot.application_id, payload=bad)  # type: ignore[arg-type]  # malformed on purpose
    assert excinfo.value.status == 400 and excinfo.value.code == 50035
    errors = excinfo.value._errors
    assert errors is not None and set(errors) == {"0", "1", "2"}
    assert (
        "name" in errors["0"] and "required" in errors["1"]["options"]["1"] and "choices" in errors["2"]["options"]["0"]
    )

    @app_commands.command(description="d" * 101)
    async def wordy(interaction: discord.Interaction) -> None:  # pragma: no cover - never invoked
        pass

    env.bot.tree.add_command(wordy)
    with pytest.raises(app_commands.CommandSyncFailure) as sync_failure:
        await env.bot.tree.sync()
    assert sync_failure.value.code == 50035 and "wordy" in str(sync_failure.value)
    assert "wordy" not in {c["name"] for c in env.fake.commands()}  # a refused overwrite changes nothing


async def test_invoke_with_options_and_channel(start: Starter) -> None:
    env = await start()
    other = env.fake.add_text_channel(env.guild, "elsewhere")  # its CHANNEL_CREATE is sent before the interaction
    inter = await env.fake.invoke(
        "search",
        {"query": "diffusion", "sort": "newest", "channel": other, "limit": 3},
        user=env.alice,
        guild=env.guild,
        channel=env.channel,
    )
    await inter.wait_done()
    assert [m.content for m in inter.visible] == ["3 newest results for 'diffusion' in #elsewhere"]
    assert not inter.ephemeral and inter.responses[0]["type"] == 4
    assert inter.original is not None and inter.original.allowed_mentions["parse"] == []  # type: ignore[index]  # set on this message
    assert str(other.id) in inter.data["resolved"]["channels"]
    assert "guild_id" not in inter.data  # globally registered
    assert env.fake.messages(env.channel.id) == []  # interaction replies are not channel posts...
    assert env.fake.messages(env.channel.id, include_interactions=True) == inter.visible  # ...unless asked for


async def test_invoke_refuses_what_a_client_would_not_send(start: Starter) -> None:
    env = await start()
    kwargs: dict[str, Any] = {"user": env.alice, "guild": env.guild, "channel": env.channel}
    with pytest.raises(FakeInvocationError, match="no slash command"):
        await env.fake.invoke("nope", {}, **kwargs)
    with pytest.raises(FakeInvocationError, match="no option 'colour'"):
        await env.fake.invoke("search", {"query": "x", "colour": "red"}, **kwargs)
    with pytest.raises(FakeInvocationError, match="required option 'query'"):
        await env.fake.invoke("search", {}, **kwargs)
    with pytest.raises(FakeInvocationError, match="choices"):
        await env.fake.invoke("search", {"query": "x", "sort": "oldest"}, **kwargs)
    with pytest.raises(FakeInvocationError, match="max_value"):
        await env.fake.invoke("search", {"query": "x", "limit": 11}, **kwargs)
    with pytest.raises(FakeInvocationError, match="max_length"):
        await env.fake.invoke("search", {"query": "x" * 101}, **kwargs)
    with pytest.raises(FakeInvocationError, match="not available in DMs"):
        await env.fake.invoke("feed add", {"topic": "x", "channel": env.channel}, user=env.alice)


async def test_subcommand_group(start: Starter) -> None:
    env = await start()
    inter = await env.fake.invoke(
        "feed add", {"topic": "rl", "channel": env.channel}, user=env.alice, guild=env.guild, channel=env.channel
    )
    await inter.wait_done()
    assert inter.data["options"][0]["type"] == 1 and inter.data["options"][0]["name"] == "add"
    assert {o["name"] for o in iter_options(inter.data["options"])} == {"add", "topic", "channel"}
    assert inter.original is not None and inter.original.ephemeral
    assert inter.original.content == "following rl in #papers"
    with pytest.raises(FakeInvocationError, match="subcommands"):
        await env.fake.invoke("feed", {}, user=env.alice, guild=env.guild)


async def test_default_member_permissions(start: Starter) -> None:
    env = await start()
    kwargs: dict[str, Any] = {"guild": env.guild, "channel": env.channel}
    with pytest.raises(PermissionError) as refused:
        await env.fake.invoke("purge", {}, user=env.alice, **kwargs)
    assert isinstance(refused.value, FakePermissionError) and isinstance(refused.value, FakeHTTPError)
    assert refused.value.code == 50013
    # an admin override in the server settings: the bot's own check is what stops alice
    inter = await env.fake.invoke("purge", {}, user=env.alice, enforce_default_permissions=False, **kwargs)
    await inter.wait_done()
    assert inter.original is not None and inter.original.content == "You need Manage Server."
    boss = env.fake.add_member(env.guild, "boss", permissions=discord.Permissions(manage_guild=True).value)
    inter = await env.fake.invoke("purge", {}, user=boss, **kwargs)
    await inter.wait_done()
    assert inter.original is not None and inter.original.content == "purged"


async def test_dm_context_interaction(start: Starter) -> None:
    env = await start()
    bob = env.fake.add_user("bob")
    inter = await env.fake.invoke("search", {"query": "dm"}, user=bob)
    assert "user" in inter.payload and "member" not in inter.payload and inter.guild_id is None
    await inter.wait_done()
    assert inter.original is not None and inter.original.channel_id == env.fake.dm_channel(bob).id


# ---------------------------------------------------------------------------------------------- responses


async def test_defer_then_followups(start: Starter) -> None:
    env = await start()
    inter = await env.fake.invoke("slow", {}, user=env.alice, guild=env.guild, channel=env.channel)
    await inter.wait_done()  # done = the deferred "thinking…" message was completed by the first follow-up
    assert inter.responses[0] == {"type": 5}
    await env.fake.wait_for(lambda: len(inter.followups) == 1)
    assert [m.content for m in inter.visible] == ["here you go", "one more thing"]
    assert inter.original is not None and not inter.original.loading and not inter.ephemeral


async def test_ephemeral_defer_keeps_ephemerality(start: Starter) -> None:
    env = await start()
    inter = await env.fake.invoke("slow", {"private": True}, user=env.alice, guild=env.guild, channel=env.channel)
    await inter.wait_done()
    assert inter.responses[0] == {"type": 5, "data": {"flags": 64}}
    await env.fake.wait_for(lambda: len(inter.followups) == 1)
    original, second = inter.visible
    assert original.ephemeral and original.content == "here you go"  # the first follow-up replaced "thinking…"
    assert not second.ephemeral  # later follow-ups choose for themselves


async def test_autocomplete(start: Starter) -> None:
    env = await start()
    choices = await env.fake.autocomplete(
        "unsubscribe", {"topic": "diff"}, focused="topic", user=env.alice, guild=env.guild, channel=env.channel
    )
    assert choices == [
        {"name": "diffusion", "value": "diffusion"},
        {"name": "diffusion models", "value": "diffusion models"},
    ]
    assert env.fake.last_autocomplete is not None and env.fake.last_autocomplete.responses[0]["type"] == 8
    with pytest.raises(FakeInvocationError, match="no autocomplete"):
        await env.fake.autocomplete("search", {"query": "x"}, focused="query", user=env.alice, guild=env.guild)


async def test_button_click_updates_message(start: Starter) -> None:
    env = await start()
    inter = await env.fake.invoke("vote", {}, user=env.alice, guild=env.guild, channel=env.channel)
    await inter.wait_done()
    message = inter.original
    assert message is not None and message.components[0]["components"][0]["custom_id"] == "vote:up"
    click = await env.fake.click(message, "vote:up", user=env.alice)
    await click.wait_done()
    assert click.response_type == 7 and click.original is message
    assert message.content == "votes: 1" and message.revisions[-1]["content"] == "votes: 0"
    click = await env.fake.click(message, "vote:up")
    await click.wait_done()
    assert message.content == "votes: 2"
    with pytest.raises(FakeInvocationError, match="no component"):
        await env.fake.click(message, "vote:down")


async def test_late_response_is_10062(start: Starter) -> None:
    env = await start(interaction_window=0.2)
    inter = await env.fake.invoke("wait", {}, user=env.alice, guild=env.guild, channel=env.channel)
    await env.fake.wait_for(lambda: inter.expired, timeout=2)
    env.bot.release.set()
    await inter.wait_done()
    assert inter.error == (404, 10062) and inter.original is None and inter.responses == []
    await env.fake.wait_for(lambda: bool(env.bot.app_errors))
    assert isinstance(env.bot.app_errors[0], discord.NotFound) and env.bot.app_errors[0].code == 10062


async def test_second_response_is_40060(start: Starter) -> None:
    env = await start()
    inter = await env.fake.invoke("twice", {}, user=env.alice, guild=env.guild, channel=env.channel)
    await env.fake.wait_for(lambda: inter.error is not None)
    assert inter.error == (400, 40060)
    assert [m.content for m in inter.visible] == ["one"] and len(inter.attempts) == 2
    await env.fake.wait_for(lambda: bool(env.bot.app_errors))
    error = env.bot.app_errors[0]
    assert isinstance(error, discord.HTTPException) and error.code == 40060


async def test_modal_round_trip(start: Starter) -> None:
    env = await start()
    inter = await env.fake.invoke("form", {}, user=env.alice, guild=env.guild, channel=env.channel)
    await inter.wait_done()
    assert inter.response_type == 9 and inter.modal is not None and inter.modal["title"] == "New topic"
    submitted = await env.fake.submit_modal(inter, {"topic": "graph neural networks"})
    await submitted.wait_done()
    assert submitted.original is not None and submitted.original.content == "added graph neural networks"
    assert submitted.original.ephemeral


async def test_files_in_responses_and_posts(start: Starter) -> None:
    env = await start()
    inter = await env.fake.invoke("upload", {}, user=env.alice, guild=env.guild, channel=env.channel)
    await inter.wait_done()
    assert inter.original is not None and [a["filename"] for a in inter.original.attachments] == ["papers.csv"]
    await env.bot_channel.send(file=discord.File(io.BytesIO(b"%PDF-1.4"), "paper.pdf"))
    (post,) = env.fake.messages(env.channel.id)
    assert post.attachments[0]["filename"] == "paper.pdf" and post.attachments[0]["size"] == 8


# ---------------------------------------------------------------------------------------------- channel messages


async def test_message_validation(start: Starter) -> None:
    env = await start(rate_limits=RateLimits(message_create=RouteLimit(50, 1.0)))  # refused posts count too
    channel = env.bot_channel
    too_big = [discord.Embed(description="a" * 3500), discord.Embed(description="b" * 3500)]
    with pytest.raises(discord.HTTPException) as excinfo:
        await channel.send(embeds=too_big)
    assert excinfo.value.status == 400 and excinfo.value.code == 50035 and "embeds" in str(excinfo.value)
    with pytest.raises(discord.HTTPException) as excinfo:
        await channel.send(embed=discord.Embed(title="t").add_field(name="empty", value=""))
    assert excinfo.value.code == 50035 and "embeds.0.fields.0.value" in str(excinfo.value)
    with pytest.raises(discord.HTTPException) as excinfo:
        await channel.send(embed=discord.Embed(title="t", url="arxiv.org/abs/1"))
    assert excinfo.value.code == 50035 and "embeds.0.url" in str(excinfo.value)
    with pytest.raises(discord.HTTPException) as excinfo:
        await channel.send("x" * 2001)
    assert excinfo.value.code == 50035 and "content" in str(excinfo.value)
    with pytest.raises(discord.HTTPException) as excinfo:
        await channel.send(embed=discord.Embed())
    assert excinfo.value.code == 50006
    assert env.fake.messages(env.channel.id) == []

    sent = await channel.send("ok", embed=discord.Embed(title="t"), allowed_mentions=discord.AllowedMentions.none())
    (message,) = env.fake.messages(env.channel.id)
    assert message.id == sent.id and message.embeds[0]["title"] == "t"
    assert message.allowed_mentions is not None and message.allowed_mentions["parse"] == []


async def test_nonce_deduplicates(start: Starter) -> None:
    env = await start()
    first = await env.bot_channel.send("digest", nonce="digest-2024-01-01")
    second = await env.bot_channel.send("digest", nonce="digest-2024-01-01")
    assert first.id == second.id and len(env.fake.messages(env.channel.id)) == 1
    with pytest.raises(discord.HTTPException) as excinfo:
        await env.bot_channel.send("x", nonce="n" * 26)
    assert excinfo.value.code == 50035


async def test_channel_error_and_deleted_channel(start: Starter) -> None:
    env = await start()
    env.fake.set_channel_error(env.channel.id, status=403, code=50013, message="Missing Permissions")
    with pytest.raises(discord.Forbidden) as excinfo:
        await env.bot_channel.send("hi")
    assert excinfo.value.code == 50013
    env.fake.clear_channel_error(env.channel.id)
    await env.bot_channel.send("hi")

    doomed = env.fake.add_text_channel(env.guild, "doomed")
    await env.fake.wait_for(lambda: env.bot.get_channel(doomed.id) is not None)
    stale = env.bot.get_channel(doomed.id)
    await env.fake.delete_channel(doomed.id)
    await env.fake.wait_for(lambda: doomed.id in env.bot.events["channel_delete"], message="no CHANNEL_DELETE")
    assert env.bot.get_channel(doomed.id) is None
    with pytest.raises(discord.NotFound) as gone:
        await stale.send("hi")  # type: ignore[union-attr]  # cached by now; None fails the test anyway
    assert gone.value.code == 10003


async def test_closed_dms_are_50007(start: Starter) -> None:
    env = await start()
    user = await env.bot.fetch_user(env.alice.id)
    await user.send("welcome")
    assert [m.content for m in env.fake.dm_messages(env.alice.id)] == ["welcome"]
    env.fake.close_dms(env.alice.id)
    with pytest.raises(discord.Forbidden) as excinfo:
        await user.send("again")
    assert excinfo.value.code == 50007
    assert len(env.fake.dm_messages(env.alice.id)) == 1


async def test_thread_on_message(start: Starter) -> None:
    env = await start()
    message = await env.bot_channel.send("paper")
    with pytest.raises(discord.HTTPException) as excinfo:
        await message.create_thread(name="n" * 101)
    assert excinfo.value.code == 50035
    thread = await message.create_thread(name="Discussion", auto_archive_duration=1440)
    (fake_thread,) = env.fake.threads
    assert (fake_thread.id, fake_thread.parent_id, fake_thread.message_id, fake_thread.name) == (
        thread.id,
        env.channel.id,
        message.id,
        "Discussion",
    )
    assert env.fake.messages(env.channel.id)[0].thread_id == thread.id
    await thread.send("first reply")
    assert [m.content for m in env.fake.messages(thread.id)] == ["first reply"]
    await env.fake.wait_for(lambda: thread.id in env.bot.events["thread_create"], message="no THREAD_CREATE")
    with pytest.raises(discord.HTTPException) as excinfo:
        await message.create_thread(name="again")
    assert excinfo.value.code == 160004


# ---------------------------------------------------------------------------------------------- gateway


async def test_disconnect_resumes_and_interactions_still_work(start: Starter) -> None:
    env = await start()
    await env.fake.disconnect(shard_id=0, code=4000)
    await env.fake.wait_for(lambda: env.fake.resume_count == 1 and env.fake.is_ready(), message="no RESUME")
    await env.fake.wait_for(lambda: env.bot.events["resumed"] == [0])
    assert env.fake.identify_count == 1
    inter = await env.fake.invoke("search", {"query": "after"}, user=env.alice, guild=env.guild, channel=env.channel)
    await inter.wait_done()
    assert "after" in inter.original.content  # type: ignore[union-attr]  # cached by now; None fails the test anyway


async def test_events_while_disconnected_are_replayed(start: Starter) -> None:
    env = await start()
    await env.fake.disconnect(shard_id=0, code=4000)
    newcomer = env.fake.add_text_channel(env.guild, "newcomer")  # dispatched while no socket is open
    await env.fake.wait_for(lambda: env.fake.resume_count == 1 and env.fake.is_ready())
    await env.fake.wait_for(lambda: env.bot.get_channel(newcomer.id) is not None, message="CHANNEL_CREATE lost")


async def test_reconnect_op7_resumes(start: Starter) -> None:
    env = await start()
    await env.fake.send_reconnect(shard_id=0)
    await env.fake.wait_for(lambda: env.fake.resume_count == 1 and env.fake.is_ready(), message="no RESUME")
    assert env.fake.identify_count == 1


async def test_invalid_session_reidentifies(start: Starter) -> None:
    env = await start()
    await env.fake.invalidate_session(shard_id=0, resumable=False)
    await env.fake.wait_until_ready(identify_count=2)
    assert env.fake.resume_count == 0
    inter = await env.fake.invoke("search", {"query": "again"}, user=env.alice, guild=env.guild, channel=env.channel)
    await inter.wait_done()
    assert inter.original is not None


async def test_guild_delete_reaches_bot(start: Starter) -> None:
    env = await start()
    extra = env.fake.add_guild("Extra")
    extra_channel = env.fake.add_text_channel(extra, "general")
    await env.fake.wait_for(lambda: extra.id in env.bot.events["guild_join"], message="no GUILD_CREATE")
    await env.fake.wait_for(lambda: env.bot.get_channel(extra_channel.id) is not None)
    stale = env.bot.get_channel(extra_channel.id)
    await env.fake.remove_guild(extra.id)
    await env.fake.wait_for(lambda: extra.id in env.bot.events["guild_remove"], message="no GUILD_DELETE")
    assert env.bot.get_guild(extra.id) is None
    with pytest.raises(discord.Forbidden) as excinfo:
        await stale.send("still here?")  # type: ignore[union-attr]  # cached by now; None fails the test anyway
    assert excinfo.value.code == 50001
    with pytest.raises(FakeInvocationError):
        await env.fake.invoke("search", {"query": "x"}, user=env.alice, guild=extra)


# ---------------------------------------------------------------------------------------------- rate limits & faults


async def test_global_rate_limit_and_recovery(start: Starter) -> None:
    env = await start()
    channels = [env.fake.add_text_channel(env.guild, f"c{i}") for i in range(12)]
    await env.fake.wait_for(lambda: all(env.bot.get_channel(c.id) for c in channels))
    before = env.fake.stats["requests"]
    results = await asyncio.gather(*(env.bot.fetch_channel(c.id) for c in channels for _ in range(6)))
    assert len(results) == 72 and {r.id for r in results} == {c.id for c in channels}
    assert env.fake.stats["global_429"] > 0
    assert env.fake.stats["requests"] - before == 72 + env.fake.stats["global_429"]
    assert env.fake.stats["invalid_requests"] == env.fake.stats["global_429"]


async def test_route_bucket_is_respected(start: Starter) -> None:
    env = await start(rate_limits=RateLimits(message_create=RouteLimit(2, 0.3)))
    for i in range(5):
        await env.bot_channel.send(f"m{i}")
    assert len(env.fake.messages(env.channel.id)) == 5
    assert env.fake.stats["route_429"] == 0  # discord.py read the headers and waited for the bucket to reset
    posts = [r for r in env.fake.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert posts[2].time - posts[1].time >= 0.2


async def test_rate_limits_off(start: Starter) -> None:
    env = await start(rate_limits=RateLimits.off())
    await asyncio.gather(*(env.bot_channel.send(f"m{i}") for i in range(12)))
    assert len(env.fake.messages(env.channel.id)) == 12 and env.fake.stats["route_429"] == 0


async def test_server_error_is_retried_by_discord_py(start: Starter) -> None:
    env = await start()
    fault = env.fake.fail_next("POST", r"/channels/\d+/messages", status=500, count=1)
    await env.bot_channel.send("survives")
    assert fault.hits == 1 and len(env.fake.messages(env.channel.id)) == 1
    statuses = [r.status for r in env.fake.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert statuses == [500, 200]


async def test_connection_reset_and_nonce_retry(start: Starter) -> None:
    env = await start()
    env.fake.fail_next("POST", r"/channels/\d+/messages", status=None, reset=True, after_processing=True)
    # discord.py retries resets only for errno 54/10054 (macOS/Windows); on Linux it is 104, so it surfaces
    with pytest.raises(aiohttp.ClientOSError):
        await env.bot_channel.send("digest", nonce="digest-1")
    assert len(env.fake.messages(env.channel.id)) == 1  # created, but the response was lost
    retried = await env.bot_channel.send("digest", nonce="digest-1")
    assert [m.id for m in env.fake.messages(env.channel.id)] == [retried.id]


async def test_delay_fault_hangs_the_request(start: Starter) -> None:
    env = await start()
    env.fake.fail_next("POST", r"/channels/\d+/messages", status=None, delay=0.6)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(env.bot_channel.send("slow"), timeout=0.2)
    # like Discord, the request is still carried out after the client gave up on it
    await env.fake.wait_for(lambda: len(env.fake.messages(env.channel.id)) == 1, timeout=3)


async def test_followup_token_expiry(start: Starter) -> None:
    env = await start(token_ttl=0.2)
    inter = await env.fake.invoke("search", {"query": "x"}, user=env.alice, guild=env.guild, channel=env.channel)
    await inter.wait_done()
    await env.fake.wait_for(lambda: inter.token_expired)
    with pytest.raises(discord.HTTPException) as excinfo:
        await env.bot.http.request(
            discord.http.Route(
                "GET",
                "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
                webhook_id=env.fake.application_id,
                webhook_token=inter.token,
            )
        )
    assert excinfo.value.status == 401 and excinfo.value.code == 50027


async def test_raw_http_contract() -> None:
    """What discord.py depends on, checked with a plain client: exact content type, Via, rate-limit headers."""
    async with FakeDiscord(rate_limits=RateLimits(message_create=RouteLimit(1, 5.0))) as fake:
        guild = fake.add_guild("Raw")
        channel = fake.add_text_channel(guild, "raw")
        auth = {"Authorization": f"Bot {fake.token}"}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{fake.api_base}/users/@me") as response:
                assert response.status == 401 and await response.json() == {"message": "401: Unauthorized", "code": 0}
            async with http.get(f"{fake.api_base}/users/@me", headers=auth) as response:
                assert response.headers["Content-Type"] == "application/json"
                assert response.headers["Via"] == "1.1 google"
                for name in ("Limit", "Remaining", "Reset", "Reset-After", "Bucket"):
                    assert f"X-RateLimit-{name}" in response.headers
                assert (await response.json())["bot"] is True
            url = f"{fake.api_base}/channels/{channel.id}/messages"
            async with http.post(url, headers=auth, json={"content": "one"}) as response:
                assert response.status == 200 and response.headers["X-RateLimit-Remaining"] == "0"
            async with http.post(url, headers=auth, json={"content": "two"}) as response:
                body = await response.json()
                assert response.status == 429 and body["global"] is False and body["retry_after"] > 0
                assert response.headers["X-RateLimit-Scope"] == "user" and "Retry-After" in response.headers
            async with http.post(url, headers=auth, json={}) as response:
                assert response.status == 429  # a refused request still counts against the bucket
    assert fake.stats["route_429"] == 2 and fake.stats["invalid_requests"] == 3
    assert [m.content for m in fake.messages(channel.id)] == ["one"]


async def test_wait_for_times_out_with_message() -> None:
    async with FakeDiscord() as fake:
        with pytest.raises(AssertionError, match="never"):
            await fake.wait_for(lambda: False, timeout=0.05, message="never")


BOT_PROCESS = textwrap.dedent(
    """
    import asyncio, os, discord, yarl
    discord.http.Route.BASE = os.environ["FAKE_API_BASE"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["FAKE_GATEWAY_URL"])
    bot = discord.AutoShardedClient(intents=discord.Intents.default())
    bot.run(os.environ["FAKE_TOKEN"], log_handler=None)
    """
)


@pytest.mark.slow
async def test_bot_in_a_subprocess_killed_and_restarted() -> None:
    async with FakeDiscord() as fake:
        fake.add_guild("Lab")
        env = {
            **os.environ,
            "FAKE_API_BASE": fake.api_base,
            "FAKE_GATEWAY_URL": fake.gateway_url,
            "FAKE_TOKEN": fake.token,
        }
        for attempt in (1, 2):
            process = await asyncio.create_subprocess_exec(sys.executable, "-c", BOT_PROCESS, env=env)
            try:
                await fake.wait_until_ready(timeout=30, identify_count=attempt)
                assert fake.connections == 1
            finally:
                process.send_signal(signal.SIGKILL)
                await process.wait()
            await fake.wait_for(lambda: fake.connections == 0, message="socket of the killed bot still open")
        assert fake.identify_count == 2 and fake.resume_count == 0


async def test_fake_http_error_shape() -> None:
    error = FakeHTTPError(400, 50035, "Invalid Form Body", {"content": {"_errors": []}})
    assert error.body() == {"code": 50035, "message": "Invalid Form Body", "errors": {"content": {"_errors": []}}}


def test_snowflakes_are_realistic_unique_and_shardable() -> None:
    from testing.fake_discord.snowflake import SnowflakeGenerator, snowflake_time

    ids = SnowflakeGenerator()
    batch = [ids.next() for _ in range(5000)]
    assert len(set(batch)) == len(batch) and batch == sorted(batch) and min(batch) > 2**40
    assert abs((snowflake_time(batch[-1]) - discord.utils.utcnow()).total_seconds()) < 5
    assert discord.utils.snowflake_time(batch[0]) == snowflake_time(batch[0])
    for shard in range(4):
        assert (ids.next(shard=shard, shard_count=4) >> 22) % 4 == shard
