"""/status and /help."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import status
from bot.app import PaperBot
from bot.interactions import send
from bot.render.help import help_embed
from bot.render.status import status_embed


class Meta(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    @app_commands.command(name="status", description="Health of the bot: sources, polls, archive")
    async def status(self, interaction: discord.Interaction) -> None:
        ingest = self.bot.get_cog("Ingest")
        report = await status.collect(
            self.bot.db,
            started_at=self.bot.started_at,
            enabled_sources=self.bot.enabled_sources,
            next_poll_at=getattr(ingest, "next_poll_at", None),
            poll_interval=self.bot.settings.poll_interval_seconds,
            guild_id=interaction.guild_id,
            user_id=interaction.user.id,
            semantic=self.bot.semantic,
        )
        await send(interaction, embed=status_embed(report), ephemeral=True)

    @app_commands.command(name="help", description="What paperbot can do")
    async def help(self, interaction: discord.Interaction) -> None:
        await send(interaction, embed=help_embed(), ephemeral=True)


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Meta(bot))
