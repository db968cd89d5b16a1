"""The header of a weekly recommendations DM: what these papers are, why each was picked, how to stop them."""

from __future__ import annotations

from collections.abc import Sequence

from bot.render.base import CONTENT_MAX, escape, fit, fit_lines, plural

TITLE_CHARS = 70


def weekly_header(picks: Sequence[tuple[str, str]], note: str = "") -> str:
    """``picks``: (paper title, title of the saved paper it is close to), one line each."""
    heading = (
        f"✨ **Your weekly picks**: {plural(len(picks), 'recent paper')} close to your library "
        "· `/foryou weekly:False` stops these"
    )
    if note:
        heading += f"\n-# {note}"
    lines = [
        f"-# **{fit(escape(title), TITLE_CHARS)}** is close to your saved **{fit(escape(because), TITLE_CHARS)}**"
        for title, because in picks
    ]
    return fit(heading + "\n" + fit_lines(lines, CONTENT_MAX - len(heading) - 1), CONTENT_MAX)
