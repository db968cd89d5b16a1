"""What the Save/Related buttons, /library and /related say."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.db.library import SavedPaper
from bot.models import Paper
from bot.related import Related
from bot.render.base import DESCRIPTION_MAX, NEUTRAL, TITLE_MAX, escape, fit, plain, plural
from bot.render.papers import paper_list


def _title(paper: Paper) -> str:
    return f"**{fit(escape(paper.title), 200)}**"


def saved(paper: Paper, count: int) -> str:
    return f"🔖 Saved: {_title(paper)}. {plural(count, 'paper')} in your library; `/library list` shows them."


def already_saved(paper: Paper, count: int) -> str:
    return (
        f"{_title(paper)} is already in your library ({plural(count, 'paper')}). "
        "Remove it with the button below if you no longer want it."
    )


def library_full(paper: Paper, limit: int) -> str:
    return (
        f"Your library is full: it holds at most {limit:,} papers, so {_title(paper)} wasn't saved. "
        "Remove some with `/library remove` (export them first with `/library export`), then save again."
    )


def removed(paper: Paper | None, paper_id: str, count: int) -> str:
    name = _title(paper) if paper else f"arXiv:{paper_id}"
    return f"Removed {name} from your library. {plural(count, 'paper')} left."


def not_saved(paper_id: str) -> str:
    return f"arXiv:{paper_id} isn't in your library, so there was nothing to remove."


EMPTY_LIBRARY = "Your library is empty. Press **Save** under any paper the bot posts, or use `/library add paper:<id>`."


def empty_export() -> str:
    return f"There is nothing to export yet. {EMPTY_LIBRARY}"


def nothing_matches(query: str) -> str:
    return f"No paper in your library matches `{plain(query, 100)}`. `/library list` without words shows all of them."


def library_page(
    saved_papers: Sequence[SavedPaper], *, page: int, per_page: int, total: int, query: str | None
) -> discord.Embed:
    title = f"Your library ({plural(total, 'paper')})"
    if query:
        title += f": matching {query}"
    return paper_list(
        plain(title, TITLE_MAX),
        [item.paper for item in saved_papers],
        start=page * per_page + 1,
        footer=f"Page {page + 1} · newest saved first · /library export gives a BibTeX file",
    )


def export_note(count: int, fmt: str) -> str:
    return f"Your library: {plural(count, 'paper')} as {fmt}."


def export_too_big(size: int, limit: int) -> str:
    return (
        f"That export would be {size / 1024 / 1024:.1f} MiB, over Discord's "
        f"{limit // 1024 // 1024} MiB limit for a file. "
        "Try `format:csv`, which is smaller."
    )


def related_embed(result: Related) -> discord.Embed:
    """The nearest papers with their one-line summaries; says which reading found them."""
    notes = []
    if result.method == "lexical":
        if result.semantic_off:
            notes.append("Semantic search is off, so these share words with the title rather than its meaning.")
        else:
            notes.append("This paper isn't in the semantic index yet; these share words with its title.")
    embed = paper_list(
        f"Related to: {result.paper.title}",
        result.papers,
        notes=notes,
        footer="Save any of them with the numbered buttons",
    )
    if embed.description and len(embed.description) > DESCRIPTION_MAX:
        embed.description = fit(embed.description, DESCRIPTION_MAX)
    embed.colour = NEUTRAL
    return embed


def no_related(result: Related) -> str:
    base = f"I found no papers related to {_title(result.paper)} in the archive yet."
    if result.semantic_off:
        base += " Semantic search is off, so only papers sharing its title words could be found."
    return base
