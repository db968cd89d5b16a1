"""/search result pages, the Hugging Face fallback and /trending: paper lists with the words around them."""

from __future__ import annotations

import discord

from bot.query import Query
from bot.render.base import escape, fit
from bot.render.papers import paper_list
from bot.search import Fallback, SearchPage, Trending

SORT_NAMES = {"relevance": "relevance", "newest": "newest first", "upvotes": "most upvoted"}
PERIOD_NAMES = {"today": "today", "week": "this week", "month": "this month"}
CARD_HINT = "/paper <id> shows a full card"
QUERY_CHARS = 300
TRENDING_SUMMARY_CHARS = 160


def _title(query: Query) -> str:
    return f"🔎 {query.canonical()}"


def _shown(query: Query) -> str:
    """The query as it appears in a sentence: bold, and never markdown of its own."""
    return f"**{fit(escape(query.canonical()), QUERY_CHARS)}**"


def search_page(result: SearchPage, *, sort: str) -> discord.Embed:
    """One page of /search results; notes about how the query was read appear on the first page only."""
    return paper_list(
        _title(result.query),
        result.papers,
        start=result.page * result.per_page + 1,
        footer=f"Page {result.page + 1} · {SORT_NAMES.get(sort, sort)} · {CARD_HINT}",
        notes=result.notes if result.page == 0 else (),
    )


def nothing_with_filters(query: Query) -> str:
    return (
        f"Nothing in my archive matches {_shown(query)} with those filters. "
        "Try without the period, upvote or source filter."
    )


def fallback_list(found: Fallback) -> discord.Embed:
    return paper_list(
        _title(found.query),
        found.papers,
        footer=f"From Hugging Face search · {CARD_HINT}",
        notes=[*found.query.notes, "No papers in my archive matched, so these come from Hugging Face search."],
    )


def no_fallback(found: Fallback) -> str:
    """Neither the archive nor Hugging Face had anything; say which, since the advice differs."""
    if not found.answered:
        return (
            f"Nothing in my archive matches {_shown(found.query)}, and Hugging Face search isn't answering "
            "right now. Try fewer or broader words."
        )
    return (
        f"Nothing in my archive or on Hugging Face matches {_shown(found.query)}. "
        "Try fewer words, an OR between alternatives, or check the spelling."
    )


def trending_list(result: Trending) -> discord.Embed:
    notes = []
    if result.since_day is not None:
        notes.append(f"Nothing new in the last 24 hours; showing papers listed since {result.since_day:%a %d %b}.")
    return paper_list(
        f"📈 Trending {PERIOD_NAMES.get(result.period, result.period)}",
        result.papers,
        footer=f"Ranked by Hugging Face upvotes · {CARD_HINT}",
        notes=notes,
        summary_chars=TRENDING_SUMMARY_CHARS,
    )


def nothing_trending(result: Trending) -> str:
    return (
        f"No papers with upvotes were listed {PERIOD_NAMES.get(result.period, result.period)} yet. "
        "The archive fills up as I poll Hugging Face; try a longer period."
    )
