"""/feed add|remove|list: automatic paper posts for a channel. Manage Server only, checked twice.

Discord hides the command from members without Manage Server (``default_permissions``), but server admins
can override that per command, so every subcommand checks the member's permissions in code as well.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import discord
from discord import app_commands
from discord.ext import commands

from bot import explain, feeds
from bot.app import PaperBot
from bot.errors import UserError
from bot.interactions import send
from bot.lookup import parse_reference
from bot.models import Source
from bot.render import feeds as feed_text
from bot.render import why as why_text
from bot.views import Pager

log = logging.getLogger(__name__)

SOURCE_CHOICES = {"both": Source.HF | Source.ARXIV, "huggingface": Source.HF, "arxiv": Source.ARXIV}


def require_manage_server(interaction: discord.Interaction) -> None:
    if interaction.guild is None:
        raise UserError(feed_text.NOT_IN_SERVER)
    if not interaction.permissions.manage_guild:
        raise UserError(feed_text.NEED_MANAGE_SERVER)


def lacks_history(channel: discord.abc.GuildChannel) -> bool:
    """Crash recovery reads the channel's recent messages to find posts it made but did not record."""
    me: discord.Member | None = channel.guild.me  # typed as always there; not before the guild is cached
    return me is not None and not channel.permissions_for(me).read_message_history


def missing_bot_permissions(channel: discord.abc.GuildChannel, *, threads: bool) -> list[str]:
    me = channel.guild.me
    if me is None:  # discord.py types it as Member, but it is None until our own member is cached
        return []  # type: ignore[unreachable]  # see above
    have = channel.permissions_for(me)
    needed = {"view_channel": "View Channel", "send_messages": "Send Messages", "embed_links": "Embed Links"}
    if threads:
        needed |= {
            "create_public_threads": "Create Public Threads",
            "send_messages_in_threads": "Send Messages in Threads",
        }
    return [label for name, label in needed.items() if not getattr(have, name)]


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class FeedCommands(commands.GroupCog, group_name="feed", group_description="Automatic paper posts in a channel"):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="add", description="Post new papers in a channel (or change its settings)")
    @app_commands.describe(
        channel="Where to post (default: this channel). On an existing feed, only the options you give change.",
        topic='Only papers matching this search, e.g. "diffusion" OR "flow matching"; * for all (new feed: all)',
        min_upvotes="Only papers with at least this many Hugging Face upvotes (new feed: 0)",
        source="Which source to follow (new feed: both)",
        mode="Post each paper as it appears, or one digest a day (new feed: each paper)",
        digest_hour="For digests: the hour to post, 0-23 (new feed: 9)",
        timezone="For digests: the time zone of that hour, e.g. Europe/Berlin (new feed: UTC)",
        threads="Start a discussion thread on each posted paper (new feed: no)",
        backfill="Also post today's top papers once, right now (default: only papers that appear from now on)",
    )
    @app_commands.choices(
        source=[
            app_commands.Choice(name="Hugging Face and arXiv", value="both"),
            app_commands.Choice(name="Hugging Face only", value="huggingface"),
            app_commands.Choice(name="arXiv only", value="arxiv"),
        ],
        mode=[
            app_commands.Choice(name="Each paper as it appears", value="instant"),
            app_commands.Choice(name="A daily digest", value="digest"),
        ],
    )
    async def add(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel | None = None,
        topic: str | None = None,
        min_upvotes: app_commands.Range[int, 0, feeds.MAX_MIN_UPVOTES] | None = None,
        source: str | None = None,
        mode: str | None = None,
        digest_hour: app_commands.Range[int, 0, 23] | None = None,
        timezone: str | None = None,
        threads: bool | None = None,
        backfill: bool = False,
    ) -> None:
        require_manage_server(interaction)
        target = channel or interaction.channel
        if not isinstance(target, discord.TextChannel):
            raise UserError(feed_text.NOT_TEXT_CHANNEL)
        options = feeds.FeedOptions(
            topic=topic,
            min_upvotes=min_upvotes,
            sources=SOURCE_CHOICES.get(source, SOURCE_CHOICES["both"]) if source is not None else None,
            mode=None if mode is None else "digest" if mode == "digest" else "instant",
            digest_hour=digest_hour,
            timezone=timezone,
            threads=threads,
        )
        existing = await self.bot.db.feeds.get(target.id)
        config, topic_text = feeds.merge(existing, options, guild_id=target.guild.id, channel_id=target.id)
        if existing is None:
            config = replace(config, created_by=interaction.user.id)
        missing = missing_bot_permissions(target, threads=config.threads)
        if missing:
            raise UserError(feed_text.cannot_post(target.id, missing))
        saved = await feeds.save_feed(self.bot.db, config, topic_text, backfill=backfill, previous=existing)
        feed, created = saved.feed, saved.created
        if saved.backfilled:
            self.bot.dispatcher.wake()
        log.info(
            "feed %s in guild %s channel %s by user %s",
            "added" if created else "updated",
            feed.guild_id,
            feed.channel_id,
            interaction.user.id,
        )
        reply = feed_text.feed_saved(saved, backfill=backfill)
        if lacks_history(target):
            reply += "\n" + feed_text.missing_history(target.id)
        await send(interaction, content=reply, ephemeral=True)

    @add.autocomplete("timezone")
    async def _timezones(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name, value=name) for name in feeds.timezone_suggestions(current)]

    @app_commands.command(name="remove", description="Stop automatic posts in a channel")
    @app_commands.describe(channel="Which channel's feed to remove (default: this channel)")
    async def remove(self, interaction: discord.Interaction, channel: discord.TextChannel | None = None) -> None:
        require_manage_server(interaction)
        target_id = channel.id if channel else interaction.channel_id
        if target_id is None:
            raise UserError(feed_text.PICK_CHANNEL)
        feed = await self.bot.db.feeds.get(target_id)
        if feed is None or feed.guild_id != interaction.guild_id:
            raise UserError(feed_text.NO_FEED_THERE)
        await feeds.remove_feed(self.bot.db, target_id)
        log.info("feed removed in guild %s channel %s by user %s", feed.guild_id, feed.channel_id, interaction.user.id)
        await send(interaction, content=feed_text.feed_removed(target_id), ephemeral=True)

    @app_commands.command(name="why", description="Why a paper was or wasn't posted by a channel's feed")
    @app_commands.describe(
        paper="arXiv id or arxiv.org / huggingface.co link", channel="Whose feed to explain (default: this channel)"
    )
    async def why(
        self, interaction: discord.Interaction, paper: str, channel: discord.TextChannel | None = None
    ) -> None:
        require_manage_server(interaction)
        paper_id = parse_reference(paper)
        target_id = channel.id if channel else interaction.channel_id
        if target_id is None:
            raise UserError(why_text.PICK_CHANNEL)
        feed = await self.bot.db.feeds.get(target_id)
        if feed is None or feed.guild_id != interaction.guild_id:
            raise UserError(why_text.NO_FEED_THERE)
        explained = await explain.explain_feed(self.bot.db, feed, paper_id)
        await send(interaction, embed=why_text.feed_why(explained), ephemeral=True)

    @app_commands.command(name="list", description="Show this server's feeds")
    async def list(self, interaction: discord.Interaction) -> None:
        require_manage_server(interaction)
        assert interaction.guild_id is not None
        server_feeds = await self.bot.db.feeds.for_guild(interaction.guild_id)
        if not server_feeds:
            await send(interaction, content=feed_text.NO_FEEDS, ephemeral=True)
            return
        names = {feed.channel_id: getattr(self.bot.get_channel(feed.channel_id), "name", None) for feed in server_feeds}
        pages = feed_text.feed_page_count(len(server_feeds))
        first = feed_text.feed_list(server_feeds, names)
        if pages == 1:
            await send(interaction, embed=first, ephemeral=True)
            return

        async def fetch(page: int) -> tuple[discord.Embed, bool]:
            return feed_text.feed_list(server_feeds, names, page=page), page + 1 < pages

        view = Pager(
            owner_id=interaction.user.id,
            fetch=fetch,
            has_more=True,
            origin=interaction,
            command="feed list",
            timeout=self.bot.pager_timeout,
        )
        self.bot.live_views.add(view)
        await send(interaction, embed=first, view=view, ephemeral=True)


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(FeedCommands(bot))
