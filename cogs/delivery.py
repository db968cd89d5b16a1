"""Background delivery: the dispatcher task, gateway events that retire feeds, and the DMs-closed notice."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PaperBot
from bot.delivery import outbox
from bot.render.delivery import DMS_PAUSED_NOTICE
from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class DeliveryEvents(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot
        self._task: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        # Started from setup_hook (via load_extension), never on_ready, which fires again on reconnects.
        self._task = asyncio.create_task(self.bot.dispatcher.run_forever(), name="dispatcher")

    async def cog_unload(self) -> None:
        # A send cut off here leaves its rows 'sending' with their nonce; the next start finishes them.
        self.bot.dispatcher.stop()
        await cancel_and_wait(self._task)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        removed = await outbox.guild_gone(self.bot.db, guild.id)
        log.info("left guild %s: removed its %d feed(s)", guild.id, removed)

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        if await outbox.channel_gone(self.bot.db, channel.id, "channel deleted"):
            log.info("channel %s in guild %s was deleted: removed its feed", channel.id, channel.guild.id)

    @commands.Cog.listener()
    async def on_app_command_completion(
        self, interaction: discord.Interaction, command: app_commands.Command[Any, ..., Any]
    ) -> None:
        """Tell a user whose DMs were refused, once, and try them again from the next batch on."""
        if not await outbox.resume_dms(self.bot.db, interaction.user.id):
            return
        self.bot.dispatcher.wake()
        try:
            await interaction.followup.send(DMS_PAUSED_NOTICE, ephemeral=True)
        except discord.HTTPException as error:
            log.warning("could not tell user %s their DMs are closed: %s", interaction.user.id, error)


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(DeliveryEvents(bot))
