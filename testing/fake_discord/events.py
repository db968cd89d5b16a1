# ruff: noqa: ASYNC109 - the public API takes timeout= arguments on purpose
"""Gateway events: which sessions get a dispatch, readiness, and the disconnects a test can force."""

from __future__ import annotations

import asyncio
from typing import Any

from .gateway import OP_INVALID_SESSION, OP_RECONNECT, GatewaySession
from .serialise import Serialisers


class Events(Serialisers):
    """Dispatching to the bot's gateway sessions, as Discord routes events by shard."""

    def is_ready(self) -> bool:
        for shard_id in range(self.shards):
            session = self._latest_session.get(shard_id)
            if session is None or not session.live or not session.ready_sent:
                return False
        return True

    async def wait_until_ready(self, timeout: float = 10.0, *, identify_count: int | None = None) -> None:
        """Wait until every shard has a live, identified session that was sent its GUILD_CREATEs.

        ``identify_count``: also wait until at least that many IDENTIFYs were seen (for restarts).
        """
        await self.wait_for(
            lambda: self.is_ready() and (identify_count is None or self.identify_count >= identify_count),
            timeout,
            f"bot not ready on all {self.shards} shard(s) within {timeout}s "
            f"(identify_count={self.identify_count}, connections={self.connections})",
        )

    def _register_session(self, session: GatewaySession) -> None:
        previous = self._latest_session.get(session.shard_id)
        if previous is not None and not previous.live:
            previous.invalidated = True
        self._sessions[session.session_id] = session
        self._latest_session[session.shard_id] = session
        for sid, old in list(self._sessions.items()):
            if old.invalidated and old.conn is None:
                del self._sessions[sid]

    def _target_sessions(self, guild_id: int | None) -> list[GatewaySession]:
        latest = set(self._latest_session.values())
        return [
            s
            for s in self._sessions.values()
            if not s.invalidated and s.owns_guild(guild_id) and (s in latest or s.live)
        ]

    async def dispatch(self, event: str, data: Any, *, guild_id: int | None = None) -> int:
        """Send a dispatch to the session(s) of the guild's shard (shard 0 for DMs). Returns how many."""
        count = 0
        for session in self._target_sessions(guild_id):
            if not session.wants(event, guild_id):
                continue
            payload = data(session) if callable(data) else data
            await session.dispatch(event, payload)
            count += 1
        return count

    def _spawn_dispatch(self, event: str, data: Any, *, guild_id: int | None) -> None:
        """Dispatch from synchronous world-building helpers (no-op before the bot connected)."""
        if not self._target_sessions(guild_id):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self.dispatch(event, data, guild_id=guild_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush_events(self) -> None:
        """Wait until the gateway events queued by synchronous world-building calls have been sent."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _session_for_shard(self, shard_id: int) -> GatewaySession:
        session = self._latest_session.get(shard_id)
        if session is None:
            raise RuntimeError(f"no gateway session on shard {shard_id}")
        return session

    async def disconnect(self, shard_id: int = 0, code: int = 4000) -> None:
        """Close the shard's websocket with ``code`` (4000 → discord.py RESUMEs)."""
        await self.flush_events()
        session = self._session_for_shard(shard_id)
        if session.conn is not None:
            await session.conn.close(code, "Disconnected by the test.")
        if code in (4004, 4010, 4011, 4012, 4013, 4014, 4007, 4009):
            session.invalidated = True

    async def send_reconnect(self, shard_id: int = 0) -> None:
        await self.flush_events()
        session = self._session_for_shard(shard_id)
        if session.conn is not None:
            await session.conn.send({"op": OP_RECONNECT, "d": None})

    async def invalidate_session(self, shard_id: int = 0, resumable: bool = False) -> None:
        await self.flush_events()
        session = self._session_for_shard(shard_id)
        if not resumable:
            session.invalidated = True
        if session.conn is not None:
            await session.conn.send({"op": OP_INVALID_SESSION, "d": resumable})
