"""What ``/foryou`` says: the picks as paper cards, each naming the saved paper it is close to, or why none."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.foryou import MIN_SAVED, ForYou, Pick, Status
from bot.render.base import CONTENT_MAX, DESCRIPTION_MAX, MESSAGE_EMBED_CHARS, escape, fit, plural
from bot.render.papers import paper_embeds

PERIOD_NAMES = {"today": "in the last 24 hours", "week": "in the last 7 days", "month": "in the last 30 days"}
BECAUSE_CHARS = 90  # the saved paper's title in each card's "close to" line
_BECAUSE_ROOM = BECAUSE_CHARS + 40  # per card, reserved out of the message's 6000 characters

HOW_IT_WORKS = (
    "Recommendations come from your library: I compare every paper listed {period} with each paper you saved, "
    "by meaning, and show up to 10 of the closest, each with the saved paper it is close to."
)


def _period(result: ForYou) -> str:
    return PERIOD_NAMES.get(result.period, PERIOD_NAMES["week"])


def because_line(pick: Pick) -> str:
    return f"-# 🔗 close to your saved **{fit(escape(pick.because.title), BECAUSE_CHARS)}**"


def pick_embeds(picks: Sequence[Pick]) -> list[discord.Embed]:
    """One compact card per pick (as DMs show papers), the "close to" line first in each."""
    chosen = list(picks[:10])
    embeds = paper_embeds([pick.paper for pick in chosen], total=MESSAGE_EMBED_CHARS - _BECAUSE_ROOM * len(chosen))
    for embed, pick in zip(embeds, chosen, strict=True):
        body = embed.description or ""
        embed.description = fit(f"{because_line(pick)}\n{body}".strip(), DESCRIPTION_MAX)
    return embeds


def header(result: ForYou) -> str:
    lines = [
        f"✨ **For you**: {plural(len(result.picks), 'paper')} listed {_period(result)} close to your library "
        f"({plural(result.saved, 'saved paper')}). Save the ones you like to sharpen the next picks."
    ]
    lines.extend(f"-# {note}" for note in _waiting_notes(result))
    return fit("\n".join(lines), CONTENT_MAX)


def _waiting_notes(result: ForYou) -> list[str]:
    notes = []
    if result.recent_waiting:
        notes.append(
            f"{plural(result.recent_waiting, 'recent paper')} not indexed by meaning yet, so not compared; "
            "the index catches up in the background."
        )
    if result.seeds_waiting:
        notes.append(f"{plural(result.seeds_waiting, 'saved paper')} not indexed yet, so not used.")
    return notes


def explanation(result: ForYou) -> str:
    """Why there are no picks, in plain words (every status but OK)."""
    how = HOW_IT_WORKS.format(period=_period(result))
    if result.status is Status.TOO_FEW:
        text = (
            f"{how}\n\nYou have saved {plural(result.saved, 'paper')}; save at least {MIN_SAVED} "
            "(the **Save** button under any paper I post, or `/library add`) and I'll have something to go on."
        )
    elif result.status is Status.NO_MODEL:
        if result.reason == "loading the model":
            text = "Recommendations need the semantic index, and its model is still loading. Try again in a minute."
        else:
            text = (
                "Recommendations need semantic search, which is not available on this bot right now"
                f"{f': {escape(result.reason)}' if result.reason else ''}. "
                "`/search` and `/related` still work by words."
            )
    elif result.status is Status.NOT_EMBEDDED:
        text = (
            f"None of your saved papers is indexed by meaning yet ({plural(result.seeds_waiting, 'paper')} waiting); "
            "the index catches up in the background. Try again later."
        )
    else:
        text = f"No paper listed {_period(result)} is close enough to the papers you saved."
        notes = _waiting_notes(result)
        if notes:
            text += " " + " ".join(notes)
        if result.period != "month":
            text += " Try `/foryou period:Last 30 days`."
    return fit(text, CONTENT_MAX)


def weekly_turned(*, on: bool, changed: bool, first: int, saved: int, semantic_reason: str | None) -> str:
    """The answer to ``/foryou weekly:``: what changed, when the first DM comes, and what could stop it."""
    if not on:
        if not changed:
            return "Your weekly recommendations DM was already off."
        return "🔕 Weekly recommendations DM off. `/foryou` still shows them whenever you ask."
    text = (
        "Your weekly recommendations DM was already on."
        if not changed
        else "🔔 Weekly recommendations DM on: every Monday at 08:00 UTC I send you up to 10 papers of the past "
        "week close to your library (never one you already got by DM)."
    )
    text += f" The next one comes <t:{first}:F> (<t:{first}:R>). `/foryou weekly:False` stops it."
    if semantic_reason:
        text += f" Note: semantic search is {semantic_reason}, so there will be nothing to send until it is on."
    elif saved < MIN_SAVED:
        text += f" Save at least {MIN_SAVED} papers first (you have {saved}); until then the week is skipped."
    return fit(text, CONTENT_MAX)
