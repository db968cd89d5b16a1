"""/subscribe, /unsubscribe and /subscriptions: personal topics, delivered by DM. Every answer is private."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import render, subscriptions
from bot.app import PaperBot
from bot.interactions import defer, per_user, send
from bot.query import parse_query
from bot.render import topics as topic_text


class Topics(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    @app_commands.command(name="subscribe", description="Get new papers on a topic by DM (same syntax as /search)")
    @app_commands.describe(topic='e.g. diffusion models, "reward model" OR rlhf, robot -survey')
    @app_commands.checks.cooldown(5, 60.0, key=per_user)
    async def subscribe(self, interaction: discord.Interaction, topic: str) -> None:
        parse_query(topic, strict=True)  # a bad topic is refused at once, before deferring
        await defer(interaction, ephemeral=True)
        result = await subscriptions.subscribe(self.bot.db, interaction.user.id, topic)
        await send(interaction, content=topic_text.subscribed(result), ephemeral=True)

    @app_commands.command(name="unsubscribe", description="Stop following one of your topics")
    @app_commands.describe(topic="One of your topics (start typing to pick it)")
    async def unsubscribe(self, interaction: discord.Interaction, topic: str) -> None:
        removed = await subscriptions.unsubscribe(self.bot.db, interaction.user.id, topic)
        await send(interaction, content=topic_text.unsubscribed(removed), ephemeral=True)

    @unsubscribe.autocomplete("topic")
    async def _topic_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        topics = await subscriptions.suggest(self.bot.db, interaction.user.id, current)
        return [
            app_commands.Choice(name=render.choice_name(topic.query), value=subscriptions.choice_value(topic))
            for topic in topics
        ]

    @app_commands.command(name="subscriptions", description="List the topics you follow")
    async def list_topics(self, interaction: discord.Interaction) -> None:
        topics = await self.bot.db.topics.for_user(interaction.user.id)
        if not topics:
            await send(interaction, content=topic_text.NO_TOPICS, ephemeral=True)
            return
        await send(interaction, embed=topic_text.topic_list(topics), ephemeral=True)


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Topics(bot))
