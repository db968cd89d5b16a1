"""The personal library and related papers: the Save/Remove/Related buttons, /library and /related.

This cog is the bot's ``paper_actions`` (see ``bot.buttons``): every persistent paper button ends here.
Every answer is private unless the member asks for a public /related; nothing mentions anyone.
"""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import library, render
from bot.app import PaperBot
from bot.buttons import STALE_MESSAGE, remove_button, save_buttons
from bot.errors import UserError
from bot.interactions import defer, per_user, send, send_private
from bot.library import Outcome
from bot.lookup import find_paper, parse_reference
from bot.related import related as find_related
from bot.render import actions as text
from bot.render.export import MAX_FILE_BYTES, export
from bot.views import Pager

log = logging.getLogger(__name__)

PER_PAGE = 5
NONE = discord.AllowedMentions.none()


class Library(commands.Cog):
    library = app_commands.Group(name="library", description="Papers you saved: add, remove, list, export")

    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.paper_actions = self

    async def cog_unload(self) -> None:
        self.bot.paper_actions = None

    # ---- buttons (bot.buttons.PaperActions) ------------------------------------------------------------

    async def _answering(self, interaction: discord.Interaction[Any], what: str, work: Any) -> None:
        """Run a button's work; any failure becomes a private sentence, never "interaction failed"."""
        try:
            await work
        except UserError as error:
            await self._tell(interaction, str(error))
        except Exception as error:
            reference = secrets.token_hex(3)
            log.error("%s button failed [%s] for user %s", what, reference, interaction.user.id, exc_info=error)
            await self._tell(
                interaction, f"Something went wrong on my side (error `{reference}`). Please try again in a minute."
            )

    async def _tell(self, interaction: discord.Interaction[Any], message: str) -> None:
        try:
            await send_private(interaction, message, allowed_mentions=NONE)
        except discord.HTTPException as failure:
            log.warning("could not answer a button press of user %s: %s", interaction.user.id, failure)

    async def save(self, interaction: discord.Interaction[Any], paper_id: str) -> None:
        await self._answering(interaction, "save", self._save(interaction, paper_id))

    async def _save(self, interaction: discord.Interaction[Any], paper_id: str) -> None:
        if await self.bot.db.papers.get(paper_id) is None:
            await defer(interaction, ephemeral=True)  # fetching it from Hugging Face can take a moment
        result = await library.save(self.bot.db, self.bot.hf, interaction.user.id, paper_id)
        if result.outcome is Outcome.SAVED:
            await send(
                interaction, content=text.saved(result.paper, result.count), ephemeral=True, allowed_mentions=NONE
            )
        elif result.outcome is Outcome.ALREADY:
            await send(
                interaction,
                content=text.already_saved(result.paper, result.count),
                view=remove_button(result.paper),
                ephemeral=True,
                allowed_mentions=NONE,
            )
        else:
            await send(
                interaction,
                content=text.library_full(result.paper, library.MAX_PAPERS),
                ephemeral=True,
                allowed_mentions=NONE,
            )

    async def unsave(self, interaction: discord.Interaction[Any], paper_id: str) -> None:
        await self._answering(interaction, "remove", self._unsave(interaction, paper_id))

    async def _unsave(self, interaction: discord.Interaction[Any], paper_id: str) -> None:
        was_saved, paper, left = await library.remove(self.bot.db, interaction.user.id, paper_id)
        message = text.removed(paper, paper_id, left) if was_saved else text.not_saved(paper_id)
        await send(interaction, content=message, ephemeral=True, allowed_mentions=NONE)

    async def related(self, interaction: discord.Interaction[Any], paper_id: str) -> None:
        await self._answering(interaction, "related", self._related(interaction, paper_id, public=False))

    async def stale(self, interaction: discord.Interaction[Any], custom_id: str) -> None:
        log.info("user %s pressed a button nothing handles: %r", interaction.user.id, custom_id[:100])
        await self._tell(interaction, STALE_MESSAGE)

    async def _related(self, interaction: discord.Interaction[Any], paper_id: str, *, public: bool) -> None:
        paper = await self.bot.db.papers.get(paper_id)
        if paper is None:
            await defer(interaction, ephemeral=not public)
            paper = await find_paper(self.bot.db, self.bot.hf, paper_id)
        result = await find_related(self.bot.db, getattr(self.bot, "semantic", None), paper)
        if not result.papers:
            raise UserError(text.no_related(result))
        await send(
            interaction,
            embed=text.related_embed(result),
            view=save_buttons(result.papers),
            ephemeral=not public,
            allowed_mentions=NONE,
        )

    # ---- /related and /library ------------------------------------------------------------------------

    @app_commands.command(name="related", description="The papers nearest to one paper")
    @app_commands.describe(
        paper="An arXiv id (2401.12345) or an arxiv.org / huggingface.co paper link",
        public="Show the answer to everyone in the channel (default: only you)",
    )
    @app_commands.checks.cooldown(6, 30.0, key=per_user)
    async def related_command(self, interaction: discord.Interaction, paper: str, public: bool = False) -> None:
        await self._related(interaction, parse_reference(paper), public=public)

    @library.command(name="add", description="Save a paper to your library")
    @app_commands.describe(paper="An arXiv id (2401.12345) or an arxiv.org / huggingface.co paper link")
    @app_commands.checks.cooldown(10, 30.0, key=per_user)
    async def add(self, interaction: discord.Interaction, paper: str) -> None:
        await self._save(interaction, parse_reference(paper))

    @library.command(name="remove", description="Remove a paper from your library")
    @app_commands.describe(paper="One of your saved papers (start typing to pick it)")
    async def remove(self, interaction: discord.Interaction, paper: str) -> None:
        await self._unsave(interaction, parse_reference(paper))

    @remove.autocomplete("paper")
    async def _saved_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        found = await self.bot.db.library.complete(interaction.user.id, current[:100])
        return [
            app_commands.Choice(name=render.choice_name(f"{paper_id} · {title}"), value=paper_id)
            for paper_id, title in found
        ]

    @library.command(name="list", description="The papers you saved, newest first")
    @app_commands.describe(query='Only papers with these words (same syntax as /search, e.g. "graph neural")')
    async def list_library(self, interaction: discord.Interaction, query: str | None = None) -> None:
        user_id = interaction.user.id
        first = await library.list_page(self.bot.db, user_id, query=query, per_page=PER_PAGE)
        if not first.papers:
            message = text.nothing_matches(query or "") if first.query and first.total else text.EMPTY_LIBRARY
            await send(interaction, content=message, ephemeral=True, allowed_mentions=NONE)
            return

        async def fetch(page: int) -> tuple[discord.Embed, bool]:
            result = await library.list_page(self.bot.db, user_id, query=query, page=page, per_page=PER_PAGE)
            embed = text.library_page(
                result.papers, page=page, per_page=PER_PAGE, total=result.total, query=result.query
            )
            return embed, result.has_more

        embed = text.library_page(first.papers, page=0, per_page=PER_PAGE, total=first.total, query=first.query)
        if not first.has_more:
            await send(interaction, embed=embed, ephemeral=True, allowed_mentions=NONE)
            return
        view = Pager(
            owner_id=user_id,
            fetch=fetch,
            has_more=True,
            origin=interaction,
            command="library list",
            timeout=self.bot.pager_timeout,
        )
        self.bot.live_views.add(view)
        await send(interaction, embed=embed, view=view, ephemeral=True, allowed_mentions=NONE)

    @library.command(name="export", description="Download your library as a file (BibTeX, Markdown or CSV)")
    @app_commands.describe(format="File format (default: BibTeX)")
    @app_commands.choices(
        format=[
            app_commands.Choice(name="BibTeX (.bib)", value="bibtex"),
            app_commands.Choice(name="Markdown (.md)", value="markdown"),
            app_commands.Choice(name="CSV (.csv)", value="csv"),
        ]
    )
    @app_commands.checks.cooldown(5, 60.0, key=per_user)
    async def export_library(self, interaction: discord.Interaction, format: str = "bibtex") -> None:
        saved = await self.bot.db.library.all_saved(interaction.user.id)
        if not saved:
            raise UserError(text.empty_export())
        await defer(interaction, ephemeral=True)
        # Rendering 2,000 entries takes a few hundred ms (bench/library.py): keep it off the event loop.
        name, data = await asyncio.to_thread(export, saved, format)  # type: ignore[arg-type]  # the choices are export formats
        if len(data) > MAX_FILE_BYTES:
            raise UserError(text.export_too_big(len(data), MAX_FILE_BYTES))
        await send(
            interaction,
            content=text.export_note(len(saved), format),
            file=discord.File(io.BytesIO(data), filename=name),
            ephemeral=True,
            allowed_mentions=NONE,
        )


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Library(bot))
