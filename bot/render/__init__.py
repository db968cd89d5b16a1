"""Everything the bot shows in Discord is built in this package, within every Discord limit by construction.

User- and source-supplied text is escaped (markdown and mentions) before it is placed, then truncated at
a word boundary to fit. ``discord.AllowedMentions.none()`` is the bot-wide default as well, so even text
that slipped through could not ping anyone.

``base`` holds the limits and the escaping every message shares; each other module renders one feature's
messages. The names most callers need are re-exported here.
"""

from bot.render.base import (
    ARXIV_RED,
    AUTHOR_MAX,
    CARD_ABSTRACT_CHARS,
    CARD_SUMMARY_CHARS,
    CHOICE_NAME_MAX,
    CONTENT_MAX,
    DESCRIPTION_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    FOOTER_MAX,
    HF_YELLOW,
    LIST_SUMMARY_CHARS,
    MESSAGE_EMBED_CHARS,
    MESSAGE_EMBEDS,
    NEUTRAL,
    THREAD_NAME_MAX,
    TITLE_MAX,
    WARNING,
    authors_line,
    channel_mention,
    choice_name,
    embed_chars,
    escape,
    fit,
    plain,
    when,
)
from bot.render.papers import (
    colour,
    links_line,
    paper_card,
    paper_embeds,
    paper_list,
    thread_name,
)

__all__ = [
    "ARXIV_RED",
    "AUTHOR_MAX",
    "CARD_ABSTRACT_CHARS",
    "CARD_SUMMARY_CHARS",
    "CHOICE_NAME_MAX",
    "CONTENT_MAX",
    "DESCRIPTION_MAX",
    "FIELDS_MAX",
    "FIELD_NAME_MAX",
    "FIELD_VALUE_MAX",
    "FOOTER_MAX",
    "HF_YELLOW",
    "LIST_SUMMARY_CHARS",
    "MESSAGE_EMBEDS",
    "MESSAGE_EMBED_CHARS",
    "NEUTRAL",
    "THREAD_NAME_MAX",
    "TITLE_MAX",
    "WARNING",
    "authors_line",
    "channel_mention",
    "choice_name",
    "colour",
    "embed_chars",
    "escape",
    "fit",
    "links_line",
    "paper_card",
    "paper_embeds",
    "paper_list",
    "plain",
    "thread_name",
    "when",
]
