"""/why: what the bot did with one paper for the member. Every answer is private."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import explain
from bot.app import PaperBot
from bot.interactions import send
from bot.lookup import parse_reference
from bot.render import why as why_text


class Personal(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    @app_commands.command(name="why", description="Why a paper did or didn't reach you by DM")
    @app_commands.describe(paper="arXiv id or arxiv.org / huggingface.co link")
    async def why(self, interaction: discord.Interaction, paper: str) -> None:
        paper_id = parse_reference(paper)
        explained = await explain.explain_member(self.bot.db, interaction.user.id, paper_id)
        await send(interaction, embed=why_text.member_why(explained), ephemeral=True)


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Personal(bot))
