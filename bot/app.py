"""The Discord bot: wiring, command sync, the global error handler, and clean start/stop."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
import signal
import weakref
from datetime import UTC, datetime
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot import startup
from bot.buttons import DYNAMIC_ITEMS, PaperActions
from bot.config import ConfigError, Settings
from bot.db import Database, DatabaseError
from bot.db.checkpoints import Checkpointer
from bot.delivery.dispatcher import Dispatcher
from bot.errors import UserError
from bot.interactions import send_private
from bot.looplag import LoopMonitor
from bot.plans import PlanBuilder
from bot.poller import Poller, build_http, build_sources
from bot.semantic import Semantic
from bot.semantic.worker import Embedder
from bot.shards import ShardSet
from bot.sources.hf import HuggingFaceSource
from bot.sources.http import HttpClient
from bot.views import PAGE_TIMEOUT

log = logging.getLogger(__name__)

EXTENSIONS = (
    "cogs.ingest",
    "cogs.delivery",
    "cogs.health",
    "cogs.papers",
    "cogs.topics",
    "cogs.feeds",
    "cogs.library",
    "cogs.personal",
    "cogs.foryou",
    "cogs.meta",
)
BACKGROUND = ("cogs.ingest", "cogs.delivery", "cogs.health")
EXIT_OK, EXIT_FAILED = 0, 1
# A message about the token, not a token.
TOKEN_REJECTED = "Discord rejected DISCORD_TOKEN: reset the token in the Developer Portal and update .env"  # noqa: S105


def point_discord_at(settings: Settings) -> None:
    """Use an API proxy (or the test suite's Discord stand-in) instead of discord.com when configured."""
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def _describe(interaction: discord.Interaction) -> str:
    command = interaction.command.qualified_name if interaction.command else "?"
    options = interaction.data.get("options", []) if interaction.data else []
    return f"/{command} by user {interaction.user.id} in guild {interaction.guild_id} options={options!r}"[:600]


class PaperTree(app_commands.CommandTree["PaperBot"]):
    """The one place every command error ends up: the user gets a sentence, the log gets the context."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        original = getattr(error, "original", error)
        if isinstance(original, UserError):
            message = str(original)
        elif isinstance(error, app_commands.CommandOnCooldown):
            retry = discord.utils.utcnow().timestamp() + error.retry_after
            message = f"You're going a bit fast. Try again <t:{int(retry) + 1}:R>."
        elif isinstance(error, app_commands.NoPrivateMessage):
            message = "That command only works in a server, not in direct messages."
        elif isinstance(error, app_commands.MissingPermissions):
            needed = ", ".join(name.replace("_", " ").title() for name in error.missing_permissions)
            message = f"You need the {needed} permission to do that."
        elif isinstance(error, app_commands.TransformerError):
            message = f"I couldn't use `{str(error.value)[:80]}` there. Please pick it from the list Discord offers."
        elif isinstance(error, app_commands.CheckFailure):
            message = "You can't use that command here."
        elif isinstance(original, discord.NotFound) and original.code == 10062:
            log.warning("interaction expired before it could be answered: %s", _describe(interaction))
            return
        else:
            reference = secrets.token_hex(3)
            log.error("command failed [%s]: %s", reference, _describe(interaction), exc_info=original)
            message = (
                f"Something went wrong on my side (error `{reference}`). "
                "It has been logged; please try again in a minute."
            )
        try:
            await send_private(interaction, message)
        except discord.HTTPException as failure:
            log.warning("could not tell the user about an error (%s): %s", failure, _describe(interaction))


class PaperBot(commands.AutoShardedBot):
    """One bot for any number of shards; slash commands only, so no privileged intents."""

    db: Database
    checkpointer: Checkpointer
    plans: PlanBuilder
    http_client: HttpClient
    hf: HuggingFaceSource
    poller: Poller
    dispatcher: Dispatcher
    semantic: Semantic
    embedder: Embedder

    def __init__(self, settings: Settings, *, force_sync: bool = False, sync_only: bool = False) -> None:
        # Voice is never used: silence discord.py's start-up warnings about its optional voice libraries.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        intents = discord.Intents.none()
        intents.guilds = True  # guild and channel create/delete events, channel permissions for /feed
        self.shard_set = ShardSet.from_settings(settings)
        sharding: dict[str, Any] = {}
        if settings.shard_count is not None:
            sharding["shard_count"] = settings.shard_count
        if settings.shard_ids is not None:
            sharding["shard_ids"] = list(settings.shard_ids)
        super().__init__(
            **sharding,
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            tree_cls=PaperTree,
            allowed_mentions=discord.AllowedMentions.none(),
            max_messages=None,
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            activity=discord.CustomActivity(name="Reading new papers · /help"),
        )
        self.settings = settings
        self.force_sync = force_sync
        self.sync_only = sync_only
        self.started_at = datetime.now(UTC)
        self.synced: bool | None = None
        self.pager_timeout = PAGE_TIMEOUT
        # Views with a timeout keep a timer task; they are stopped on close so none outlives the bot.
        self.live_views: weakref.WeakSet[discord.ui.View] = weakref.WeakSet()
        # Answers the persistent paper buttons (set by cogs.library); None until that cog is loaded.
        self.paper_actions: PaperActions | None = None

    @property
    def enabled_sources(self) -> list[str]:
        return [source.name for source in self.poller.sources]

    async def setup_hook(self) -> None:
        self.db = await Database.open(self.settings.database_path)
        self.checkpointer = Checkpointer(self.db)
        await self.checkpointer.start()
        self.http_client = build_http(self.settings)
        self.hf = HuggingFaceSource(
            self.http_client, self.settings.hf_base_url, lookback_days=self.settings.hf_lookback_days
        )
        # Plans are brought up to date in the background: commands and deliveries start now; polls wait for it.
        self.plans = PlanBuilder(self.db)
        self.plans.start()
        self.poller = Poller(
            self.db,
            build_sources(self.settings, self.http_client),
            interval=self.settings.poll_interval_seconds,
            ready=self.plans.ready,
        )
        self.dispatcher = Dispatcher(
            self,
            self.db,
            rate=self.settings.delivery_rate_per_second,
            max_attempts=self.settings.delivery_max_attempts,
            retry_base=self.settings.delivery_retry_base_seconds,
            serves=None if self.shard_set.everything else self.shard_set.serves,
        )
        if not self.shard_set.everything:
            log.info(
                "this process serves %s (direct messages: %s)", self.shard_set.describe(), self.shard_set.sends_dms
            )
        self.poller.listeners.append(lambda report: self.dispatcher.wake() if report.stored.changed else None)
        # The model loads in the background; until then (or without it) search is by words only.
        self.semantic = Semantic(
            self.db, model_dir=self.settings.semantic_model_dir, enabled=self.settings.semantic_enabled
        )
        self.embedder = Embedder(self.semantic)
        self.poller.listeners.append(lambda report: self.embedder.wake() if report.stored.changed else None)
        if not self.sync_only:
            self.embedder.start()
        # Persistent buttons: any Save/Related press, on any message ever sent, is routed by its custom id.
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        for extension in EXTENSIONS:
            if self.sync_only and extension in BACKGROUND:
                continue
            await self.load_extension(extension)
        self.synced = await self.sync_commands(force=self.force_sync)
        if not self.sync_only:
            self.loop_monitor = LoopMonitor(self.db)
            self._monitor_task = asyncio.create_task(self.loop_monitor.run(), name="loop-monitor")

    def command_scope(self) -> discord.Object | None:
        return discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None

    def command_payload(self, guild: discord.Object | None) -> list[dict[str, Any]]:
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        return [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]

    async def sync_commands(self, *, force: bool = False) -> bool:
        """Sync only when the command schema changed since the last successful sync (Discord rate-limits it)."""
        guild = self.command_scope()
        await self.clear_stale_guild_commands(guild)
        payload = self.command_payload(guild)
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        key = f"commands:{self.application_id}:{guild.id if guild else 'global'}"
        if not force and await self.db.meta.get(key) == digest:
            log.info("slash commands unchanged since the last sync; not syncing")
            return False
        try:
            synced = await self.tree.sync(guild=guild)
        except (discord.HTTPException, *startup.NETWORK_ERRORS) as error:
            # Not fatal: the stored digest is unchanged, so the next start tries again.
            log.error("syncing slash commands failed (%s); the previous definitions stay in place", error)
            return False
        async with self.db.transaction() as conn:
            await self.db.meta.set(conn, key, digest)
        log.info("synced %d slash commands %s", len(synced), f"to guild {guild.id}" if guild else "globally")
        return True

    async def clear_stale_guild_commands(self, scope: discord.Object | None) -> None:
        """Commands synced to a development server earlier (``DEV_GUILD_ID`` since unset or changed) would stay
        there next to the global ones, shown twice: empty every such server that is not the current scope."""
        prefix = f"commands:{self.application_id}:"
        current = f"{prefix}{scope.id if scope else 'global'}"
        for key in await self.db.meta.keys(prefix):
            guild_id = key.removeprefix(prefix)
            if key == current or not guild_id.isdigit():
                continue
            stale = discord.Object(int(guild_id))
            self.tree.clear_commands(guild=stale)
            try:
                await self.tree.sync(guild=stale)
            except discord.Forbidden:
                log.warning(
                    "cannot clear the commands synced to guild %s (no access any more); forgetting it", stale.id
                )
            except discord.HTTPException as error:
                log.error(
                    "clearing the commands synced to guild %s failed (%s); trying again next start", stale.id, error
                )
                continue
            else:
                log.info("cleared the slash commands synced to guild %s earlier (DEV_GUILD_ID changed)", stale.id)
            async with self.db.transaction() as conn:
                await self.db.meta.delete(conn, key)

    async def close(self) -> None:
        for view in list(self.live_views):
            view.stop()
        monitor = getattr(self, "_monitor_task", None)
        if monitor is not None:
            monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await monitor
        # Unloading the extensions stops the background loops first; then the connections close.
        await super().close()
        if hasattr(self, "embedder"):
            await self.embedder.stop()
        if hasattr(self, "plans"):
            await self.plans.stop()
        if hasattr(self, "checkpointer"):
            await self.checkpointer.stop()
        for resource in ("http_client", "db"):
            if hasattr(self, resource):
                await getattr(self, resource).close()


async def _serve(settings: Settings) -> int:
    assert settings.discord_token is not None
    point_discord_at(settings)
    bot = PaperBot(settings)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not available on Windows, where Ctrl+C still raises KeyboardInterrupt.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with bot:
        runner = asyncio.create_task(startup.start(bot, settings.discord_token.get_secret_value()), name="bot")
        stopper = asyncio.create_task(stop.wait(), name="stop-signal")
        done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stopper in done:
            log.info("shutting down on signal")
            await bot.close()
            runner.cancel()  # it may be waiting between login tries
            await asyncio.gather(runner, return_exceptions=True)
            return EXIT_OK
        stopper.cancel()
        error = runner.exception()
    if error is None:
        return EXIT_OK
    if isinstance(error, discord.LoginFailure):
        raise ConfigError(TOKEN_REJECTED) from None
    if isinstance(error, DatabaseError):
        raise error
    log.error("the bot stopped: %s", error, exc_info=error)
    return EXIT_FAILED


def run_bot(settings: Settings) -> int:
    return asyncio.run(_serve(settings))


async def sync_commands(settings: Settings) -> bool:
    """``python -m bot sync``: push the command definitions now, over REST only; True when synced."""
    assert settings.discord_token is not None
    point_discord_at(settings)
    bot = PaperBot(settings, force_sync=True, sync_only=True)
    async with bot:
        try:
            await bot.login(settings.discord_token.get_secret_value())
        except discord.LoginFailure:
            raise ConfigError(TOKEN_REJECTED) from None
        except startup.NETWORK_ERRORS as error:  # run by hand: say so once rather than wait
            log.error("cannot reach Discord: %s", error)
            return False
    return bool(bot.synced)
