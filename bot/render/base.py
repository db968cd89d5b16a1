"""The building blocks every rendered message shares: Discord's limits, escaping, fitting text into them."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import discord

from bot import text

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256
MESSAGE_EMBED_CHARS = 6000
MESSAGE_EMBEDS = 10
CONTENT_MAX = 2000
THREAD_NAME_MAX = 100
CHOICE_NAME_MAX = 100

HF_YELLOW = discord.Colour(0xFFD21E)
ARXIV_RED = discord.Colour(0xB31B1B)
NEUTRAL = discord.Colour(0x5865F2)
WARNING = discord.Colour(0xE67E22)

CARD_SUMMARY_CHARS = 700
CARD_ABSTRACT_CHARS = 1500
LIST_SUMMARY_CHARS = 220


# Backslash first (LaTeX is full of them), then everything Discord gives meaning to: emphasis, code,
# spoilers, masked links, quotes, headings, and "<" which starts mentions, channels and timestamps.
_MARKDOWN = re.compile(r"([\\*_~`|\[\]<>#])")
_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)


def escape(value: str) -> str:
    """Text that renders as itself: no markdown, no mentions, no masked links, no headings."""
    value = _MARKDOWN.sub(r"\\\1", text.clean(value))
    return _MASS_MENTION.sub("@\u200b\\1", value)


def fit(value: str, limit: int) -> str:
    """``value`` cut to ``limit`` characters at a word boundary, never leaving a dangling escape."""
    if len(value) <= limit:
        return value
    cut = text.truncate(value, limit)
    body = cut.removesuffix(text.ELLIPSIS)
    # An odd run of trailing backslashes would escape the ellipsis or be shown as a stray backslash.
    trailing = len(body) - len(body.rstrip("\\"))
    if trailing % 2:
        body = body[:-1]
    return body + text.ELLIPSIS if cut.endswith(text.ELLIPSIS) else body


def plain(value: str, limit: int) -> str:
    """For places Discord shows without markdown (footers, author names, choices, thread names)."""
    return text.truncate(text.clean(value), limit)


def authors_line(authors: Sequence[str], *, shown: int = 3, limit: int = FIELD_VALUE_MAX) -> str:
    present = [name for name in authors if text.clean(name)]
    if not present:
        return "Unknown authors"
    names = [escape(name) for name in present[:shown]]
    rest = len(present) - len(names)
    line = ", ".join(names) + (f" +{rest} more" if rest else "")
    return fit(line, limit)


def when(value: datetime | None, style: str = "D") -> str | None:
    return None if value is None else discord.utils.format_dt(value, style)  # type: ignore[arg-type]  # TimestampStyle is a Literal


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 feed``, ``2 feeds``, ``1,200 papers``: counts read as sentences, never as ``feed(s)``."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"


_UNITS = (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1))


def duration(seconds: float) -> str:
    """The two largest units, rounded down: ``15 minutes``, ``1 hour 30 minutes``, ``2 days 3 hours``."""
    left = max(0, int(seconds))
    parts = []
    for name, size in _UNITS:
        amount, left = divmod(left, size)
        if amount:
            parts.append(plural(amount, name))
    return " ".join(parts[:2]) or "0 seconds"


def every(seconds: float) -> str:
    """``every 15 minutes``, and ``every hour`` rather than ``every 1 hour``."""
    length = duration(seconds)
    single = length.startswith("1 ") and " " not in length[2:]
    return f"every {length[2:]}" if single else f"every {length}"


def fit_lines(lines: Sequence[str], limit: int, *, more: Callable[[int], str] | None = None) -> str:
    """As many whole lines as fit in ``limit``, then one line saying how many were left out.

    Cutting inside a line could split a mention or a link; dropping whole lines keeps every shown one intact.
    """
    joined = "\n".join(lines)
    if len(joined) <= limit:
        return joined
    left_out = more or (lambda count: f"… and {count:,} more")
    kept: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        if size + len(line) + 1 + len(left_out(len(lines) - index - 1)) > limit:
            break
        kept.append(line)
        size += len(line) + 1
    return fit("\n".join([*kept, left_out(len(lines) - len(kept))]), limit)


def embed_chars(embed: discord.Embed | dict[str, Any]) -> int:
    """Characters Discord counts towards the 6000 limit of a message."""
    data = embed.to_dict() if isinstance(embed, discord.Embed) else embed
    count = len(data.get("title", "")) + len(data.get("description", ""))
    count += len(data.get("footer", {}).get("text", "")) + len(data.get("author", {}).get("name", ""))
    for item in data.get("fields", []):
        count += len(item.get("name", "")) + len(item.get("value", ""))
    return count


def choice_name(value: str) -> str:
    return plain(value, CHOICE_NAME_MAX) or "…"


_SNOWFLAKE = re.compile(r"^\d{15,22}$")


def channel_mention(channel_id: int) -> str:
    return f"<#{channel_id}>" if _SNOWFLAKE.match(str(channel_id)) else f"channel {channel_id}"


def pager_refusal(command: str) -> str:
    """Previous/Next belong to whoever ran the command; everyone else is told how to get their own."""
    return f"Only the person who ran this `/{command}` can page through it. Run `/{command}` yourself to explore."


def pager_failure(command: str) -> str:
    return f"Something went wrong turning the page; please run `/{command}` again."
