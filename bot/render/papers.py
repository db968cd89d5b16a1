"""Paper cards and lists: automatic posts, DMs, digests, /paper, /search and /trending."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot import text
from bot.models import Paper, Source
from bot.render.base import (
    ARXIV_RED,
    CARD_ABSTRACT_CHARS,
    CARD_SUMMARY_CHARS,
    DESCRIPTION_MAX,
    FIELD_VALUE_MAX,
    FOOTER_MAX,
    HF_YELLOW,
    LIST_SUMMARY_CHARS,
    MESSAGE_EMBED_CHARS,
    MESSAGE_EMBEDS,
    NEUTRAL,
    THREAD_NAME_MAX,
    TITLE_MAX,
    authors_line,
    escape,
    fit,
    plain,
    when,
)


def colour(paper: Paper) -> discord.Colour:
    return HF_YELLOW if paper.sources & Source.HF else ARXIV_RED


def links_line(paper: Paper) -> str:
    links = [f"[arXiv]({paper.arxiv_url})", f"[PDF]({paper.pdf_url})"]
    if paper.on_hf:
        links.append(f"[Hugging Face]({paper.hf_url})")
    if paper.github_repo:
        stars = f" ★{paper.github_stars:,}" if paper.github_stars else ""
        links.append(f"[GitHub]({paper.github_repo}){stars}")
    if paper.project_page:
        links.append(f"[Project page]({paper.project_page})")
    line = " · ".join(links)
    while len(line) > FIELD_VALUE_MAX and len(links) > 2:  # absurdly long URLs: drop the extras
        links.pop()
        line = " · ".join(links)
    return line


def _footer(paper: Paper) -> str:
    parts = [f"arXiv:{paper.id}"]
    if paper.categories:
        parts.append(", ".join(paper.categories[:4]))
    if paper.organization:
        parts.append(paper.organization)
    return plain(" · ".join(parts), FOOTER_MAX)


def paper_card(paper: Paper, *, full: bool = False) -> discord.Embed:
    """The card for one paper: an automatic post, or ``/paper`` (``full`` adds the abstract and keywords)."""
    summary = fit(escape(paper.summary), CARD_SUMMARY_CHARS) if paper.summary else ""
    description = summary
    if full and paper.abstract and paper.ai_summary:
        description += "\n\n**Abstract**\n" + fit(escape(paper.abstract), CARD_ABSTRACT_CHARS)
    elif full and paper.abstract and len(paper.abstract) > len(paper.summary):
        description = fit(escape(paper.abstract), CARD_ABSTRACT_CHARS)
    embed = discord.Embed(
        title=fit(escape(paper.title), TITLE_MAX),
        url=paper.canonical_url,
        description=fit(description, DESCRIPTION_MAX) or None,
        colour=colour(paper),
        timestamp=paper.listed_at,
    )
    embed.add_field(name="Authors", value=authors_line(paper.authors, shown=6 if full else 3), inline=False)
    if paper.upvotes is not None:
        embed.add_field(name="Upvotes", value=f"▲ {paper.upvotes:,}", inline=True)
    if paper.num_comments:
        embed.add_field(name="Comments", value=f"{paper.num_comments:,}", inline=True)
    if full and paper.published_at:
        embed.add_field(name="Published", value=when(paper.published_at) or "", inline=True)
    keywords = fit(escape(", ".join(word for word in paper.keywords if text.clean(word))), FIELD_VALUE_MAX)
    if full and keywords:
        embed.add_field(name="Keywords", value=keywords, inline=False)
    embed.add_field(name="Links", value=links_line(paper), inline=False)
    embed.set_footer(text=_footer(paper))
    if paper.thumbnail:
        embed.set_thumbnail(url=paper.thumbnail)
    return embed


def _meta_line(paper: Paper) -> str:
    parts = []
    if paper.upvotes is not None:
        parts.append(f"▲ {paper.upvotes:,}")
    parts.append(authors_line(paper.authors, shown=2, limit=160))
    if paper.listed_at:
        parts.append(when(paper.listed_at, "d") or "")
    parts.append(f"[arXiv]({paper.arxiv_url})")
    return " · ".join(part for part in parts if part)


def _list_entry(number: int, paper: Paper, summary_chars: int) -> str:
    title = fit(escape(paper.title), 200)
    lines = [f"**{number}. [{title}]({paper.canonical_url})**", _meta_line(paper)]
    if paper.summary and summary_chars > 0:
        lines.append(fit(escape(paper.summary), summary_chars))
    return "\n".join(lines)


def paper_list(
    title: str,
    papers: Sequence[Paper],
    *,
    start: int = 1,
    footer: str | None = None,
    notes: Sequence[str] = (),
    summary_chars: int = LIST_SUMMARY_CHARS,
) -> discord.Embed:
    """One embed listing several papers (search results, trending): compact and never spammy."""
    note_text = "\n".join(f"-# {escape(note)}" for note in notes)
    budget = DESCRIPTION_MAX - len(note_text) - 2
    entries: list[str] = []
    for offset, paper in enumerate(papers):
        entry = _list_entry(start + offset, paper, summary_chars)
        if sum(len(item) + 2 for item in entries) + len(entry) > budget:
            entry = _list_entry(start + offset, paper, 0)
            if sum(len(item) + 2 for item in entries) + len(entry) > budget:
                break
        entries.append(entry)
    description = "\n\n".join(entries)
    if note_text:
        description = f"{note_text}\n\n{description}" if description else note_text
    embed = discord.Embed(title=plain(title, TITLE_MAX), description=description or None, colour=NEUTRAL)
    if footer:
        embed.set_footer(text=plain(footer, FOOTER_MAX))
    return embed


def paper_embeds(papers: Sequence[Paper], *, total: int = MESSAGE_EMBED_CHARS) -> list[discord.Embed]:
    """Up to ten compact paper embeds for one message, sharing the message's 6000-character budget."""
    chosen = list(papers[:MESSAGE_EMBEDS])
    if not chosen:
        return []
    share = total // len(chosen)
    embeds = []
    for paper in chosen:
        title = fit(escape(paper.title), min(TITLE_MAX, share // 3))
        footer = plain(f"arXiv:{paper.id}", FOOTER_MAX)
        meta = _meta_line(paper)
        room = share - len(title) - len(footer) - 8
        body = meta
        if paper.summary and room - len(meta) > 40:
            body = fit(escape(paper.summary), room - len(meta) - 2) + "\n" + meta
        if len(body) > room:
            body = fit(f"[arXiv]({paper.arxiv_url})", room) if room > 0 else ""
        embed = discord.Embed(
            title=title,
            url=paper.canonical_url,
            description=body or None,
            colour=colour(paper),
            timestamp=paper.listed_at,
        )
        embed.set_footer(text=footer)
        if paper.thumbnail:
            embed.set_thumbnail(url=paper.thumbnail)
        embeds.append(embed)
    return embeds


def thread_name(paper: Paper) -> str:
    return plain(paper.title, THREAD_NAME_MAX) or f"arXiv:{paper.id}"
