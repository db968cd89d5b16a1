"""/why and /mydata: what the bot did with and stores about the member. Every answer is private."""

from __future__ import annotations

import io

import discord
from discord import app_commands
from discord.ext import commands

from bot import explain, mydata, weekly
from bot.app import PaperBot
from bot.interactions import send
from bot.lookup import parse_reference
from bot.render import mydata as mydata_text
from bot.render import why as why_text
from bot.views import Confirm


class Personal(commands.Cog):
    mydata_group = app_commands.Group(name="mydata", description="See or delete what paperbot stores about you")

    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    @mydata_group.command(name="export", description="Download everything paperbot stores about you (JSON)")
    async def export(self, interaction: discord.Interaction) -> None:
        document = await mydata.export(self.bot.db, interaction.user.id)
        data = discord.File(io.BytesIO(mydata.export_bytes(document)), filename=mydata.EXPORT_NAME)
        await send(interaction, content=mydata_text.EXPORTED, file=data, ephemeral=True)

    @mydata_group.command(name="delete", description="Delete your topics, DM settings and delivery history")
    async def delete(self, interaction: discord.Interaction) -> None:
        user_id = interaction.user.id

        async def confirmed(pressed: discord.Interaction) -> None:
            result = await mydata.delete(self.bot.db, user_id)
            await pressed.response.edit_message(content=mydata_text.removed(result), view=None)

        view = Confirm(
            owner_id=user_id,
            label=mydata_text.CONFIRM_LABEL,
            action=confirmed,
            cancelled=mydata_text.CANCELLED,
            already=mydata_text.ALREADY,
            origin=interaction,
        )
        self.bot.live_views.add(view)
        await send(interaction, content=mydata_text.CONFIRM, view=view, ephemeral=True)

    @app_commands.command(name="why", description="Why a paper did or didn't reach you by DM")
    @app_commands.describe(paper="arXiv id or arxiv.org / huggingface.co link")
    async def why(self, interaction: discord.Interaction, paper: str) -> None:
        paper_id = parse_reference(paper)
        explained = await explain.explain_member(self.bot.db, interaction.user.id, paper_id)
        because = await weekly.because_title(self.bot.db, interaction.user.id, paper_id)
        await send(interaction, embed=why_text.member_why(explained, weekly_because=because), ephemeral=True)


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Personal(bot))
