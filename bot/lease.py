"""A lease on a job that exactly one of several processes sharing the database does (polling the sources).

The holder renews it well before it expires; when the holder dies, another process takes it over once
it has expired (``POLLER_LEASE_SECONDS``), or at once when it is the same slot (host and shards) restarted
after a crash, so a lone bot killed and restarted polls again without waiting for its own lease. A process
believes it holds the lease only until the expiry it computed from the time *before* its last renewal, so
it stops before anyone else may start.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import sqlite3
import time
from collections.abc import Callable

from bot.db import Database

log = logging.getLogger(__name__)

POLLER = "poller"


def slot_name(shards: str) -> str:
    """What a restart of this process shares with its earlier life: the host and the shards it runs."""
    return f"{socket.gethostname()}/{shards}"


def process_name() -> str:
    """Unique per process start: a restarted process with a reused pid is still a new holder."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Lease:
    def __init__(
        self,
        db: Database,
        name: str,
        *,
        ttl: float,
        slot: str,
        holder: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.name = name
        self.ttl = ttl
        self.slot = slot
        self.holder = holder or process_name()
        self.clock = clock
        self._held_until = 0.0

    @property
    def held(self) -> bool:
        return self.clock() < self._held_until

    @property
    def renew_every(self) -> float:
        """Three tries per lease period, so one slow or locked renewal does not lose it."""
        return self.ttl / 3

    async def renew(self) -> bool:
        """Take the lease if it is free or expired, extend it if ours; True if this process holds it now."""
        started = self.clock()
        was_held = self.held
        try:
            async with self.db.transaction() as conn:
                ours = await self.db.leases.acquire(
                    conn, self.name, self.holder, slot=self.slot, now=started, ttl=self.ttl
                )
        except sqlite3.Error as error:
            # A locked or busy database: keep what we had until it runs out, try again next time.
            log.warning("could not renew the %s lease: %s", self.name, error)
            return self.held
        self._held_until = started + self.ttl if ours else 0.0
        if ours and not was_held:
            log.info("this process (%s) now holds the %s lease", self.holder, self.name)
        elif was_held and not ours:
            log.warning("lost the %s lease to another process", self.name)
        return ours

    async def release(self) -> None:
        if not self.held:
            return
        self._held_until = 0.0
        try:
            async with self.db.transaction() as conn:
                await self.db.leases.release(conn, self.name, self.holder)
        except sqlite3.Error as error:
            log.warning("could not release the %s lease (it expires by itself): %s", self.name, error)
