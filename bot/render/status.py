"""/status: the bot's health as a member would want to read it."""

from __future__ import annotations

from datetime import date

import discord

from bot.db.sources import SourceState
from bot.render.base import (
    FIELD_VALUE_MAX,
    NEUTRAL,
    channel_mention,
    escape,
    every,
    fit,
    fit_lines,
    plural,
    when,
)
from bot.status import Status

SOURCE_LABELS = {"huggingface": "Hugging Face", "arxiv": "arXiv"}
ERROR_CHARS = 300
# Five paused feeds of ~150 characters, the two count lines and the "more" line fit one 1024-character field.
REASON_CHARS = 120
PAUSED_SHOWN = 5


def source_error(message: str) -> str:
    return fit(escape(message), ERROR_CHARS)


def listings_note(state: SourceState) -> str:
    """arXiv's watermark, so a back-fill still owed after an outage shows (docs/sources.md)."""
    try:
        day = date.fromisoformat(state.watermark or "")
    except ValueError:
        return ""
    return f"; listings complete through {day:%a} {day.day} {day:%b}"


def source_line(state: SourceState) -> str:
    label = escape(SOURCE_LABELS.get(state.name, state.name))
    if state.last_error:
        since = when(state.failing_since or state.last_error_at, "R") or "recently"
        retry = f"; next try {when(state.next_attempt_at, 'R')}" if state.next_attempt_at else ""
        return f"⚠️ **{label}**: failing since {since}: {source_error(state.last_error)}{retry}{listings_note(state)}"
    if state.last_success_at is None:
        return f"⏳ **{label}**: not polled yet"
    count = f", {plural(state.last_count, 'paper')} in the last fresh response" if state.last_count is not None else ""
    return f"✅ **{label}**: last successful poll {when(state.last_success_at, 'R')}{count}{listings_note(state)}"


def _server_lines(report: Status) -> list[str]:
    paused = [feed for feed in report.guild_feeds if not feed.enabled]
    counts = report.guild_deliveries
    lines = [
        f"{plural(len(report.guild_feeds), 'feed')}, {len(paused):,} paused",
        f"Posts: {counts.pending:,} pending · {counts.sent_24h:,} sent in 24 h · {counts.failed:,} failed",
    ]
    lines += [
        f"⛔ {channel_mention(feed.channel_id)}: {fit(escape(feed.disabled_reason or 'unknown reason'), REASON_CHARS)}"
        for feed in paused[:PAUSED_SHOWN]
    ]
    if len(paused) > PAUSED_SHOWN:
        lines.append(f"… and {len(paused) - PAUSED_SHOWN:,} more paused (`/feed list` shows all)")
    return lines


def semantic_line(report: Status) -> str | None:
    if report.semantic_progress is not None:
        embedded, total = report.semantic_progress
        return f"semantic index: {embedded:,} / {total:,} papers"
    if report.semantic_off is not None:
        return f"semantic search off: {fit(escape(report.semantic_off), REASON_CHARS)}"
    return None


def status_embed(report: Status) -> discord.Embed:
    embed = discord.Embed(title="paperbot status", colour=NEUTRAL)
    embed.add_field(name="Up since", value=when(report.started_at, "R") or "-", inline=True)
    embed.add_field(name="Papers stored", value=f"{report.papers:,}", inline=True)
    if report.wal_bytes is not None:
        embed.add_field(name="Write-ahead log", value=f"{report.wal_bytes / (1024 * 1024):,.1f} MiB", inline=True)
    next_poll = when(report.next_poll_at, "R") if report.next_poll_at else "not scheduled"
    embed.add_field(name="Next poll", value=f"{next_poll} ({every(report.poll_interval)})", inline=True)
    sources = fit_lines([source_line(state) for state in report.sources], FIELD_VALUE_MAX)
    embed.add_field(name="Sources", value=sources or "none enabled", inline=False)
    if report.owed_decisions:
        embed.add_field(
            name="Deliveries",
            value=f"⏳ the papers of {plural(report.owed_decisions, 'store')} are still being matched to feeds and "
            "topics; what is owed is kept, and the next poll finishes it",
            inline=False,
        )
    if (search := semantic_line(report)) is not None:
        embed.add_field(name="Search", value=search, inline=False)
    if report.guild_id is not None:
        embed.add_field(name="This server", value=fit_lines(_server_lines(report), FIELD_VALUE_MAX), inline=False)
    dms = report.your_dms
    if dms.pending or dms.sent_24h or dms.failed or report.dms_paused:
        line = f"{dms.pending:,} pending · {dms.sent_24h:,} sent in 24 h · {dms.failed:,} failed"
        if report.dms_paused:
            line += "\n📭 paused: Discord refused my last DM to you"
        embed.add_field(name="Your topic DMs", value=line, inline=False)
    return embed
