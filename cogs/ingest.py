"""Background polling of the paper sources (started in setup_hook via cog_load, never in on_ready)."""

from __future__ import annotations

import logging
from datetime import datetime

from discord.ext import commands, tasks

from bot.app import PaperBot

log = logging.getLogger(__name__)


class Ingest(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot
        self.poll.change_interval(seconds=bot.settings.poll_interval_seconds)

    async def cog_load(self) -> None:
        self.poll.start()

    async def cog_unload(self) -> None:
        # Cancelling mid-batch rolls the open transaction back; the next start polls again.
        self.poll.cancel()

    @property
    def next_poll_at(self) -> datetime | None:
        return self.poll.next_iteration if self.poll.is_running() else None

    @tasks.loop(seconds=900)
    async def poll(self) -> None:
        try:
            await self.bot.poller.poll_once()
        except Exception:
            # One bad poll (disk full, a bug on odd data) must never stop future polls.
            log.exception("poll failed; the next one runs as scheduled")


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Ingest(bot))
