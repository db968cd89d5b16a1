"""/status and /help."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import render, status
from bot.app import PaperBot
from bot.db.sources import SourceState
from bot.interactions import send

SOURCE_LABELS = {"huggingface": "Hugging Face", "arxiv": "arXiv"}

HELP = [
    ("/search `query`", 'Search the archive: words, `"phrases"`, `OR`, `-exclude`; sort and filter options.'),
    ("/paper `id`", "One paper's full card, by arXiv id or arxiv.org / huggingface.co link."),
    ("/trending", "The most upvoted papers of today, this week or this month."),
    ("/subscribe `topic`", "Get new papers on a topic by DM (same syntax as /search)."),
    ("/unsubscribe `topic`", "Stop following a topic."),
    ("/subscriptions", "The topics you follow."),
    ("/feed add · remove · list", "Automatic posts in a channel (Manage Server only)."),
    ("/status", "Is the bot healthy: sources, last poll, archive size."),
]


def source_line(state: SourceState) -> str:
    label = SOURCE_LABELS.get(state.name, state.name)
    if state.last_error:
        since = render.when(state.last_error_at, "R") or "recently"
        retry = f"; next try {render.when(state.next_attempt_at, 'R')}" if state.next_attempt_at else ""
        return f"⚠️ **{label}**: failing since {since}: {render.fit(render.escape(state.last_error), 300)}{retry}"
    if state.last_success_at is None:
        return f"⏳ **{label}**: not polled yet"
    count = f", {state.last_count:,} papers in the last fresh response" if state.last_count is not None else ""
    return f"✅ **{label}**: last successful poll {render.when(state.last_success_at, 'R')}{count}"


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
        )
        embed = discord.Embed(title="paperbot status", colour=render.NEUTRAL)
        embed.add_field(name="Up since", value=render.when(report.started_at, "R") or "-", inline=True)
        embed.add_field(name="Papers stored", value=f"{report.papers:,}", inline=True)
        next_poll = render.when(report.next_poll_at, "R") if report.next_poll_at else "not scheduled"
        embed.add_field(name="Next poll", value=f"{next_poll} (every {report.poll_interval:,} s)", inline=True)
        embed.add_field(
            name="Sources",
            value=render.fit("\n".join(source_line(state) for state in report.sources) or "none enabled", 1024),
            inline=False,
        )
        if interaction.guild_id is not None:
            paused = [feed for feed in report.guild_feeds if not feed.enabled]
            counts = report.guild_deliveries
            lines = [
                f"{len(report.guild_feeds)} feed(s), {len(paused)} paused",
                f"Posts: {counts.pending:,} pending · {counts.sent_24h:,} sent in 24 h · {counts.failed:,} failed",
            ]
            lines += [
                f"⛔ {render.channel_mention(feed.channel_id)}: {render.escape(feed.disabled_reason or '')}"
                for feed in paused[:5]
            ]
            embed.add_field(name="This server", value=render.fit("\n".join(lines), 1024), inline=False)
        dms = report.your_dms
        if dms.pending or dms.sent_24h or dms.failed or report.dms_paused:
            line = f"{dms.pending:,} pending · {dms.sent_24h:,} sent in 24 h · {dms.failed:,} failed"
            if report.dms_paused:
                line += "\n📭 paused: Discord refused my last DM to you"
            embed.add_field(name="Your topic DMs", value=line, inline=False)
        await send(interaction, embed=embed, ephemeral=True)

    @app_commands.command(name="help", description="What paperbot can do")
    async def help(self, interaction: discord.Interaction) -> None:
        embed = discord.Embed(
            title="paperbot",
            description="New research papers from Hugging Face Daily Papers and arXiv, right in Discord.",
            colour=render.NEUTRAL,
        )
        for name, value in HELP:
            embed.add_field(name=name, value=value, inline=False)
        embed.set_footer(text='Search tips: every word is required · "exact phrase" · robot OR drone · -survey')
        await send(interaction, embed=embed, ephemeral=True)


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Meta(bot))
