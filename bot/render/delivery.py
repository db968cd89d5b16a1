"""The words around automatic deliveries: digest and DM headers, the daily-limit note, the DMs-closed notice.

The papers themselves are rendered by ``bot.render.papers``; these are the message contents that go with them.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.render.base import CONTENT_MAX, escape, fit

TOPIC_CHARS = 80
TOPICS_SHOWN = 5

DMS_PAUSED_NOTICE = (
    "📭 I couldn't send you the papers on your topics: Discord refused my direct message, so your DMs from "
    "server members look closed. Allow them (Server menu → Privacy Settings → Direct Messages) and I'll "
    "send what's waiting with the next batch. `/unsubscribe` stops them instead."
)


def digest_header(papers: int | None, part: int = 1) -> str:
    """The first message of a digest says how many papers it holds; later ones say they continue it.

    ``papers`` is None when the count is not known (a batch resent after a restart).
    """
    if part > 1:
        return f"📰 **Daily digest** (continued, part {part})"
    if papers is None:
        return "📰 **Daily digest**"
    return f"📰 **Daily digest**: {papers:,} new paper{'s' if papers != 1 else ''}"


def daily_limit_note(cap: int, more: int, *, at_least: bool = False) -> str:
    """Under the DM that reaches the daily cap: what was held back, and how to get fewer or find them.

    ``at_least``: ``more`` is a lower bound (bot/db/dm_slots.py counts exactly unless it pruned).
    """
    bound = "at least " if at_least else ""
    return (
        f"That makes {cap} papers today, your daily limit: {bound}{more} more match{'es' if more != 1 else ''} today "
        "won't be sent. Drop a topic with /unsubscribe to get fewer, or find them with /search."
    )


def dm_header(count: int, note: str = "", topics: Sequence[str] = (), picks: int = 0) -> str:
    """A DM says which of the member's topics matched and how to stop these messages.

    ``picks``: weekly recommendations sent in the same message (a batch can mix both when they were queued
    together); they are named so the member knows why those papers came, and how to stop them too.
    """
    heading = f"📬 {count} new paper{'s' if count != 1 else ''} on your topics"
    if topics:
        shown = ", ".join(f"**{fit(escape(topic), TOPIC_CHARS)}**" for topic in topics[:TOPICS_SHOWN])
        more = f" and {len(topics) - TOPICS_SHOWN} more" if len(topics) > TOPICS_SHOWN else ""
        heading += f" matching {shown}{more}"
    if picks:
        heading += f", and {picks} weekly pick{'s' if picks != 1 else ''} close to your library"
        heading += " · `/unsubscribe` and `/foryou weekly:False` stop these"
    else:
        heading += " · `/unsubscribe` stops these"
    if note:
        heading += f"\n-# {note}"
    return fit(heading, CONTENT_MAX)
