"""/feed add, remove and list: what a channel's feed does, in one sentence, and every feed of a server."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import discord

from bot.db.feeds import Feed
from bot.feeds import SavedFeed
from bot.models import Source
from bot.render.base import CONTENT_MAX, NEUTRAL, channel_mention, escape, fit, plain, plural

SOURCE_NAMES = {
    int(Source.HF | Source.ARXIV): "Hugging Face and arXiv",
    int(Source.HF): "Hugging Face",
    int(Source.ARXIV): "arXiv",
}

# Ten feeds a page keep every page under the 6000-character message limit whatever the feeds hold:
# 10 x (name 100 + value 450) + title and footer < 6000.
FEEDS_PER_PAGE = 10
NAME_CHARS = 100
VALUE_CHARS = 450
STATUS_CHARS = 200
TOPIC_CHARS = 300
TIMEZONE_CHARS = 64

NOT_IN_SERVER = "Feeds belong to a server channel; use this command in a server."
NEED_MANAGE_SERVER = "You need the **Manage Server** permission to manage feeds."
NOT_TEXT_CHANNEL = "Feeds post to text or announcement channels. Pick one with the `channel` option."
PICK_CHANNEL = "Pick the channel whose feed you want to remove."
NO_FEED_THERE = "There is no feed in that channel. `/feed list` shows this server's feeds."
NO_FEEDS = "This server has no feeds yet. `/feed add` starts one."


def describe(feed: Feed) -> str:
    """What the feed posts, as the rest of a sentence: "every new paper from arXiv, as each one appears"."""
    what = f"papers matching **{fit(escape(feed.topic), TOPIC_CHARS)}**" if feed.topic else "every new paper"
    parts = [f"{what} from {SOURCE_NAMES.get(int(feed.sources), 'both sources')}"]
    if feed.min_upvotes:
        parts.append(f"with at least {plural(feed.min_upvotes, 'upvote')}")
    if feed.mode == "digest":
        zone = fit(escape(feed.timezone), TIMEZONE_CHARS)
        parts.append(f"as a daily digest at {feed.digest_hour:02d}:00 {zone}")
    else:
        parts.append("as each one appears")
    if feed.threads:
        parts.append("with a discussion thread on each")
    return ", ".join(parts)


def status_line(feed: Feed) -> str:
    if feed.enabled:
        return "✅ active"
    reason = fit(escape(feed.disabled_reason or "unknown reason"), STATUS_CHARS - 60)
    return f"⛔ paused: {reason} (run `/feed add` here to resume)"


def cannot_post(channel_id: int, missing: Sequence[str]) -> str:
    needed = ", ".join(f"**{escape(name)}**" for name in missing)
    return fit(
        f"I can't post in {channel_mention(channel_id)}: I need {needed} there. "
        "Grant them to my role (or in the channel's permissions) and run this again.",
        CONTENT_MAX,
    )


SETTING_NAMES = {
    "topic": "topic",
    "min_upvotes": "minimum upvotes",
    "sources": "source",
    "mode": "mode",
    "digest_hour": "digest hour",
    "timezone": "time zone",
    "threads": "threads",
}
NO_HISTORY = (
    "Note: I also need **Read Message History** in {channel} to check, after a crash, what I already posted "
    "(without it a restart could post a paper twice)."
)


def _value(name: str, value: object) -> str:
    if name == "topic":
        return f"**{fit(escape(str(value)), 100)}**" if value else "all papers"
    if name == "sources" and isinstance(value, Source):
        return SOURCE_NAMES.get(int(value), "both sources")
    if name == "mode":
        return "daily digest" if value == "digest" else "each paper as it appears"
    if name == "digest_hour" and isinstance(value, int):
        return f"{value:02d}:00"
    if name == "threads":
        return "on" if value else "off"
    return fit(escape(str(value)), 64)


def changes_text(changes: Sequence[tuple[str, object, object]]) -> str:
    """ "minimum upvotes 10 → 5; mode each paper as it appears → daily digest" """
    return "; ".join(
        f"{SETTING_NAMES.get(name, name)} {_value(name, old)} → {_value(name, new)}" for name, old, new in changes
    )


def missing_history(channel_id: int) -> str:
    return NO_HISTORY.format(channel=channel_mention(channel_id))


def feed_saved(saved: SavedFeed, *, backfill: bool) -> str:
    """The private confirmation of /feed add: what the channel gets from now on, and what changed or happens first."""
    verb = "will now get" if saved.created else "now gets"
    if saved.created:
        lead = ""
    elif saved.resumed:
        lead = "▶️ Resumed. "
    elif saved.changes:
        lead = ""
    else:
        lead = "Nothing changed. "
    changed = f" Changed: {changes_text(saved.changes)}." if saved.changes else ""
    if saved.backfilled:
        start = f"Posting today's top {saved.backfilled:,} now; after that, new papers only."
    elif backfill:
        start = "Nothing from today matches yet; new papers will follow as they appear."
    else:
        start = "New papers only: nothing already listed is posted."
    if not saved.created and not backfill:
        start = ""
    sentence = f"{lead}📬 {channel_mention(saved.feed.channel_id)} {verb} {describe(saved.feed)}.{changed} {start}"
    return fit(sentence.strip(), CONTENT_MAX)


def feed_removed(channel_id: int) -> str:
    return f"🗑️ Removed the feed in {channel_mention(channel_id)}."


def feed_page_count(total: int) -> int:
    return max(1, -(-total // FEEDS_PER_PAGE))


def feed_list(feeds: Sequence[Feed], channel_names: Mapping[int, str | None], *, page: int = 0) -> discord.Embed:
    """One page of a server's feeds; ``channel_names`` maps channel ids to names (None: not known)."""
    pages = feed_page_count(len(feeds))
    page = min(max(page, 0), pages - 1)
    first = page * FEEDS_PER_PAGE
    shown = feeds[first : first + FEEDS_PER_PAGE]
    embed = discord.Embed(title=f"Feeds in this server ({len(feeds):,})", colour=NEUTRAL)
    for feed in shown:
        name = plain(channel_names.get(feed.channel_id) or str(feed.channel_id), NAME_CHARS)
        status = status_line(feed)
        value = f"{fit(describe(feed), VALUE_CHARS - len(status) - 1)}\n{status}"
        embed.add_field(name=fit(escape(f"#{name}"), NAME_CHARS), value=value, inline=False)
    if pages > 1:
        embed.set_footer(text=f"Page {page + 1} of {pages} · feeds {first + 1}–{first + len(shown)} of {len(feeds)}")
    return embed
