"""/subscribe, /unsubscribe and /subscriptions: personal topics, answered privately."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.db.topics import Topic
from bot.render.base import CONTENT_MAX, DESCRIPTION_MAX, NEUTRAL, escape, fit, fit_lines, plural, when
from bot.subscriptions import MAX_TOPICS, PREVIEW_DAYS, Subscribed

TOPIC_CHARS = 300
LISTED_TOPIC_CHARS = 120  # 25 topics of this length, numbered and dated, stay within one description
NOTE_CHARS = 300

NO_TOPICS = "You don't follow any topics yet. `/subscribe topic:diffusion models` starts one."


def subscribed(result: Subscribed) -> str:
    """The answer to /subscribe: what is followed now, and whether it would have found anything lately."""
    lines = [f"✅ You now follow **{fit(escape(result.query.canonical()), TOPIC_CHARS)}**."]
    window = f"in the last {plural(PREVIEW_DAYS, 'day')}"
    if result.recent_matches:
        lines.append(
            f"It would have matched **{plural(result.recent_matches, 'paper')}** {window}; "
            "new matches will come to you by DM."
        )
    else:
        lines.append(
            f"No paper of the last {plural(PREVIEW_DAYS, 'day')} matches it yet. Check the spelling, or broaden it "
            "with OR (`/search` shows what a topic finds)."
        )
        if result.suggestion:
            lines.append(
                "Topics match every word exactly. For a question, its rarest words with OR work better: "
                f"`/subscribe topic:{fit(result.suggestion, TOPIC_CHARS)}`"  # letters, digits and OR only
            )
    lines += [f"-# {fit(escape(note), NOTE_CHARS)}" for note in result.query.notes]
    return fit_lines(lines, CONTENT_MAX)


def unsubscribed(topic: Topic) -> str:
    return f"🗑️ You no longer follow **{fit(escape(topic.query), TOPIC_CHARS)}**."


def topic_list(topics: Sequence[Topic]) -> discord.Embed:
    lines = [
        f"{number}. **{fit(escape(topic.query), LISTED_TOPIC_CHARS)}** · since {when(topic.created_at)}"
        for number, topic in enumerate(topics, start=1)
    ]
    embed = discord.Embed(
        title=f"Your topics ({len(topics):,} of {MAX_TOPICS})",
        description=fit_lines(lines, DESCRIPTION_MAX) or None,
        colour=NEUTRAL,
    )
    embed.set_footer(text="New matching papers arrive by DM · /unsubscribe removes a topic")
    return embed
