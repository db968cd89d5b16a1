"""/search, /paper and /trending: reading the archive through the same core the background work uses."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.app import PaperBot
from bot.db.papers import SearchFilters
from bot.errors import UserError
from bot.interactions import defer, per_user, send
from bot.lookup import find_paper, parse_reference
from bot.models import Source
from bot.query import Query, parse_query
from bot.search import SearchPage, search
from bot.sources.http import SourceError
from bot.views import Pager

log = logging.getLogger(__name__)

PER_PAGE = 5
TRENDING_COUNT = 10
PERIODS = {"today": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
PERIOD_NAMES = {"today": "today", "week": "this week", "month": "this month"}
SOURCES = {"huggingface": Source.HF, "arxiv": Source.ARXIV}
SORT_NAMES = {"relevance": "relevance", "newest": "newest first", "upvotes": "most upvoted"}


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
        period=[
            app_commands.Choice(name="Last 24 hours", value="today"),
            app_commands.Choice(name="Last 7 days", value="week"),
            app_commands.Choice(name="Last 30 days", value="month"),
        ],
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

        async def results(page: int) -> SearchPage:
            return await search(
                self.bot.db,
                parsed,
                sort=sort,  # type: ignore[arg-type]
                since=since,
                min_upvotes=min_upvotes,
                source=source_flag,
                page=page,
                per_page=PER_PAGE,
            )

        def show(result: SearchPage) -> discord.Embed:
            return render.paper_list(
                f"🔎 {parsed.canonical()}",
                result.papers,
                start=result.page * PER_PAGE + 1,
                footer=f"Page {result.page + 1} · {SORT_NAMES.get(sort, sort)} · /paper <id> shows a full card",
                notes=parsed.notes if result.page == 0 else (),
            )

        async def fetch(page: int) -> tuple[discord.Embed, bool]:
            result = await results(page)
            return show(result), result.has_more

        first = await results(0)
        if not first.papers:
            filtered = since is not None or min_upvotes is not None or source_flag is not None
            if filtered:
                raise UserError(
                    f"Nothing in my archive matches **{parsed.canonical()}** with those filters. "
                    "Try without the period, upvote or source filter."
                )
            await self._fallback(interaction, parsed, public=public)
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
        await send(interaction, embed=show(first), view=view, ephemeral=not public)

    async def _fallback(self, interaction: discord.Interaction, parsed: Query, *, public: bool) -> None:
        """Nothing local matched: ask Hugging Face's search, store what it knows, and say where it came from."""
        words = " ".join(" ".join(term.tokens) for term in parsed.terms)
        try:
            papers = await self.bot.hf.search(words, limit=PER_PAGE)
        except SourceError as error:
            log.warning("hugging face search failed for %r: %s", words, error)
            raise UserError(
                f"Nothing in my archive matches **{parsed.canonical()}**, and Hugging Face search isn't answering "
                "right now. Try fewer or broader words."
            ) from None
        if not papers:
            raise UserError(
                f"Nothing in my archive or on Hugging Face matches **{parsed.canonical()}**. "
                "Try fewer words, an OR between alternatives, or check the spelling."
            )
        async with self.bot.db.transaction() as conn:
            await self.bot.db.papers.upsert(conn, papers)
        embed = render.paper_list(
            f"🔎 {parsed.canonical()}",
            papers,
            footer="From Hugging Face search · /paper <id> shows a full card",
            notes=[*parsed.notes, "No papers in my archive matched, so these come from Hugging Face search."],
        )
        await send(interaction, embed=embed, ephemeral=not public)

    @app_commands.command(name="paper", description="Show one paper by arXiv id or link")
    @app_commands.describe(id="An arXiv id (2401.12345, 2401.12345v2) or an arxiv.org / huggingface.co paper link")
    @app_commands.checks.cooldown(6, 30.0, key=per_user)
    async def paper(self, interaction: discord.Interaction, id: str) -> None:
        paper_id = parse_reference(id)
        local = await self.bot.db.papers.get(paper_id)
        if local is None:
            await defer(interaction, ephemeral=False)  # a Hugging Face lookup can take a moment
        paper = local or await find_paper(self.bot.db, self.bot.hf, paper_id)
        await send(interaction, embed=render.paper_card(paper, full=True))

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
        now = datetime.now(UTC)
        since = now - PERIODS[period]
        papers = await self.bot.db.papers.top(filters=SearchFilters(since=since), limit=TRENDING_COUNT)
        notes: list[str] = []
        if not papers and period == "today":
            # Weekends and early mornings (UTC) have no new list yet: show the latest day that has one.
            latest = await self.bot.db.papers.latest_listed_at()
            if latest is not None:
                day = latest.replace(hour=0, minute=0, second=0)
                papers = await self.bot.db.papers.top(filters=SearchFilters(since=day), limit=TRENDING_COUNT)
                notes.append(f"Nothing new in the last 24 hours; showing papers listed since {day:%a %d %b}.")
        if not papers:
            raise UserError(
                f"No papers with upvotes were listed {PERIOD_NAMES[period]} yet. "
                "The archive fills up as I poll Hugging Face; try a longer period."
            )
        embed = render.paper_list(
            f"📈 Trending {PERIOD_NAMES[period]}",
            papers,
            footer="Ranked by Hugging Face upvotes · /paper <id> shows a full card",
            notes=notes,
            summary_chars=160,
        )
        await send(interaction, embed=embed)


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Papers(bot))
