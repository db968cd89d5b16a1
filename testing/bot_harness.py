"""Run the real bot against the Discord stand-in and the paper fixture server, in the test's event loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import discord
import discord.gateway
import discord.http

from bot.app import PaperBot, point_discord_at
from bot.config import Settings
from testing.fake_discord import FakeDiscord
from testing.fake_discord.models import FakeChannel, FakeGuild, FakeUser
from testing.paper_server import PaperServer
from testing.paths import DATA

MANAGE_GUILD = discord.Permissions(manage_guild=True).value


def today() -> date:
    return datetime.now(UTC).date()


def redate_json(name: str, day: date) -> list[dict[str, Any]]:
    """A project fixture moved to ``day`` (its papers were recorded on 2026-03-04 / 2026-03-03)."""
    raw = (DATA / name).read_text(encoding="utf-8")
    items: list[dict[str, Any]] = json.loads(
        raw.replace("2026-03-04", day.isoformat()).replace("2026-03-03", day.isoformat())
    )
    return items


def redate_feed(day: date) -> bytes:
    raw = (DATA / "arxiv_2026-03-04.xml").read_text(encoding="utf-8")
    return raw.replace("Wed, 04 Mar 2026", day.strftime("%a, %d %b %Y")).encode()


def serve_today(papers: PaperServer) -> None:
    day = today()
    papers.hf_days[day.isoformat()] = redate_json("hf_daily_2026-03-04.json", day)
    papers.hf_days[(day - timedelta(days=1)).isoformat()] = redate_json(
        "hf_daily_2026-03-03.json", day - timedelta(days=1)
    )
    papers.arxiv_feed = redate_feed(day)


def bot_settings(base: Settings, fake: FakeDiscord, **overrides: Any) -> Settings:
    values = base.model_dump() | {
        "discord_token": fake.token,
        "discord_api_base": fake.api_base,
        "discord_gateway_url": fake.gateway_url,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@asynccontextmanager
async def endpoints_restored() -> AsyncIterator[None]:
    """point_discord_at changes discord.py's class-level endpoints; put them back afterwards."""
    route, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        yield
    finally:
        discord.http.Route.BASE = route
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway


@asynccontextmanager
async def running_bot(settings: Settings, fake: FakeDiscord, *, first_poll: bool = True) -> AsyncIterator[PaperBot]:
    async with endpoints_restored():
        point_discord_at(settings)
        bot = PaperBot(settings)
        assert settings.discord_token is not None
        task = asyncio.create_task(bot.start(settings.discord_token.get_secret_value()))
        try:
            await fake.wait_until_ready(timeout=15)
            if first_poll:
                await fake.wait_for(lambda: bot.poller.last_report is not None, timeout=15, message="first poll")
            yield bot
        finally:
            await bot.close()
            await asyncio.wait_for(task, timeout=15)
            assert fake.internal_errors == [], fake.internal_errors


@dataclass
class World:
    fake: FakeDiscord
    papers: PaperServer
    bot: PaperBot
    settings: Settings
    guild: FakeGuild
    general: FakeChannel
    news: FakeChannel
    admin: FakeUser
    member: FakeUser
    extra: dict[str, Any] = field(default_factory=dict)

    async def run(
        self,
        command: str,
        options: dict[str, Any] | None = None,
        *,
        user: FakeUser | None = None,
        channel: FakeChannel | None = None,
        guild: FakeGuild | None = None,
        **kwargs: Any,
    ) -> Any:
        """Invoke a slash command as a member of the guild and wait until it has been answered."""
        inter = await self.fake.invoke(
            command,
            options or {},
            user=user or self.member,
            guild=guild or self.guild,
            channel=channel or self.general,
            **kwargs,
        )
        await inter.wait_done(timeout=10)
        return inter


def build_world(fake: FakeDiscord) -> tuple[FakeGuild, FakeChannel, FakeChannel, FakeUser, FakeUser]:
    guild = fake.add_guild("Research Lab")
    general = fake.add_text_channel(guild.id, "general")
    news = fake.add_text_channel(guild.id, "papers")
    admin = fake.add_member(guild.id, "alice", permissions=MANAGE_GUILD)
    member = fake.add_member(guild.id, "bob")
    return guild, general, news, admin, member
