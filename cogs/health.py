"""The heartbeat ``python -m bot health`` reads: written every few seconds and on gateway changes."""

from __future__ import annotations

import logging

from discord.ext import commands, tasks

from bot import health
from bot.app import PaperBot

log = logging.getLogger(__name__)


class Health(commands.Cog):
    def __init__(self, bot: PaperBot) -> None:
        self.bot = bot
        self.connected = False

    async def cog_load(self) -> None:
        self.beat.start()

    async def cog_unload(self) -> None:
        self.beat.cancel()

    async def _write(self) -> None:
        try:
            await health.beat(self.bot.db, gateway=self.connected, started_at=self.bot.started_at.timestamp())
        except Exception:
            # A health report must never take the bot down; a missing heartbeat reads as unhealthy anyway.
            log.exception("could not write the heartbeat")

    @tasks.loop(seconds=health.HEARTBEAT_SECONDS)
    async def beat(self) -> None:
        await self._write()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self.connected = True
        await self._write()

    @commands.Cog.listener()
    async def on_resumed(self) -> None:
        self.connected = True
        await self._write()

    @commands.Cog.listener()
    async def on_disconnect(self) -> None:
        self.connected = False
        await self._write()


async def setup(bot: PaperBot) -> None:
    await bot.add_cog(Health(bot))
