"""Background polling of the paper sources (started in setup_hook via cog_load, never in on_ready)."""

from __future__ import annotations

import logging
from datetime import datetime

from discord.ext import commands, tasks

from bot.app import PaperBot
from bot.lease import POLLER, Lease, slot_name

log = logging.getLogger(__name__)


class Ingest(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot
        self.poll.change_interval(seconds=bot.settings.poll_interval_seconds)
        # Exactly one of the processes sharing the database polls: the one holding this lease.
        self.lease = Lease(
            bot.db, POLLER, ttl=bot.settings.poller_lease_seconds, slot=slot_name(bot.shard_set.describe())
        )
        self.keep_lease.change_interval(seconds=self.lease.renew_every)

    async def cog_load(self) -> None:
        await self.lease.renew()
        self.keep_lease.start()
        self.poll.start()

    async def cog_unload(self) -> None:
        # Cancelling mid-batch rolls the open transaction back; the next start polls again.
        self.poll.cancel()
        self.keep_lease.cancel()
        await self.lease.release()

    @property
    def next_poll_at(self) -> datetime | None:
        return self.poll.next_iteration if self.poll.is_running() else None

    @tasks.loop(seconds=20)
    async def keep_lease(self) -> None:
        was_held = self.lease.held
        try:
            held = await self.lease.renew()
        except Exception:
            log.exception("renewing the poller lease failed; trying again shortly")
            return
        if held and not was_held and self.poll.is_running():
            # Taken over from a process that stopped renewing: poll now, not an interval later.
            self.poll.restart()

    @tasks.loop(seconds=900)
    async def poll(self) -> None:
        if not self.lease.held:
            log.debug("another process holds the poller lease; not polling")
            return
        try:
            await self.bot.poller.poll_once()
        except Exception:
            # One bad poll (disk full, a bug on odd data) must never stop future polls.
            log.exception("poll failed; the next one runs as scheduled")


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Ingest(bot))
