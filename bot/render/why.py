"""/feed why and /why: one plain line per rule that decided a paper's fate, for a feed or for a member's DMs."""

from __future__ import annotations

import discord

from bot.db.deliveries import Record
from bot.delivery.outbox import ELIGIBLE_DAYS, ELIGIBLE_MAX_DAYS
from bot.explain import FeedExplanation, MemberExplanation, PaperFacts, TopicCheck
from bot.models import Source
from bot.render.base import DESCRIPTION_MAX, NEUTRAL, TITLE_MAX, channel_mention, escape, fit, fit_lines, plain, when
from bot.render.feeds import SOURCE_NAMES

TOPIC_CHARS = 300
REASON_CHARS = 300

# Discord's error codes, named the way its documentation does.
ERROR_NAMES = {
    10003: "Unknown Channel",
    50001: "Missing Access",
    50007: "Cannot send messages to this user",
    50013: "Missing Permissions",
    50035: "Invalid Form Body",
}

NO_FEED_THERE = "There is no feed in that channel. `/feed list` shows this server's feeds."
PICK_CHANNEL = "Pick the channel whose feed you want explained."


def _sources(sources: Source) -> str:
    return SOURCE_NAMES.get(int(sources), "no known source")


def archive_line(facts: PaperFacts) -> str:
    line = (
        f"📄 **Archive:** yes, from {_sources(facts.paper.sources)}; listed {when(facts.counted_at)}, "
        f"first seen by me {when(facts.first_seen_at, 'f')}."
    )
    if facts.arrived_too_old:
        line += (
            f" It reached me more than {ELIGIBLE_MAX_DAYS} days after it was listed, too old to be delivered "
            "automatically."
        )
    return line


def topic_line(check: TopicCheck | None, *, label: str = "Topic") -> str:
    if check is None:
        return f"✅ **{label}:** none, every paper qualifies."
    query = fit(escape(check.query), TOPIC_CHARS)
    words = [f"{'✔' if term.found else '✘'} {fit(escape(term.text), 60)}" for term in check.terms]
    vetoes = [f"-{fit(escape(term.text), 60)}" for term in check.excluded if term.found]
    detail = ", ".join(words)
    if vetoes:
        detail += f"; has excluded {', '.join(vetoes)}"
    verdict = "matches" if check.matches else "does not match"
    return f"{'✅' if check.matches else '❌'} **{label}** `{query}`: {verdict} ({detail or 'no searchable words'})."


def upvotes_line(item: FeedExplanation) -> str:
    have = item.facts.paper.upvotes
    shown = "no upvote count" if have is None else f"{have:,} upvotes"
    minimum = item.feed.min_upvotes
    if item.upvotes_ok:
        return f"✅ **Upvotes:** {shown}, minimum {minimum:,}."
    if item.facts.rise_still_counts:
        later = (
            f"If Hugging Face reports {minimum:,} or more before {when(item.facts.rise_until, 'f')}, "
            "a later poll still posts it."
        )
    else:
        later = f"Upvotes are re-checked only for {ELIGIBLE_DAYS} days after listing, so a rise no longer counts."
    return f"❌ **Upvotes:** {shown}, below the feed's minimum of {minimum:,}. {later}"


def source_line(item: FeedExplanation) -> str:
    mark = "✅" if item.sources_ok else "❌"
    verdict = "" if item.sources_ok else " Filtered out by source."
    return (
        f"{mark} **Source:** the paper came from {_sources(item.facts.paper.sources)}; "
        f"the feed follows {_sources(item.feed.sources)}.{verdict}"
    )


def _baselined(record: Record | None) -> bool:
    """Skipped by the baseline a new feed or topic takes (``bot.delivery.outbox``), by its recorded reason."""
    return record is not None and record.status == "skipped" and (record.last_error or "").startswith("already listed")


def start_line(item: FeedExplanation) -> str:
    started = when(item.feed.created_at)
    if _baselined(item.delivery):
        return (
            f"❌ **Feed start:** the feed was added {started}, after the paper was listed and already in my "
            "archive. A new feed starts with papers that appear from then on (only `backfill` posts a few "
            "earlier ones), so this one is not posted."
        )
    if item.started_after:
        return (
            f"ℹ️ **Feed start:** the feed was added {started}, when the paper was already in my archive; it "
            "skipped only the papers that qualified at that moment."
        )
    return f"✅ **Feed start:** the feed was added {started}, before the paper reached my archive."


def _link(record: Record, dm_channel_id: int | None) -> str | None:
    if record.message_id is None:
        return None
    if record.target_kind == "channel" and record.guild_id is not None:
        return f"https://discord.com/channels/{record.guild_id}/{record.target_id}/{record.message_id}"
    if dm_channel_id is not None:
        return f"https://discord.com/channels/@me/{dm_channel_id}/{record.message_id}"
    return None


def delivery_line(record: Record | None, *, dm_channel_id: int | None = None, nothing: str) -> str:
    if record is None:
        return f"ℹ️ **Delivery:** {nothing}"
    queued = when(record.created_at_dt, "f")
    if record.status == "sent":
        link = _link(record, dm_channel_id)
        where = f" ([the message]({link}))" if link else ""
        return f"✅ **Delivery:** sent {when(record.sent_at_dt, 'f')}{where}."
    if record.status in ("pending", "sending"):
        tries = f", {record.attempts} attempt(s) so far" if record.attempts else ""
        return f"⏳ **Delivery:** queued {queued}, not sent yet{tries}."
    reason = fit(escape(record.last_error or "no reason recorded"), REASON_CHARS)
    if record.status == "failed":
        code = record.last_error_code
        named = f" (Discord error {code}: {ERROR_NAMES.get(code, 'see Discord docs')})" if code else ""
        return f"❌ **Delivery:** failed{named}: {reason}."
    return f"⏭️ **Delivery:** not sent on purpose ({reason}), decided {queued}."


def _not_queued_feed(item: FeedExplanation) -> str:
    blocked = not (item.upvotes_ok and item.sources_ok and (item.topic is None or item.topic.matches))
    if blocked:
        return "none queued, because of the rule(s) marked ❌ above."
    if item.facts.arrived_too_old:
        return "none queued: the paper reached me too late."
    return "none queued: it qualified only after its eligibility window, or the feed changed since."


def feed_why(item: FeedExplanation) -> discord.Embed:
    feed = item.feed
    lines = [
        archive_line(item.facts),
        topic_line(item.topic),
        upvotes_line(item),
        source_line(item),
        start_line(item),
        delivery_line(item.delivery, nothing=_not_queued_feed(item)),
    ]
    if feed.mode == "digest" and item.delivery is not None and item.delivery.status == "pending":
        zone = fit(escape(feed.timezone), 64)
        lines[-1] += f" It waits for the daily digest at {feed.digest_hour:02d}:00 {zone}."
    if not feed.enabled:
        reason = fit(escape(feed.disabled_reason or "unknown reason"), REASON_CHARS)
        lines.append(f"⛔ **Feed paused** {when(feed.disabled_at, 'f')}: {reason}. `/feed add` there resumes it.")
    title = plain(f"Why arXiv:{item.facts.paper.id} in this feed", TITLE_MAX)
    embed = discord.Embed(title=title, colour=NEUTRAL, url=f"https://arxiv.org/abs/{item.facts.paper.id}")
    header = f"{fit(escape(item.facts.paper.title), 300)}\nFeed in {channel_mention(feed.channel_id)}"
    embed.description = fit_lines([header, "", *lines], DESCRIPTION_MAX)
    return embed


def member_why(item: MemberExplanation, *, weekly_because: str | None = None) -> discord.Embed:
    """``weekly_because``: for a weekly recommendations pick, the title of the saved paper it is close to."""
    lines = [archive_line(item.facts)]
    if not item.topics and weekly_because:
        lines.append("ℹ️ **Topics:** you follow none; `/subscribe` starts one.")
    elif not item.topics:
        lines.append("❌ **Topics:** you follow none, so nothing is sent to you by DM. `/subscribe` starts one.")
    else:
        lines.extend(topic_line(check, label="Your topic") for check in item.topics)
    if weekly_because:
        lines.append(
            "🔗 **Weekly pick:** chosen for your weekly recommendations DM (`/foryou weekly`), close to your saved "
            f"**{fit(escape(weekly_because), 120)}**."
        )
    if item.dm_paused:
        code = f" (Discord error {item.dm_pause_code})" if item.dm_pause_code else ""
        lines.append(
            f"⛔ **DMs paused:** Discord refused my last DM to you{code}. Using any command resumes them; "
            "allow DMs from this server's members if they stay closed."
        )
    else:
        lines.append("✅ **DMs:** not paused.")
    held = f"; {item.held_today:,} more matched after your day was full and were not queued" if item.held_today else ""
    lines.append(
        f"ℹ️ **Daily limit:** {item.sent_today:,} of {item.daily_cap:,} DM papers sent to you today (UTC){held}."
    )
    matched = any(check.matches for check in item.topics)
    if not item.topics or not matched:
        nothing = "none queued, because none of your topics matches it."
    elif item.facts.arrived_too_old:
        nothing = "none queued: the paper reached me too late."
    elif item.held_today:
        nothing = (
            "none queued: your daily DM limit was probably full when it arrived (see above), or it was listed "
            "before your matching topic existed."
        )
    else:
        nothing = "none queued: it was listed before your matching topic existed, or changed only after it was recent."
    lines.append(delivery_line(item.delivery, dm_channel_id=item.dm_channel_id, nothing=nothing))
    title = plain(f"Why arXiv:{item.facts.paper.id} (your DMs)", TITLE_MAX)
    embed = discord.Embed(title=title, colour=NEUTRAL, url=f"https://arxiv.org/abs/{item.facts.paper.id}")
    embed.description = fit_lines([fit(escape(item.facts.paper.title), 300), "", *lines], DESCRIPTION_MAX)
    return embed
