"""Spacing every delivery request under Discord's global rate limit.

discord.py handles each route's bucket from Discord's headers, but it has no proactive global limiter: a
fan-out to a thousand channels would hit the global 50/s and draw 429s. Posts, DM channel creation,
threads and history reads all wait here first.
"""

from __future__ import annotations

import asyncio


class Pacer:
    """Spaces requests evenly at ``rate`` per second, by the event loop's monotonic clock."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._lock:
            now = loop.time()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)
