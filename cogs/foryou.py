"""/foryou: recent papers close to the member's library. Private unless the member asks for a public answer."""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from discord.ext import commands

from bot import foryou
from bot import weekly as weekly_service
from bot.app import PaperBot
from bot.buttons import paper_buttons
from bot.interactions import PERIOD_CHOICES, defer, per_user, send, send_private
from bot.render import foryou as text
from bot.tasks import cancel_and_wait

NONE = discord.AllowedMentions.none()


class ForYou(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.weekly = weekly_service.WeeklyPicks(
            self.bot.db,
            lambda: getattr(self.bot, "semantic", None),
            clock=self.bot.dispatcher.now,
            wake=self.bot.dispatcher.wake,
        )
        self._task: asyncio.Task[None] | None = None
        if not self.bot.sync_only:
            self._task = asyncio.create_task(self.weekly.run_forever(), name="weekly-picks")

    async def cog_unload(self) -> None:
        await cancel_and_wait(self._task)

    @app_commands.command(name="foryou", description="Recent papers close to the papers you saved")
    @app_commands.describe(
        period="Papers listed in this period (default: last 7 days)",
        weekly="True: get these by DM every Monday; False: stop that",
        public="Show the answer to everyone in the channel (default: only you)",
    )
    @app_commands.choices(period=PERIOD_CHOICES)
    @app_commands.checks.cooldown(4, 30.0, key=per_user)
    async def foryou_command(
        self,
        interaction: discord.Interaction,
        period: str = foryou.DEFAULT_PERIOD,
        weekly: bool | None = None,
        public: bool = False,
    ) -> None:
        semantic = getattr(self.bot, "semantic", None)
        if weekly is not None:
            await self._weekly(interaction, on=weekly)
            return
        blocked = await foryou.obstacle(self.bot.db, semantic, interaction.user.id, period=period)
        if blocked is not None:
            await send_private(interaction, text.explanation(blocked), allowed_mentions=NONE)
            return
        await defer(interaction, ephemeral=not public)  # scoring a month of papers can take a moment
        result = await foryou.recommend(self.bot.db, semantic, interaction.user.id, period=period)
        if result.status is not foryou.Status.OK:
            await send_private(interaction, text.explanation(result), allowed_mentions=NONE)
            return
        papers = [pick.paper for pick in result.picks]
        await send(
            interaction,
            content=text.header(result),
            embeds=text.pick_embeds(result.picks),
            view=paper_buttons(papers),
            ephemeral=not public,
            allowed_mentions=NONE,
        )

    async def _weekly(self, interaction: discord.Interaction, *, on: bool) -> None:
        now = self.bot.dispatcher.now()
        changed = await weekly_service.turn(self.bot.db, interaction.user.id, on=on, now=now)
        saved = await self.bot.db.library.count(interaction.user.id)
        semantic = getattr(self.bot, "semantic", None)
        message = text.weekly_turned(
            on=on,
            changed=changed,
            first=weekly_service.next_slot(now),
            saved=saved,
            semantic_reason=None if semantic is not None and semantic.enabled else "turned off on this bot",
        )
        await send_private(interaction, message, allowed_mentions=NONE)


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(ForYou(bot))
