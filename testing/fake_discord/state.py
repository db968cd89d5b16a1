# ruff: noqa: ASYNC109 - the public API takes timeout= arguments on purpose
"""Everything the stand-in knows (its world, sessions, interactions, requests) and how a test waits for it to change.

The other modules of this package are mixins over this state, combined into ``FakeDiscord`` in ``server.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import FakeHTTPError
from .models import (
    BOT_DEFAULT,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeMessage,
    FakeUser,
    Fault,
    P,
    RecordedRequest,
    compute_permissions,
)
from .ratelimit import RateLimiter, RateLimits
from .snowflake import SnowflakeGenerator

if TYPE_CHECKING:
    from aiohttp import web

    from .gateway import GatewayConnection, GatewaySession

T = TypeVar("T")


class DiscordState:
    """The constructor and the shared state of ``FakeDiscord``; see ``README.md`` for the public API."""

    def __init__(
        self,
        token: str = "test-token",  # noqa: S107
        shards: int = 1,
        rate_limits: RateLimits | None = None,
        interaction_window: float = 3.0,
        heartbeat_interval: float = 41.25,
        *,
        privileged_intents_enabled: bool = False,
        token_ttl: float = 900.0,
        nonce_ttl: float = 300.0,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_name: str = "paperbot",
        bot_permissions: int = BOT_DEFAULT,
        dispatch_message_events: bool = True,
    ) -> None:
        self.token = token
        self.shards = shards
        self.rate_limits = rate_limits if rate_limits is not None else RateLimits()
        self.interaction_window = interaction_window
        self.heartbeat_interval = heartbeat_interval
        self.privileged_intents_enabled = privileged_intents_enabled
        self.token_ttl = token_ttl
        self.nonce_ttl = nonce_ttl
        self.host = host
        self.port = port
        self.bot_permissions = bot_permissions
        self.dispatch_message_events = dispatch_message_events

        self._ids = SnowflakeGenerator()
        self.application_id = self._ids.next()
        self.bot_user_id = self._ids.next()
        self.bot_user = FakeUser(self.bot_user_id, bot_name, bot=True)
        self.owner_user = FakeUser(self._ids.next(), f"{bot_name}-owner")
        self.users: dict[int, FakeUser] = {self.bot_user_id: self.bot_user, self.owner_user.id: self.owner_user}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self._messages: dict[int, FakeMessage] = {}
        self._dm_channels: dict[int, int] = {}  # user id -> channel id
        self._default_user: FakeUser | None = None

        self._global_commands: list[dict[str, Any]] = []
        self._guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.sync_count = 0

        self.interactions: dict[int, FakeInteraction] = {}
        self._interactions_by_token: dict[str, FakeInteraction] = {}
        self._nonces: dict[tuple[int, int, str], tuple[float, int]] = {}
        self._attachment_data: dict[str, bytes] = {}  # attachment id -> the uploaded bytes

        self._channel_errors: dict[int, FakeHTTPError] = {}
        self._faults: list[Fault] = []
        self._limiter = RateLimiter(self.rate_limits)
        self.requests: list[RecordedRequest] = []
        self.stats: dict[str, Any] = {
            "requests": 0,
            "global_429": 0,
            "route_429": 0,
            "invalid_requests": 0,
            "by_status": {},
        }

        self._sessions: dict[str, GatewaySession] = {}
        self._latest_session: dict[int, GatewaySession] = {}
        self._connections: set[GatewayConnection] = set()
        self.identify_count = 0
        self.resume_count = 0
        self.identify_payloads: list[dict[str, Any]] = []
        self.presence: Any = None

        self.last_autocomplete: FakeInteraction | None = None
        self.internal_errors: list[BaseException] = []  # bugs in the fake itself (answered with a 400)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()

    @property
    def api_base(self) -> str:
        return f"http://{self.host}:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def connections(self) -> int:
        return sum(1 for c in self._connections if not c.closed)

    @property
    def application_flags(self) -> int:
        flags = 1 << 23  # APPLICATION_COMMAND_BADGE
        if self.privileged_intents_enabled:
            flags |= (1 << 13) | (1 << 15) | (1 << 19)  # *_LIMITED: the intents are switched on
        return flags

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0, message: str = "") -> None:
        """Poll ``predicate`` (short async waits between checks) until true; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(message or f"condition not met within {timeout}s")
            waiter = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), timeout=min(remaining, 0.02))

    @staticmethod
    def _resolve(table: dict[int, T], kind: str, item: Any) -> T | None:
        """``item`` (an object with an ``id``, or an id) looked up in ``table``; None stays None."""
        if item is None:
            return None
        key = int(item.id) if hasattr(item, "id") else int(item)
        try:
            return table[key]
        except KeyError:
            raise KeyError(f"unknown {kind} {key}") from None

    def _resolve_guild(self, guild: FakeGuild | int | None) -> FakeGuild | None:
        return self._resolve(self.guilds, "guild", guild)

    def _resolve_user(self, user: FakeUser | int | None) -> FakeUser | None:
        return self._resolve(self.users, "user", user)

    def _resolve_channel(self, channel: FakeChannel | int | None) -> FakeChannel | None:
        return self._resolve(self.channels, "channel", channel)

    def shard_for(self, guild_id: int | None) -> int:
        return 0 if guild_id is None else (guild_id >> 22) % self.shards

    def bot_member(self, guild: FakeGuild) -> FakeMember:
        return guild._members[self.bot_user_id]

    def bot_permissions_in(self, channel: FakeChannel) -> int:
        if channel.guild_id is None:
            return P.VIEW_CHANNEL | P.SEND_MESSAGES | P.EMBED_LINKS | P.ATTACH_FILES | P.READ_MESSAGE_HISTORY
        guild = self.guilds[channel.guild_id]
        return compute_permissions(guild, self.bot_member(guild), channel, self.bot_user_id)

    def message_by_id(self, message_id: int) -> FakeMessage | None:
        return self._messages.get(message_id)
