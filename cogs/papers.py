"""/search, /paper and /trending: reading the archive through the same core the background work uses."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.app import PaperBot
from bot.buttons import paper_buttons
from bot.errors import UserError
from bot.interactions import PERIOD_CHOICES, defer, per_user, send
from bot.lookup import find_paper, parse_reference
from bot.models import Source
from bot.query import parse_query
from bot.render import search as search_text
from bot.search import PERIODS, SearchPage, search, search_hugging_face, trending
from bot.views import Pager

PER_PAGE = 5
TRENDING_COUNT = 10
SOURCES = {"huggingface": Source.HF, "arxiv": Source.ARXIV}


class Papers(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    @app_commands.command(name="search", description='Search the paper archive (words, "phrases", OR, -exclude)')
    @app_commands.describe(
        query='e.g. diffusion models, "language model" -survey, robot OR drone',
        sort="How to order the results (default: relevance)",
        period="Only papers listed in this period",
        min_upvotes="Only papers with at least this many Hugging Face upvotes",
        source="Only papers from this source",
        public="Show the results to everyone in the channel (default: only you)",
    )
    @app_commands.choices(
        sort=[
            app_commands.Choice(name="Relevance", value="relevance"),
            app_commands.Choice(name="Newest first", value="newest"),
            app_commands.Choice(name="Most upvoted", value="upvotes"),
        ],
        period=PERIOD_CHOICES,
        source=[
            app_commands.Choice(name="Hugging Face", value="huggingface"),
            app_commands.Choice(name="arXiv", value="arxiv"),
        ],
    )
    @app_commands.checks.cooldown(4, 20.0, key=per_user)
    async def search(
        self,
        interaction: discord.Interaction,
        query: str,
        sort: str = "relevance",
        period: str | None = None,
        min_upvotes: app_commands.Range[int, 0, 100_000] | None = None,
        source: str | None = None,
        public: bool = False,
    ) -> None:
        parsed = parse_query(query, strict=True)  # bad input is answered privately, before anything is deferred
        await defer(interaction, ephemeral=not public)
        since = datetime.now(UTC) - PERIODS[period] if period else None
        source_flag = SOURCES.get(source or "")
        until_pk = await self.bot.db.papers.newest_pk()  # every page of this search sees the archive as of now

        async def results(page: int) -> SearchPage:
            return await search(
                self.bot.db,
                parsed,
                sort=sort,  # type: ignore[arg-type]  # the choices are Sort's values
                since=since,
                min_upvotes=min_upvotes,
                source=source_flag,
                page=page,
                per_page=PER_PAGE,
                semantic=self.bot.semantic,
                until_pk=until_pk,
            )

        async def fetch(page: int) -> tuple[discord.Embed, bool]:
            result = await results(page)
            return search_text.search_page(result, sort=sort), result.has_more

        first = await results(0)
        if not first.papers:
            if since is not None or min_upvotes is not None or source_flag is not None:
                raise UserError(search_text.nothing_with_filters(parsed))
            found = await search_hugging_face(self.bot.db, self.bot.hf, parsed, limit=PER_PAGE)
            if not found.papers:
                raise UserError(search_text.no_fallback(found))
            await send(interaction, embed=search_text.fallback_list(found), ephemeral=not public)
            return
        view = Pager(
            owner_id=interaction.user.id,
            fetch=fetch,
            has_more=first.has_more,
            origin=interaction,
            command="search",
            timeout=self.bot.pager_timeout,
        )
        self.bot.live_views.add(view)
        await send(interaction, embed=search_text.search_page(first, sort=sort), view=view, ephemeral=not public)

    @app_commands.command(name="paper", description="Show one paper by arXiv id or link")
    @app_commands.describe(
        id="An arXiv id (2401.12345, 2401.12345v2) or an arxiv.org / huggingface.co paper link",
        public="Show the card to everyone in the channel (default: yes)",
    )
    @app_commands.checks.cooldown(6, 30.0, key=per_user)
    async def paper(self, interaction: discord.Interaction, id: str, public: bool = True) -> None:
        paper_id = parse_reference(id)
        local = await self.bot.db.papers.get(paper_id)
        if local is None:
            await defer(interaction, ephemeral=not public)  # a Hugging Face lookup can take a moment
        paper = local or await find_paper(self.bot.db, self.bot.hf, paper_id)
        await send(
            interaction, embed=render.paper_card(paper, full=True), view=paper_buttons([paper]), ephemeral=not public
        )

    @app_commands.command(name="trending", description="The most upvoted papers of today, this week or this month")
    @app_commands.describe(period="Which period (default: today)")
    @app_commands.choices(
        period=[
            app_commands.Choice(name="Today", value="today"),
            app_commands.Choice(name="This week", value="week"),
            app_commands.Choice(name="This month", value="month"),
        ]
    )
    async def trending(self, interaction: discord.Interaction, period: str = "today") -> None:
        await defer(interaction, ephemeral=False)
        result = await trending(self.bot.db, period, limit=TRENDING_COUNT)
        if not result.papers:
            raise UserError(search_text.nothing_trending(result))
        await send(interaction, embed=search_text.trending_list(result))


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Papers(bot))
