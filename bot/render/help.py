"""/help: every command in one short card."""

from __future__ import annotations

import discord

from bot.render.base import NEUTRAL

HELP = [
    (
        "/search `query`",
        'Search the archive: words, `"phrases"`, `OR`, `-exclude`, or ask a question in plain words; '
        "sort and filter options.",
    ),
    (
        "/paper `id`",
        "One paper's full card, by arXiv id or arxiv.org / huggingface.co link. "
        "A paper's **Related** button shows you the 5 papers nearest to it.",
    ),
    ("/trending", "The most upvoted papers of today, this week or this month."),
    ("/related `paper`", "The 5 papers nearest to one paper (also the **Related** button under every paper)."),
    (
        "/library add · remove · list · export",
        "Your saved papers (the **Save** button under every paper); export as BibTeX, Markdown or CSV.",
    ),
    (
        "/foryou `period` `weekly`",
        "Up to 10 recent papers close to the ones you saved (save 3 or more first), each saying which saved "
        "paper it is close to; `weekly:True` sends them by DM every Monday.",
    ),
    ("/subscribe `topic`", "Get new papers on a topic by DM (same syntax as /search)."),
    ("/unsubscribe `topic`", "Stop following a topic."),
    ("/subscriptions", "The topics you follow."),
    ("/feed add · remove · list", "Automatic posts in a channel (Manage Server only)."),
    ("/feed why `paper`", "Why a paper was or wasn't posted in a channel's feed (Manage Server only)."),
    ("/why `paper`", "Why a paper did or didn't reach you by DM: your topics, DM state, daily limit."),
    ("/mydata export · delete", "Download, or delete, everything paperbot stores about you."),
    ("/status", "Is the bot healthy: sources, last poll, archive size."),
]


def help_embed() -> discord.Embed:
    embed = discord.Embed(
        title="paperbot",
        description="New research papers from Hugging Face Daily Papers and arXiv, right in Discord.",
        colour=NEUTRAL,
    )
    for name, value in HELP:
        embed.add_field(name=name, value=value, inline=False)
    embed.set_footer(
        text='Search tips: every word is required · "exact phrase" · robot OR drone · -survey · '
        "or ask a question: how do robots learn to grasp?"
    )
    return embed
