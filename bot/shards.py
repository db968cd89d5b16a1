"""Which servers and direct messages this process serves when several processes share one database.

Discord routes a server to shard ``(guild_id >> 22) % shard_count``; a process that connects some of the
shards delivers only to those servers, so each feed is served by exactly one process. Direct messages
belong to no server: the process that serves shard 0 sends them. Ownership is static (not whoever holds
the poller lease) so a DM batch left in flight by a crash is only ever resumed by the process that
claimed it, or its restart, exactly as for channel batches: two processes never send the same batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings

DISCORD_EPOCH_SHIFT = 22


@dataclass(frozen=True)
class ShardSet:
    """``count``/``ids`` as configured; ``ids`` None means every shard runs in this process."""

    count: int | None = None
    ids: frozenset[int] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ShardSet:
        ids = frozenset(settings.shard_ids) if settings.shard_ids is not None else None
        return cls(settings.shard_count, ids)

    @property
    def everything(self) -> bool:
        return self.ids is None or self.count is None or len(self.ids) == self.count

    def shard_of(self, guild_id: int) -> int:
        return (guild_id >> DISCORD_EPOCH_SHIFT) % (self.count or 1)

    def serves_guild(self, guild_id: int | None) -> bool:
        if self.everything or self.ids is None:
            return True
        if guild_id is None:
            return self.sends_dms
        return self.shard_of(guild_id) in self.ids

    @property
    def sends_dms(self) -> bool:
        return self.everything or (self.ids is not None and 0 in self.ids)

    def serves(self, kind: str, guild_id: int | None) -> bool:
        """Whether this process delivers to a target: a channel by its server's shard, a member's DMs by shard 0."""
        if kind == "user":
            return self.sends_dms
        return self.serves_guild(guild_id)

    def describe(self) -> str:
        if self.ids is None:
            return "all shards" if self.count is None else f"all {self.count} shards"
        return f"shards {sorted(self.ids)} of {self.count}"
