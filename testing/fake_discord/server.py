# ruff: noqa: ASYNC109 - the public API takes timeout= arguments on purpose
"""FakeDiscord: an aiohttp server that real discord.py talks to over loopback (REST + gateway)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
import hmac
import json
import logging
import re
import secrets
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web

from . import errors as E  # noqa: N812
from .errors import FakeHTTPError, FakeInvocationError, FakePermissionError, invalid_form_body
from .gateway import (
    INTENT_GUILD_MEMBERS,
    OP_INVALID_SESSION,
    OP_RECONNECT,
    GatewayConnection,
    GatewaySession,
    websocket_handler,
)
from .models import (
    BOT_DEFAULT,
    DM,
    EVERYONE_DEFAULT,
    GUILD_NEWS,
    GUILD_TEXT,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    THREAD_TYPES,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    Fault,
    P,
    RecordedRequest,
    compute_permissions,
)
from .ratelimit import BucketState, RateLimiter, RateLimits
from .snowflake import SnowflakeGenerator, iso
from .validate import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    FLAG_SUPPRESS_EMBEDS,
    INTERACTION_SETTABLE_FLAGS,
    USER_SETTABLE_FLAGS,
    validate_autocomplete_choices,
    validate_command_list,
    validate_message,
    validate_modal,
    validate_thread_name,
)

log = logging.getLogger("fake_discord")

AUTH_BOT = "bot"
AUTH_NONE = "none"


@dataclass
class _Ctx:
    request: web.Request
    params: dict[str, str]
    json: Any = None
    files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def query(self) -> Any:
        return self.request.query


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    template: str
    handler: Callable[[_Ctx], Awaitable[Any]]
    auth: str


class _NoContent:
    """A handler's result meaning 204 No Content (distinct from a JSON ``null`` body)."""


NO_CONTENT = _NoContent()


def _flag(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes")


class FakeDiscord:
    """A Discord stand-in for tests. See ``testing/fake_discord/README.md``."""

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
        self._routes = self._build_routes()

    # ---------------------------------------------------------------------------- lifecycle

    async def start(self) -> FakeDiscord:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._ws)
        app.router.add_get("/gateway/", self._ws)
        app.router.add_route("*", "/api/{tail:.*}", self._http)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handler_cancellation=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for conn in list(self._connections):
            await conn.close(1001, "Fake Discord is stopping.")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

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

    # ---------------------------------------------------------------------------- world

    @staticmethod
    def _resolve(table: dict[int, Any], kind: str, item: Any) -> Any:
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

    def add_user(self, name: str = "user", *, bot: bool = False) -> FakeUser:
        user = FakeUser(self._ids.next(), name, bot=bot)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str = "Guild", owner_id: int | None = None, *, shard_id: int | None = None) -> FakeGuild:
        """Create a guild the bot is in. With ``owner_id`` None an owner member is created too."""
        gid = self._ids.next(shard=shard_id, shard_count=self.shards) if shard_id is not None else self._ids.next()
        if owner_id is None:
            owner = self.add_user(f"{name}-owner")
            owner_id = owner.id
        guild = FakeGuild(gid, name, owner_id)
        guild.roles[gid] = FakeRole(gid, gid, "@everyone", EVERYONE_DEFAULT, position=0)
        bot_role = FakeRole(self._ids.next(), gid, self.bot_user.name, self.bot_permissions, 1, True, self.bot_user_id)
        guild.roles[bot_role.id] = bot_role
        guild._members[self.bot_user_id] = FakeMember(self.bot_user, gid, [bot_role.id])
        if owner_id in self.users:
            guild._members[owner_id] = FakeMember(self.users[owner_id], gid, [])
        self.guilds[gid] = guild
        self._spawn_dispatch("GUILD_CREATE", lambda s: self.guild_create_json(guild, s, joined=True), guild_id=gid)
        return guild

    def add_text_channel(
        self,
        guild_id: FakeGuild | int,
        name: str = "general",
        bot_can_send: bool = True,
        bot_can_view: bool = True,
        bot_can_embed: bool = True,
        *,
        topic: str | None = None,
        news: bool = False,
    ) -> FakeChannel:
        guild = self._resolve_guild(guild_id)
        assert guild is not None
        channel = FakeChannel(
            self._ids.next(),
            name,
            guild.id,
            type=GUILD_NEWS if news else GUILD_TEXT,
            position=len(guild.channels),
            topic=topic,
            bot_can_send=bot_can_send,
            bot_can_view=bot_can_view,
            bot_can_embed=bot_can_embed,
        )
        guild._channels[channel.id] = channel
        self.channels[channel.id] = channel
        self._spawn_dispatch("CHANNEL_CREATE", lambda s: channel.to_json(self), guild_id=guild.id)
        return channel

    def set_bot_permissions(
        self,
        channel_id: FakeChannel | int,
        *,
        can_send: bool | None = None,
        can_view: bool | None = None,
        can_embed: bool | None = None,
    ) -> FakeChannel:
        """Change the bot's channel overwrite (as a server admin would); dispatches CHANNEL_UPDATE."""
        channel = self._resolve_channel(channel_id)
        assert channel is not None
        if can_send is not None:
            channel.bot_can_send = can_send
        if can_view is not None:
            channel.bot_can_view = can_view
        if can_embed is not None:
            channel.bot_can_embed = can_embed
        self._spawn_dispatch("CHANNEL_UPDATE", lambda s: channel.to_json(self), guild_id=channel.guild_id)
        return channel

    def add_member(
        self,
        guild_id: FakeGuild | int,
        name: str = "member",
        permissions: int | None = None,
        bot: bool = False,
        *,
        user: FakeUser | int | None = None,
    ) -> FakeUser:
        """Add a member. ``permissions`` (a permission int) becomes a role of the member, on top of @everyone."""
        guild = self._resolve_guild(guild_id)
        assert guild is not None
        member_user = self._resolve_user(user) if user is not None else self.add_user(name, bot=bot)
        assert member_user is not None
        member = FakeMember(member_user, guild.id, [])
        if permissions:
            role = FakeRole(self._ids.next(), guild.id, f"{member_user.name}-role", permissions, position=1)
            guild.roles[role.id] = role
            member.role_ids.append(role.id)
            self._spawn_dispatch(
                "GUILD_ROLE_CREATE", lambda s: {"guild_id": str(guild.id), "role": role.to_json()}, guild_id=guild.id
            )
        guild._members[member_user.id] = member
        self._spawn_dispatch(
            "GUILD_MEMBER_ADD", lambda s: {**member.to_json(), "guild_id": str(guild.id)}, guild_id=guild.id
        )
        return member_user

    def set_member_permissions(self, guild_id: FakeGuild | int, user_id: FakeUser | int, permissions: int) -> None:
        guild = self._resolve_guild(guild_id)
        user = self._resolve_user(user_id)
        assert guild is not None
        assert user is not None
        member = guild._members[user.id]
        for role_id in member.role_ids:
            role = guild.roles[role_id]
            if not role.managed:
                role.permissions = permissions
                self._spawn_dispatch(
                    "GUILD_ROLE_UPDATE",
                    lambda s, role=role: {"guild_id": str(guild.id), "role": role.to_json()},
                    guild_id=guild.id,
                )
                return
        role = FakeRole(self._ids.next(), guild.id, f"{user.name}-role", permissions, position=1)
        guild.roles[role.id] = role
        member.role_ids.append(role.id)
        self._spawn_dispatch(
            "GUILD_ROLE_CREATE", lambda s: {"guild_id": str(guild.id), "role": role.to_json()}, guild_id=guild.id
        )
        self._spawn_dispatch(
            "GUILD_MEMBER_UPDATE", lambda s: {**member.to_json(), "guild_id": str(guild.id)}, guild_id=guild.id
        )

    async def remove_guild(self, guild_id: FakeGuild | int) -> None:
        """The bot was kicked: GUILD_DELETE without ``unavailable``; REST on its channels is then 403 50001."""
        await self.flush_events()
        guild = self._resolve_guild(guild_id)
        assert guild is not None
        await self.dispatch("GUILD_DELETE", {"id": str(guild.id)}, guild_id=guild.id)
        guild.deleted = True
        self._guild_commands.pop(guild.id, None)

    async def delete_channel(self, channel_id: FakeChannel | int) -> None:
        await self.flush_events()
        channel = self._resolve_channel(channel_id)
        assert channel is not None
        channel.deleted = True
        event = "THREAD_DELETE" if channel.is_thread else "CHANNEL_DELETE"
        data = channel.to_json(self)
        if channel.is_thread:
            data = {
                "id": str(channel.id),
                "guild_id": str(channel.guild_id),
                "parent_id": str(channel.parent_id),
                "type": channel.type,
            }
        await self.dispatch(event, data, guild_id=channel.guild_id)

    def close_dms(self, user_id: FakeUser | int) -> None:
        user = self._resolve_user(user_id)
        assert user is not None
        user.dms_closed = True

    def open_dms(self, user_id: FakeUser | int) -> None:
        user = self._resolve_user(user_id)
        assert user is not None
        user.dms_closed = False

    def dm_channel(self, user_id: FakeUser | int) -> FakeChannel:
        """The bot's DM channel with a user (created on first use, same id every time, as on Discord)."""
        user = self._resolve_user(user_id)
        assert user is not None
        cid = self._dm_channels.get(user.id)
        if cid is None:
            channel = FakeChannel(self._ids.next(), "", None, type=DM, recipient_id=user.id)
            self.channels[channel.id] = channel
            self._dm_channels[user.id] = channel.id
            return channel
        return self.channels[cid]

    def default_user(self) -> FakeUser:
        if self._default_user is None:
            self._default_user = self.add_user("tester")
        return self._default_user

    @property
    def threads(self) -> list[FakeChannel]:
        return [c for c in self.channels.values() if c.is_thread]

    def bot_member(self, guild: FakeGuild) -> FakeMember:
        return guild._members[self.bot_user_id]

    def bot_permissions_in(self, channel: FakeChannel) -> int:
        if channel.guild_id is None:
            return P.VIEW_CHANNEL | P.SEND_MESSAGES | P.EMBED_LINKS | P.ATTACH_FILES | P.READ_MESSAGE_HISTORY
        guild = self.guilds[channel.guild_id]
        return compute_permissions(guild, self.bot_member(guild), channel, self.bot_user_id)

    # ---------------------------------------------------------------------------- json

    def bot_user_json(self) -> dict[str, Any]:
        data = self.bot_user.to_json()
        data.update({"verified": True, "mfa_enabled": False, "locale": "en-US", "email": None, "flags": 0})
        return data

    def application_json(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": self.bot_user.name,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": self.owner_user.to_json(),
            "team": None,
            "flags": self.application_flags,
            "tags": [],
            "install_params": None,
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "approximate_guild_count": sum(1 for g in self.guilds.values() if not g.deleted),
            "bot": self.bot_user_json(),
            "integration_types_config": {"0": {}},
        }

    def guild_json(self, guild: FakeGuild) -> dict[str, Any]:
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [r.to_json() for r in guild.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "max_members": 500000,
            "max_video_channel_users": 25,
        }

    def guild_create_json(
        self, guild: FakeGuild, session: GatewaySession | None, *, joined: bool = False
    ) -> dict[str, Any]:
        """GUILD_CREATE data; ``joined`` (bot added to a guild while connected) leaves out ``unavailable``."""
        data = self.guild_json(guild)
        with_members = session is not None and bool(session.intents & INTENT_GUILD_MEMBERS)
        members = [m.to_json() for m in guild._members.values() if with_members or m.id == self.bot_user_id]
        data.update(
            {
                "joined_at": iso(guild.joined_at),
                "large": False,
                "unavailable": False,
                "member_count": len(guild._members),
                "members": members,
                "channels": [c.to_json(self) for c in guild.channels],
                "threads": [c.to_json(self) for c in guild.threads],
                "presences": [],
                "voice_states": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
            }
        )
        if joined:
            del data["unavailable"]
        return data

    # ---------------------------------------------------------------------------- gateway

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

    # ---------------------------------------------------------------------------- messages

    def message_by_id(self, message_id: int) -> FakeMessage | None:
        return self._messages.get(message_id)

    @property
    def all_messages(self) -> list[FakeMessage]:
        """Every message the bot created (channel posts, DMs, interaction responses, follow-ups), deleted too."""
        return list(self._messages.values())

    def messages(
        self, channel_id: FakeChannel | int, *, include_interactions: bool = False, include_deleted: bool = False
    ) -> list[FakeMessage]:
        """Messages the bot posted to a channel via ``POST /channels/{id}/messages``, oldest first.

        ``include_interactions`` adds (non-ephemeral) interaction responses and follow-ups in that channel.
        """
        cid = channel_id.id if isinstance(channel_id, FakeChannel) else int(channel_id)
        return [
            m
            for m in self._messages.values()
            if m.channel_id == cid
            and (include_deleted or not m.deleted)
            and (m.interaction_id is None or (include_interactions and not m.ephemeral))
        ]

    def dm_messages(self, user_id: FakeUser | int) -> list[FakeMessage]:
        uid = user_id.id if isinstance(user_id, FakeUser) else int(user_id)
        cid = self._dm_channels.get(uid)
        if cid is None:
            return []
        return self.messages(cid)

    def _new_message(self, channel: FakeChannel, **kwargs: Any) -> FakeMessage:
        msg = FakeMessage(self._ids.next(), channel.id, channel.guild_id, **kwargs)
        self._messages[msg.id] = msg
        channel.last_message_id = msg.id
        channel.message_count += 1
        return msg

    def _message_event_data(self, msg: FakeMessage) -> dict[str, Any]:
        data = msg.to_json(self)
        if msg.guild_id is not None:
            guild = self.guilds.get(msg.guild_id)
            member = guild.member(msg.author_id) if guild else None
            if member is not None:
                data["member"] = member.to_json(with_user=False)
        return data

    async def _dispatch_message(self, event: str, msg: FakeMessage) -> None:
        if not self.dispatch_message_events or msg.ephemeral:
            return
        if event == "MESSAGE_DELETE":
            data: dict[str, Any] = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
            if msg.guild_id is not None:
                data["guild_id"] = str(msg.guild_id)
        else:
            data = self._message_event_data(msg)
        try:
            await self.dispatch(event, data, guild_id=msg.guild_id)
        except Exception:  # pragma: no cover - never let gateway trouble break REST
            log.exception("dispatch of %s failed", event)

    @staticmethod
    def _apply_files(payload: dict[str, Any], files: list[dict[str, Any]], ids: SnowflakeGenerator) -> list[dict]:
        attachments = []
        described = {str(a.get("id")): a for a in payload.get("attachments") or [] if isinstance(a, dict)}
        for index, f in enumerate(files):
            meta = described.get(str(index), {})
            attachments.append(
                {
                    "id": str(ids.next()),
                    "filename": meta.get("filename") or f["filename"],
                    "description": meta.get("description"),
                    "size": f["size"],
                    "content_type": f.get("content_type"),
                    "url": f"https://cdn.discordapp.com/attachments/0/0/{f['filename']}",
                    "proxy_url": f"https://media.discordapp.net/attachments/0/0/{f['filename']}",
                    "ephemeral": False,
                }
            )
        return attachments

    def _apply_edit(self, msg: FakeMessage, payload: dict[str, Any], files: list[dict[str, Any]], *, embeds_ok=True):
        msg.revisions.append(msg.snapshot())
        if "content" in payload:
            msg.content = payload["content"] or ""
        if "embeds" in payload:
            embeds = copy.deepcopy(payload["embeds"] or [])
            if embeds and not embeds_ok:
                msg.embeds_dropped = True
                embeds = []
            msg.embeds = embeds
        if "components" in payload:
            msg.components = copy.deepcopy(payload["components"] or [])
        if "allowed_mentions" in payload:
            msg.allowed_mentions = payload["allowed_mentions"]
        if payload.get("flags") is not None:
            msg.flags = (msg.flags & ~FLAG_SUPPRESS_EMBEDS) | (payload["flags"] & FLAG_SUPPRESS_EMBEDS)
        if "attachments" in payload or files:
            keep_ids = {str(a.get("id")) for a in payload.get("attachments") or [] if isinstance(a, dict)}
            kept = [a for a in msg.attachments if a["id"] in keep_ids] if "attachments" in payload else msg.attachments
            msg.attachments = kept + self._apply_files(payload, files, self._ids)
        msg.flags &= ~FLAG_LOADING
        msg.edited_at = datetime.datetime.now(datetime.UTC)

    # ---------------------------------------------------------------------------- faults

    def set_channel_error(
        self, channel_id: FakeChannel | int, status: int = 403, code: int = 50013, message: str = "Missing Permissions"
    ) -> None:
        cid = channel_id.id if isinstance(channel_id, FakeChannel) else int(channel_id)
        self._channel_errors[cid] = FakeHTTPError(status, code, message)

    def clear_channel_error(self, channel_id: FakeChannel | int) -> None:
        cid = channel_id.id if isinstance(channel_id, FakeChannel) else int(channel_id)
        self._channel_errors.pop(cid, None)

    def fail_next(
        self,
        method: str | None = "POST",
        path_regex: str = r"/channels/\d+/messages",
        status: int | None = 500,
        count: int = 1,
        *,
        code: int | None = None,
        message: str | None = None,
        reset: bool = False,
        delay: float | None = None,
        after_processing: bool = False,
        retry_after: float = 0.1,
    ) -> Fault:
        """Make the next ``count`` matching requests fail.

        ``path_regex`` must fully match the path after ``/api/v10`` (no query string). ``status`` is the error
        status (429 produces a proper route 429 with ``retry_after``); ``status=None`` with ``reset=True`` aborts
        the TCP connection (connection reset), and with only ``delay`` the request is answered normally after
        hanging for ``delay`` seconds. ``after_processing=True`` (with ``reset``) performs the request first and
        then drops the connection, i.e. the response is lost; with ``delay`` instead of ``reset`` it performs
        the request, then hangs ``delay`` seconds before dropping the connection (a crash window for the client).
        """
        fault = Fault(
            method.upper() if method else None,
            path_regex,
            status,
            count,
            code,
            message,
            reset,
            delay,
            after_processing,
            retry_after,
        )
        self._faults.append(fault)
        return fault

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.remaining <= 0:
                continue
            if fault.method is not None and fault.method != method:
                continue
            if re.fullmatch(fault.path_regex, path):
                fault.hits += 1
                return fault
        return None

    # ---------------------------------------------------------------------------- HTTP plumbing

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        return await websocket_handler(self, request)

    def _build_routes(self) -> list[_Route]:
        ch = r"(?P<channel_id>\d+)"
        msg = r"(?P<message_id>\d+)"
        app = r"(?P<application_id>\d+)"
        gid = r"(?P<guild_id>\d+)"
        table: list[tuple[str, str, str, Callable[[_Ctx], Awaitable[Any]], str]] = [
            ("GET", "/gateway", "/gateway", self._h_gateway, AUTH_NONE),
            ("GET", "/gateway/bot", "/gateway/bot", self._h_gateway_bot, AUTH_BOT),
            ("GET", "/users/@me", "/users/@me", self._h_me, AUTH_BOT),
            ("POST", "/users/@me/channels", "/users/@me/channels", self._h_create_dm, AUTH_BOT),
            ("GET", r"/users/(?P<user_id>\d+)", "/users/{user_id}", self._h_user, AUTH_BOT),
            ("GET", "/oauth2/applications/@me", "/oauth2/applications/@me", self._h_app, AUTH_BOT),
            ("GET", "/applications/@me", "/applications/@me", self._h_app, AUTH_BOT),
            (
                "GET",
                f"/applications/{app}/commands",
                "/applications/{application_id}/commands",
                self._h_get_commands,
                AUTH_BOT,
            ),
            (
                "PUT",
                f"/applications/{app}/commands",
                "/applications/{application_id}/commands",
                self._h_put_commands,
                AUTH_BOT,
            ),
            (
                "POST",
                f"/applications/{app}/commands",
                "/applications/{application_id}/commands",
                self._h_post_command,
                AUTH_BOT,
            ),
            (
                "GET",
                rf"/applications/{app}/commands/(?P<command_id>\d+)",
                "/applications/{application_id}/commands/{command_id}",
                self._h_get_command,
                AUTH_BOT,
            ),
            (
                "PATCH",
                rf"/applications/{app}/commands/(?P<command_id>\d+)",
                "/applications/{application_id}/commands/{command_id}",
                self._h_patch_command,
                AUTH_BOT,
            ),
            (
                "DELETE",
                rf"/applications/{app}/commands/(?P<command_id>\d+)",
                "/applications/{application_id}/commands/{command_id}",
                self._h_delete_command,
                AUTH_BOT,
            ),
            (
                "GET",
                f"/applications/{app}/guilds/{gid}/commands",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self._h_get_commands,
                AUTH_BOT,
            ),
            (
                "PUT",
                f"/applications/{app}/guilds/{gid}/commands",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self._h_put_commands,
                AUTH_BOT,
            ),
            (
                "POST",
                f"/applications/{app}/guilds/{gid}/commands",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self._h_post_command,
                AUTH_BOT,
            ),
            (
                "GET",
                rf"/applications/{app}/guilds/{gid}/commands/(?P<command_id>\d+)",
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                self._h_get_command,
                AUTH_BOT,
            ),
            (
                "PATCH",
                rf"/applications/{app}/guilds/{gid}/commands/(?P<command_id>\d+)",
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                self._h_patch_command,
                AUTH_BOT,
            ),
            (
                "DELETE",
                rf"/applications/{app}/guilds/{gid}/commands/(?P<command_id>\d+)",
                "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
                self._h_delete_command,
                AUTH_BOT,
            ),
            ("GET", f"/channels/{ch}", "/channels/{channel_id}", self._h_get_channel, AUTH_BOT),
            ("GET", f"/channels/{ch}/messages", "/channels/{channel_id}/messages", self._h_list_messages, AUTH_BOT),
            ("POST", f"/channels/{ch}/messages", "/channels/{channel_id}/messages", self._h_create_message, AUTH_BOT),
            (
                "GET",
                f"/channels/{ch}/messages/{msg}",
                "/channels/{channel_id}/messages/{message_id}",
                self._h_get_message,
                AUTH_BOT,
            ),
            (
                "PATCH",
                f"/channels/{ch}/messages/{msg}",
                "/channels/{channel_id}/messages/{message_id}",
                self._h_edit_message,
                AUTH_BOT,
            ),
            (
                "DELETE",
                f"/channels/{ch}/messages/{msg}",
                "/channels/{channel_id}/messages/{message_id}",
                self._h_delete_message,
                AUTH_BOT,
            ),
            (
                "POST",
                f"/channels/{ch}/messages/{msg}/threads",
                "/channels/{channel_id}/messages/{message_id}/threads",
                self._h_thread_from_message,
                AUTH_BOT,
            ),
            ("POST", f"/channels/{ch}/threads", "/channels/{channel_id}/threads", self._h_thread, AUTH_BOT),
            ("POST", f"/channels/{ch}/typing", "/channels/{channel_id}/typing", self._h_typing, AUTH_BOT),
            ("GET", f"/guilds/{gid}", "/guilds/{guild_id}", self._h_get_guild, AUTH_BOT),
            ("GET", f"/guilds/{gid}/channels", "/guilds/{guild_id}/channels", self._h_guild_channels, AUTH_BOT),
            ("GET", f"/guilds/{gid}/roles", "/guilds/{guild_id}/roles", self._h_guild_roles, AUTH_BOT),
            (
                "GET",
                rf"/guilds/{gid}/members/(?P<user_id>\d+)",
                "/guilds/{guild_id}/members/{user_id}",
                self._h_guild_member,
                AUTH_BOT,
            ),
            (
                "POST",
                r"/interactions/(?P<interaction_id>\d+)/(?P<token>[^/]+)/callback",
                "/interactions/{interaction_id}/{token}/callback",
                self._h_callback,
                AUTH_NONE,
            ),
            (
                "POST",
                r"/webhooks/(?P<webhook_id>\d+)/(?P<token>[^/]+)",
                "/webhooks/{webhook_id}/{token}",
                self._h_webhook_execute,
                AUTH_NONE,
            ),
            (
                "GET",
                r"/webhooks/(?P<webhook_id>\d+)/(?P<token>[^/]+)/messages/(?P<message_id>@original|\d+)",
                "/webhooks/{webhook_id}/{token}/messages/{message_id}",
                self._h_webhook_get,
                AUTH_NONE,
            ),
            (
                "PATCH",
                r"/webhooks/(?P<webhook_id>\d+)/(?P<token>[^/]+)/messages/(?P<message_id>@original|\d+)",
                "/webhooks/{webhook_id}/{token}/messages/{message_id}",
                self._h_webhook_edit,
                AUTH_NONE,
            ),
            (
                "DELETE",
                r"/webhooks/(?P<webhook_id>\d+)/(?P<token>[^/]+)/messages/(?P<message_id>@original|\d+)",
                "/webhooks/{webhook_id}/{token}/messages/{message_id}",
                self._h_webhook_delete,
                AUTH_NONE,
            ),
        ]
        return [
            _Route(method, re.compile(pattern), f"{method} {template}", handler, auth)
            for method, pattern, template, handler, auth in table
        ]

    def _match(self, method: str, path: str) -> tuple[_Route, dict[str, str]]:
        path_matched = False
        for route in self._routes:
            m = route.pattern.fullmatch(path)
            if m is None:
                continue
            path_matched = True
            if route.method == method:
                return route, m.groupdict()
        if path_matched:
            raise FakeHTTPError(405, 0, "405: Method Not Allowed")
        raise E.not_found_route()

    @staticmethod
    def _major(params: dict[str, str]) -> str:
        for key in ("channel_id", "guild_id"):
            if key in params:
                return params[key]
        if "webhook_id" in params:
            return f"{params['webhook_id']}+{params['token']}"
        if "interaction_id" in params:
            return f"{params['interaction_id']}+{params['token']}"
        return ""

    async def _read_body(self, request: web.Request, ctx: _Ctx) -> None:
        ctype = request.content_type
        if ctype == "multipart/form-data":
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if part.name == "payload_json":
                    try:
                        ctx.json = json.loads(await part.text())
                    except ValueError:
                        raise FakeHTTPError(400, 50109, "The request body contains invalid JSON.") from None
                elif part.filename is not None:
                    data = await part.read()
                    ctx.files.append(
                        {
                            "field": part.name,
                            "filename": part.filename,
                            "size": len(data),
                            "content_type": part.headers.get("Content-Type"),
                            "data": data,
                        }
                    )
            return
        raw = await request.read()
        if not raw:
            return
        if ctype == "application/json":
            try:
                ctx.json = json.loads(raw)
            except ValueError:
                raise FakeHTTPError(400, 50109, "The request body contains invalid JSON.") from None

    def _headers(self, state: BucketState | None) -> dict[str, str]:
        headers = {"Via": "1.1 google"}
        if state is not None:
            headers.update(
                {
                    "X-RateLimit-Limit": str(state.limit),
                    "X-RateLimit-Remaining": str(state.remaining),
                    "X-RateLimit-Reset": f"{state.reset_at_epoch:.3f}",
                    "X-RateLimit-Reset-After": f"{state.reset_after:.3f}",
                    "X-RateLimit-Bucket": state.bucket_hash,
                }
            )
        return headers

    @staticmethod
    def _json_response(status: int, body: Any, headers: dict[str, str]) -> web.Response:
        if body is NO_CONTENT:
            return web.Response(status=204, headers=headers)
        headers = {**headers, "Content-Type": "application/json"}
        return web.Response(status=status, body=json.dumps(body).encode(), headers=headers)

    def _record(self, method: str, path: str, status: int, body: Any) -> None:
        self.requests.append(RecordedRequest(method, path, status, body, time.time()))
        self.stats["requests"] += 1
        by_status = self.stats["by_status"]
        by_status[status] = by_status.get(status, 0) + 1
        if status in (401, 403, 429):
            self.stats["invalid_requests"] += 1
        self._notify()

    @staticmethod
    def _abort_connection(request: web.Request) -> None:
        transport = request.transport
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    async def _http(self, request: web.Request) -> web.StreamResponse:
        method = request.method
        tail = request.match_info["tail"]
        path = "/" + re.sub(r"^v\d+/", "", tail)
        path = path.rstrip("/") if path != "/" else path
        ctx = _Ctx(request, {})
        state: BucketState | None = None
        status = 500
        body: Any = None
        body_error: FakeHTTPError | None = None
        try:
            try:
                await self._read_body(request, ctx)
            except FakeHTTPError as exc:
                body_error = exc
            state = self._limiter.peek(f"{method} {path}", "")
            route, params = self._match(method, path)
            ctx.params = params
            state = self._limiter.peek(route.template, self._major(params))
            if route.auth == AUTH_BOT:
                if request.headers.get("Authorization") != f"Bot {self.token}":
                    raise E.unauthorized()
                retry_after = self._limiter.check_global()
                if retry_after is not None:
                    self.stats["global_429"] += 1
                    state = self._limiter.peek(route.template, self._major(params))
                    body = {
                        "message": "You are being rate limited.",
                        "retry_after": round(retry_after, 3),
                        "global": True,
                        "code": 0,
                    }
                    headers = self._headers(state)
                    headers.update(
                        {
                            "X-RateLimit-Global": "true",
                            "X-RateLimit-Scope": "global",
                            "Retry-After": str(max(1, round(retry_after))),
                        }
                    )
                    self._record(method, path, 429, ctx.json)
                    return self._json_response(429, body, headers)
            allowed, state = self._limiter.hit(route.template, self._major(params))
            if not allowed:
                self.stats["route_429"] += 1
                body = {
                    "message": "You are being rate limited.",
                    "retry_after": round(state.reset_after, 3),
                    "global": False,
                    "code": 0,
                }
                headers = self._headers(state)
                headers.update({"X-RateLimit-Scope": "user", "Retry-After": str(max(1, round(state.reset_after)))})
                self._record(method, path, 429, ctx.json)
                return self._json_response(429, body, headers)

            if body_error is not None:
                raise body_error
            fault = self._take_fault(method, path)
            if fault is not None:
                if fault.after_processing and fault.delay and not fault.reset:
                    # Carried out, then the answer never arrives: what a crash between send and mark sees.
                    with contextlib.suppress(FakeHTTPError):
                        await self._run_handler(route, ctx)
                    self._record(method, path, 0, ctx.json)
                    await asyncio.sleep(fault.delay)
                    self._abort_connection(request)
                    raise asyncio.CancelledError
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.reset:
                    if fault.after_processing:
                        with contextlib.suppress(FakeHTTPError):
                            await self._run_handler(route, ctx)
                    self._record(method, path, 0, ctx.json)
                    self._abort_connection(request)
                    raise asyncio.CancelledError
                if fault.status == 429:
                    self.stats["route_429"] += 1
                    body = {
                        "message": "You are being rate limited.",
                        "retry_after": fault.retry_after,
                        "global": False,
                        "code": 0,
                    }
                    headers = self._headers(state)
                    headers.update({"X-RateLimit-Scope": "user", "Retry-After": str(max(1, round(fault.retry_after)))})
                    self._record(method, path, 429, ctx.json)
                    return self._json_response(429, body, headers)
                if fault.status is not None:
                    raise FakeHTTPError(
                        fault.status,
                        fault.code if fault.code is not None else 0,
                        fault.message or f"{fault.status}: {HTTPStatus(fault.status).phrase}",
                    )
            channel_id = params.get("channel_id")
            if channel_id is not None and int(channel_id) in self._channel_errors:
                raise self._channel_errors[int(channel_id)]
            status, body = await self._run_handler(route, ctx)
        except FakeHTTPError as exc:
            status, body = exc.status, exc.body()
        except Exception as exc:  # a bug in the fake: fail loudly and at once (a 5xx would be retried)
            log.exception("fake_discord internal error on %s %s", method, path)
            self.internal_errors.append(exc)
            status, body = 400, {"code": 0, "message": f"fake_discord internal error: {exc!r}"}
        self._record(method, path, status, ctx.json)
        return self._json_response(status, body, self._headers(state))

    async def _run_handler(self, route: _Route, ctx: _Ctx) -> tuple[int, Any]:
        result = await route.handler(ctx)
        if result is NO_CONTENT:
            return 204, NO_CONTENT
        return 200, result

    # ---------------------------------------------------------------------------- handlers: misc

    async def _h_gateway(self, ctx: _Ctx) -> Any:
        return {"url": self.gateway_url}

    async def _h_gateway_bot(self, ctx: _Ctx) -> Any:
        return {
            "url": self.gateway_url,
            "shards": self.shards,
            "session_start_limit": {
                "total": 1000,
                "remaining": max(0, 1000 - self.identify_count),
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        }

    async def _h_me(self, ctx: _Ctx) -> Any:
        return self.bot_user_json()

    async def _h_user(self, ctx: _Ctx) -> Any:
        user = self.users.get(int(ctx.params["user_id"]))
        if user is None:
            raise E.unknown_user()
        return user.to_json()

    async def _h_app(self, ctx: _Ctx) -> Any:
        return self.application_json()

    async def _h_create_dm(self, ctx: _Ctx) -> Any:
        body = ctx.json if isinstance(ctx.json, dict) else {}
        try:
            user = self.users[int(body.get("recipient_id"))]
        except (TypeError, ValueError, KeyError):
            raise invalid_form_body(
                {"recipient_id": E.field_error("BASE_TYPE_REQUIRED", "This field is required")}
            ) from None
        if user.id == self.bot_user_id:
            raise FakeHTTPError(400, 50007, "Cannot send messages to this user")
        return self.dm_channel(user).to_json(self)

    async def _h_typing(self, ctx: _Ctx) -> Any:
        self._rest_channel(ctx, need=P.SEND_MESSAGES)
        return NO_CONTENT

    # ---------------------------------------------------------------------------- handlers: guilds

    def _rest_guild(self, ctx: _Ctx) -> FakeGuild:
        guild = self.guilds.get(int(ctx.params["guild_id"]))
        if guild is None:
            raise E.unknown_guild()
        if guild.deleted:
            raise E.missing_access()
        return guild

    async def _h_get_guild(self, ctx: _Ctx) -> Any:
        guild = self._rest_guild(ctx)
        data = self.guild_json(guild)
        data["approximate_member_count"] = len(guild._members)
        return data

    async def _h_guild_channels(self, ctx: _Ctx) -> Any:
        return [c.to_json(self) for c in self._rest_guild(ctx).channels]

    async def _h_guild_roles(self, ctx: _Ctx) -> Any:
        return [r.to_json() for r in self._rest_guild(ctx).roles.values()]

    async def _h_guild_member(self, ctx: _Ctx) -> Any:
        member = self._rest_guild(ctx).member(int(ctx.params["user_id"]))
        if member is None:
            raise FakeHTTPError(404, 10007, "Unknown Member")
        return member.to_json()

    # ---------------------------------------------------------------------------- handlers: commands

    def commands(self, guild_id: FakeGuild | int | None = None) -> list[dict[str, Any]]:
        """Registered commands (global with ``guild_id`` None), as Discord returns them."""
        if guild_id is None:
            return copy.deepcopy(self._global_commands)
        gid = guild_id.id if isinstance(guild_id, FakeGuild) else int(guild_id)
        return copy.deepcopy(self._guild_commands.get(gid, []))

    def _command_scope(self, ctx: _Ctx) -> tuple[int | None, list[dict[str, Any]]]:
        if int(ctx.params["application_id"]) != self.application_id:
            raise FakeHTTPError(403, 20012, "You are not authorized to perform this action on this application")
        if "guild_id" in ctx.params:
            guild = self.guilds.get(int(ctx.params["guild_id"]))
            if guild is None or guild.deleted:
                raise E.missing_access()
            return guild.id, self._guild_commands.setdefault(guild.id, [])
        return None, self._global_commands

    def _command_json(self, norm: dict[str, Any], guild_id: int | None, existing: dict[str, Any] | None):
        data = copy.deepcopy(norm)
        data["id"] = existing["id"] if existing else str(self._ids.next())
        data["application_id"] = str(self.application_id)
        data["version"] = str(self._ids.next())
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
        return data

    async def _h_get_commands(self, ctx: _Ctx) -> Any:
        _, commands = self._command_scope(ctx)
        return copy.deepcopy(commands)

    async def _h_put_commands(self, ctx: _Ctx) -> Any:
        guild_id, current = self._command_scope(ctx)
        self.sync_count += 1
        normalised = validate_command_list(ctx.json)
        by_key = {(c["type"], c["name"]): c for c in current}
        new = [self._command_json(n, guild_id, by_key.get((n["type"], n["name"]))) for n in normalised]
        current[:] = new
        return copy.deepcopy(new)

    async def _h_post_command(self, ctx: _Ctx) -> Any:
        guild_id, current = self._command_scope(ctx)
        normalised = validate_command_list([ctx.json])[0]
        for index, cmd in enumerate(current):
            if (cmd["type"], cmd["name"]) == (normalised["type"], normalised["name"]):
                current[index] = self._command_json(normalised, guild_id, cmd)
                return copy.deepcopy(current[index])
        if sum(1 for c in current if c["type"] == normalised["type"]) >= (100 if normalised["type"] == 1 else 5):
            raise FakeHTTPError(400, 30032, "Maximum number of application commands reached")
        current.append(self._command_json(normalised, guild_id, None))
        return copy.deepcopy(current[-1])

    def _find_command_by_id(self, ctx: _Ctx) -> tuple[int | None, list[dict[str, Any]], int]:
        guild_id, current = self._command_scope(ctx)
        for index, cmd in enumerate(current):
            if cmd["id"] == ctx.params["command_id"]:
                return guild_id, current, index
        raise FakeHTTPError(404, 10063, "Unknown application command")

    async def _h_get_command(self, ctx: _Ctx) -> Any:
        _, current, index = self._find_command_by_id(ctx)
        return copy.deepcopy(current[index])

    async def _h_patch_command(self, ctx: _Ctx) -> Any:
        guild_id, current, index = self._find_command_by_id(ctx)
        merged = {**current[index], **(ctx.json or {})}
        normalised = validate_command_list([merged])[0]
        current[index] = self._command_json(normalised, guild_id, current[index])
        return copy.deepcopy(current[index])

    async def _h_delete_command(self, ctx: _Ctx) -> Any:
        _, current, index = self._find_command_by_id(ctx)
        del current[index]
        return NO_CONTENT

    # ---------------------------------------------------------------------------- handlers: channels

    def _rest_channel(self, ctx: _Ctx, *, need: int = 0) -> FakeChannel:
        channel = self.channels.get(int(ctx.params["channel_id"]))
        if channel is None or channel.deleted:
            raise E.unknown_channel()
        if channel.guild_id is not None:
            guild = self.guilds.get(channel.guild_id)
            if guild is None:
                raise E.unknown_channel()
            if guild.deleted:  # the bot was removed from the guild: the channel exists, the bot has no access
                raise E.missing_access()
            perms = self.bot_permissions_in(channel)
            if not perms & P.VIEW_CHANNEL:
                raise E.missing_access()
            if channel.is_thread and need & P.SEND_MESSAGES:
                need = (need & ~P.SEND_MESSAGES) | P.SEND_MESSAGES_IN_THREADS
            if need and (perms & need) != need:
                raise E.missing_permissions()
        return channel

    def _channel_message(self, channel: FakeChannel, ctx: _Ctx) -> FakeMessage:
        msg = self._messages.get(int(ctx.params["message_id"]))
        if msg is None or msg.deleted or msg.channel_id != channel.id or msg.ephemeral:
            raise E.unknown_message()
        return msg

    async def _h_get_channel(self, ctx: _Ctx) -> Any:
        return self._rest_channel(ctx).to_json(self)

    async def _h_list_messages(self, ctx: _Ctx) -> Any:
        channel = self._rest_channel(ctx, need=P.READ_MESSAGE_HISTORY)
        try:
            limit = int(ctx.query.get("limit", 50))
        except ValueError:
            limit = 50
        if not 1 <= limit <= 100:
            raise invalid_form_body({"limit": E.field_error("NUMBER_TYPE_MAX", "Must be between 1 and 100.")})
        msgs = [m for m in self._messages.values() if m.channel_id == channel.id and not m.deleted and not m.ephemeral]
        msgs.sort(key=lambda m: m.id, reverse=True)
        if "before" in ctx.query:
            msgs = [m for m in msgs if m.id < int(ctx.query["before"])]
        if "after" in ctx.query:
            msgs = sorted((m for m in msgs if m.id > int(ctx.query["after"])), key=lambda m: m.id)[:limit]
            msgs.sort(key=lambda m: m.id, reverse=True)
        return [m.to_json(self) for m in msgs[:limit]]

    async def _h_create_message(self, ctx: _Ctx) -> Any:
        channel = self._rest_channel(ctx, need=P.SEND_MESSAGES)
        if channel.type == DM:
            recipient = self.users.get(channel.recipient_id or 0)
            if recipient is None or recipient.dms_closed or recipient.bot:
                raise E.cannot_message_user()
        payload = validate_message(ctx.json, has_attachments=bool(ctx.files), allowed_flags=USER_SETTABLE_FLAGS)
        if ctx.files and channel.guild_id is not None and not self.bot_permissions_in(channel) & P.ATTACH_FILES:
            raise E.missing_permissions()
        nonce = payload.get("nonce")
        now = time.monotonic()
        key = (channel.id, self.bot_user_id, str(nonce))
        if nonce is not None and payload.get("enforce_nonce"):
            seen = self._nonces.get(key)
            if seen is not None and now - seen[0] <= self.nonce_ttl:
                existing = self._messages.get(seen[1])
                if existing is not None:
                    return existing.to_json(self)
        embeds = copy.deepcopy(payload.get("embeds") or [])
        dropped = False
        if embeds and channel.guild_id is not None and not self.bot_permissions_in(channel) & P.EMBED_LINKS:
            embeds, dropped = [], True
            if not (payload.get("content") or payload.get("components") or ctx.files or payload.get("sticker_ids")):
                raise E.empty_message()
        reference = payload.get("message_reference")
        msg = self._new_message(
            channel,
            author_id=self.bot_user_id,
            content=payload.get("content") or "",
            embeds=embeds,
            components=copy.deepcopy(payload.get("components") or []),
            flags=payload.get("flags") or 0,
            nonce=nonce,
            allowed_mentions=payload.get("allowed_mentions"),
            attachments=self._apply_files(payload, ctx.files, self._ids),
            tts=bool(payload.get("tts")),
            type=19 if reference else 0,
            embeds_dropped=dropped,
            raw=copy.deepcopy(payload),
        )
        if nonce is not None:
            self._nonces[key] = (now, msg.id)
        await self._dispatch_message("MESSAGE_CREATE", msg)
        return msg.to_json(self)

    async def _h_get_message(self, ctx: _Ctx) -> Any:
        channel = self._rest_channel(ctx, need=P.READ_MESSAGE_HISTORY)
        return self._channel_message(channel, ctx).to_json(self)

    async def _h_edit_message(self, ctx: _Ctx) -> Any:
        channel = self._rest_channel(ctx)
        msg = self._channel_message(channel, ctx)
        if msg.author_id != self.bot_user_id:
            raise FakeHTTPError(403, 50005, "Cannot edit a message authored by another user")
        payload = validate_message(
            ctx.json, edit=True, has_attachments=bool(ctx.files), existing=msg.snapshot(), allowed_flags=P.ALL
        )
        embeds_ok = channel.guild_id is None or bool(self.bot_permissions_in(channel) & P.EMBED_LINKS)
        self._apply_edit(msg, payload, ctx.files, embeds_ok=embeds_ok)
        await self._dispatch_message("MESSAGE_UPDATE", msg)
        return msg.to_json(self)

    async def _h_delete_message(self, ctx: _Ctx) -> Any:
        channel = self._rest_channel(ctx)
        msg = self._channel_message(channel, ctx)
        if msg.author_id != self.bot_user_id and not self.bot_permissions_in(channel) & P.MANAGE_MESSAGES:
            raise E.missing_permissions()
        msg.deleted = True
        await self._dispatch_message("MESSAGE_DELETE", msg)
        return NO_CONTENT

    async def _create_thread(
        self, parent: FakeChannel, body: dict[str, Any], *, message: FakeMessage | None, thread_type: int
    ) -> FakeChannel:
        name = validate_thread_name(body.get("name"))
        duration = body.get("auto_archive_duration") or 1440
        if duration not in (60, 1440, 4320, 10080):
            raise invalid_form_body(
                {
                    "auto_archive_duration": E.field_error(
                        "BASE_TYPE_CHOICES", "Value must be one of {60, 1440, 4320, 10080}."
                    )
                }
            )
        thread = FakeChannel(
            message.id if message is not None else self._ids.next(),
            name,
            parent.guild_id,
            type=thread_type,
            parent_id=parent.id,
            owner_id=self.bot_user_id,
            message_id=message.id if message is not None else None,
            auto_archive_duration=duration,
        )
        guild = self.guilds[parent.guild_id] if parent.guild_id is not None else None
        if guild is not None:
            guild._channels[thread.id] = thread
        self.channels[thread.id] = thread
        if message is not None:
            message.thread_id = thread.id
        data = thread.to_json(self)
        await self.dispatch("THREAD_CREATE", {**data, "newly_created": True}, guild_id=parent.guild_id)
        return thread

    async def _h_thread_from_message(self, ctx: _Ctx) -> Any:
        channel = self._rest_channel(ctx, need=P.CREATE_PUBLIC_THREADS)
        if channel.type not in (GUILD_TEXT, GUILD_NEWS):
            raise FakeHTTPError(400, 50024, "Cannot execute action on this channel type")
        msg = self._channel_message(channel, ctx)
        if msg.thread_id is not None:
            raise FakeHTTPError(400, 160004, "A thread has already been created for this message")
        body = ctx.json if isinstance(ctx.json, dict) else {}
        thread = await self._create_thread(channel, body, message=msg, thread_type=PUBLIC_THREAD)
        return thread.to_json(self)

    async def _h_thread(self, ctx: _Ctx) -> Any:
        body = ctx.json if isinstance(ctx.json, dict) else {}
        thread_type = body.get("type") or PRIVATE_THREAD
        need = P.CREATE_PRIVATE_THREADS if thread_type == PRIVATE_THREAD else P.CREATE_PUBLIC_THREADS
        channel = self._rest_channel(ctx, need=need)
        if channel.type not in (GUILD_TEXT, GUILD_NEWS) or thread_type not in THREAD_TYPES:
            raise FakeHTTPError(400, 50024, "Cannot execute action on this channel type")
        thread = await self._create_thread(channel, body, message=None, thread_type=thread_type)
        return thread.to_json(self)

    # ---------------------------------------------------------------------------- interactions

    def _find_command(self, name: str, guild: FakeGuild | None) -> tuple[dict[str, Any], bool]:
        if guild is not None:
            for cmd in self._guild_commands.get(guild.id, []):
                if cmd["name"] == name and cmd["type"] == 1:
                    return cmd, True
        for cmd in self._global_commands:
            if cmd["name"] == name and cmd["type"] == 1:
                return cmd, False
        scope = f"guild {guild.id} or globally" if guild is not None else "globally"
        known = {c["name"] for c in self._global_commands}
        if guild is not None:
            known |= {c["name"] for c in self._guild_commands.get(guild.id, [])}
        known_list = sorted(known)
        raise FakeInvocationError(f"no slash command /{name} registered {scope}; registered: {known_list}")

    def _resolve_context(
        self,
        user: FakeUser | int | None,
        guild: FakeGuild | int | None,
        channel: FakeChannel | int | None,
    ) -> tuple[FakeUser, FakeGuild | None, FakeChannel, FakeMember | None]:
        guild_obj = self._resolve_guild(guild)
        if guild_obj is None and channel is not None:
            chan = self._resolve_channel(channel)
            if chan is not None and chan.guild_id is not None:
                guild_obj = self.guilds[chan.guild_id]
        user_obj = self._resolve_user(user) if user is not None else None
        if guild_obj is None:
            user_obj = user_obj or self.default_user()
            chan_obj = self._resolve_channel(channel) if channel is not None else self.dm_channel(user_obj)
            assert chan_obj is not None
            return user_obj, None, chan_obj, None
        if guild_obj.deleted:
            raise FakeInvocationError(f"the bot is no longer in guild {guild_obj.id}")
        if user_obj is None:
            user_obj = self.default_user()
            if guild_obj.member(user_obj.id) is None:
                self.add_member(guild_obj, user=user_obj)
        member = guild_obj.member(user_obj.id)
        if member is None:
            raise FakeInvocationError(f"user {user_obj.name} ({user_obj.id}) is not a member of guild {guild_obj.name}")
        if channel is None:
            text = [c for c in guild_obj.channels if c.type in (GUILD_TEXT, GUILD_NEWS)]
            if not text:
                raise FakeInvocationError(f"guild {guild_obj.name} has no text channel to invoke in")
            chan_obj = text[0]
        else:
            chan_obj = self._resolve_channel(channel)
            assert chan_obj is not None
            if chan_obj.guild_id != guild_obj.id:
                raise FakeInvocationError(f"channel {chan_obj.id} is not in guild {guild_obj.id}")
        if chan_obj.deleted:
            raise FakeInvocationError(f"channel {chan_obj.id} was deleted")
        return user_obj, guild_obj, chan_obj, member

    def _channel_resolved(self, chan: FakeChannel, guild: FakeGuild, member: FakeMember) -> dict[str, Any]:
        data = chan.to_json(self)
        data["permissions"] = str(compute_permissions(guild, member, chan, self.bot_user_id))
        return data

    def _build_value(
        self,
        opt: dict[str, Any],
        value: Any,
        guild: FakeGuild | None,
        member: FakeMember | None,
        resolved: dict[str, dict[str, Any]],
        where: str,
    ) -> Any:
        otype = opt["type"]
        name = opt["name"]
        label = f"{where} option {name!r}"

        def check_choices(v: Any) -> None:
            choices = opt.get("choices")
            if choices and v not in [c["value"] for c in choices]:
                raise FakeInvocationError(f"{label}: {v!r} is not one of the choices {[c['value'] for c in choices]}")

        if otype == 3:
            if not isinstance(value, str):
                raise FakeInvocationError(f"{label} is a string option, got {value!r}")
            if "min_length" in opt and len(value) < opt["min_length"]:
                raise FakeInvocationError(f"{label}: shorter than min_length {opt['min_length']}")
            if len(value) > opt.get("max_length", 6000):
                raise FakeInvocationError(f"{label}: longer than max_length {opt.get('max_length', 6000)}")
            check_choices(value)
            return value
        if otype in (4, 10):
            ok = isinstance(value, int) if otype == 4 else isinstance(value, (int, float))
            if not ok or isinstance(value, bool):
                kind = "integer" if otype == 4 else "number"
                raise FakeInvocationError(f"{label} is an {kind} option, got {value!r}")
            if otype == 4 and not -(2**53) < value < 2**53:
                raise FakeInvocationError(f"{label}: integer out of range")
            if "min_value" in opt and value < opt["min_value"]:
                raise FakeInvocationError(f"{label}: {value} < min_value {opt['min_value']}")
            if "max_value" in opt and value > opt["max_value"]:
                raise FakeInvocationError(f"{label}: {value} > max_value {opt['max_value']}")
            check_choices(value)
            return value
        if otype == 5:
            if not isinstance(value, bool):
                raise FakeInvocationError(f"{label} is a boolean option, got {value!r}")
            return value
        if otype in (6, 9) and (isinstance(value, FakeUser) or (isinstance(value, int) and value in self.users)):
            user = self._resolve_user(value)
            assert user is not None
            resolved.setdefault("users", {})[str(user.id)] = user.to_json()
            m = guild.member(user.id) if guild is not None else None
            if m is not None:
                mj = m.to_json(with_user=False, permissions=compute_permissions(guild, m, None, self.bot_user_id))
                resolved.setdefault("members", {})[str(user.id)] = mj
            return str(user.id)
        if otype in (8, 9):
            role_id = value.id if isinstance(value, FakeRole) else value
            role = guild.roles.get(int(role_id)) if guild is not None and isinstance(role_id, int) else None
            if role is None:
                raise FakeInvocationError(f"{label}: {value!r} is not a role of this guild")
            resolved.setdefault("roles", {})[str(role.id)] = role.to_json()
            return str(role.id)
        if otype == 6:
            raise FakeInvocationError(f"{label}: {value!r} is not a known user")
        if otype == 7:
            chan = (
                value
                if isinstance(value, FakeChannel)
                else self.channels.get(value)
                if isinstance(value, int)
                else None
            )
            if chan is None or chan.deleted or guild is None or chan.guild_id != guild.id or member is None:
                raise FakeInvocationError(f"{label}: {value!r} is not a channel of this guild")
            types = opt.get("channel_types")
            if types and chan.type not in types:
                raise FakeInvocationError(f"{label}: channel type {chan.type} not in channel_types {types}")
            resolved.setdefault("channels", {})[str(chan.id)] = self._channel_resolved(chan, guild, member)
            return str(chan.id)
        if otype == 11:
            if not isinstance(value, dict) or "filename" not in value:
                raise FakeInvocationError(f"{label}: pass an attachment as a dict with at least 'filename'")
            att_id = str(self._ids.next())
            att = {
                "id": att_id,
                "filename": value["filename"],
                "size": value.get("size", 0),
                "content_type": value.get("content_type"),
                "url": value.get("url", f"https://cdn.discordapp.com/attachments/0/0/{value['filename']}"),
                "proxy_url": value.get("url", f"https://media.discordapp.net/attachments/0/0/{value['filename']}"),
            }
            resolved.setdefault("attachments", {})[att_id] = att
            return att_id
        raise FakeInvocationError(f"{label}: unsupported option type {otype}")

    def _build_leaf(
        self,
        schema: list[dict[str, Any]],
        given: dict[str, Any],
        guild: FakeGuild | None,
        member: FakeMember | None,
        resolved: dict[str, dict[str, Any]],
        where: str,
        focused: str | None,
    ) -> list[dict[str, Any]]:
        names = [o["name"] for o in schema]
        for key in given:
            if key not in names:
                raise FakeInvocationError(f"{where} has no option {key!r}; options: {names}")
        if focused is not None and focused not in given:
            raise FakeInvocationError(f"focused option {focused!r} must be given a (partial) value")
        result = []
        for opt in schema:
            name = opt["name"]
            if name not in given:
                if opt.get("required") and focused is None:
                    raise FakeInvocationError(f"{where}: required option {name!r} is missing")
                continue
            value = given[name]
            if name == focused:
                if not opt.get("autocomplete"):
                    raise FakeInvocationError(f"{where} option {name!r} has no autocomplete")
                result.append({"type": opt["type"], "name": name, "value": value, "focused": True})
                continue
            if focused is not None and opt["type"] in (3, 4, 10) and opt.get("autocomplete"):
                result.append({"type": opt["type"], "name": name, "value": value})
                continue
            built = self._build_value(opt, value, guild, member, resolved, where)
            result.append({"type": opt["type"], "name": name, "value": built})
        return result

    def _build_command_data(
        self,
        name: str,
        options: dict[str, Any],
        guild: FakeGuild | None,
        member: FakeMember | None,
        focused: str | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        parts = name.split()
        if not parts:
            raise FakeInvocationError("empty command name")
        cmd, guild_registered = self._find_command(parts[0], guild)
        schema = cmd.get("options") or []
        resolved: dict[str, dict[str, Any]] = {}
        path = parts[1:]
        has_subs = any(o["type"] in (1, 2) for o in schema)
        if has_subs and not path:
            subs = [o["name"] for o in schema]
            raise FakeInvocationError(f"/{parts[0]} has subcommands {subs}; invoke e.g. '{parts[0]} {subs[0]}'")
        wrappers: list[dict[str, Any]] = []
        where = f"/{parts[0]}"
        for part in path:
            sub = next((o for o in schema if o["name"] == part and o["type"] in (1, 2)), None)
            if sub is None:
                raise FakeInvocationError(f"{where} has no subcommand or group {part!r}")
            where = f"{where} {part}"
            wrappers.append({"type": sub["type"], "name": part, "options": []})
            schema = sub.get("options") or []
            if sub["type"] == 1:
                if part != path[-1] or len(wrappers) != len(path):
                    raise FakeInvocationError(f"{where} is a subcommand; nothing can follow it")
                break
        if wrappers and wrappers[-1]["type"] == 2:
            raise FakeInvocationError(f"{where} is a group; name one of its subcommands")
        leaf = self._build_leaf(schema, options, guild, member, resolved, where, focused)
        if wrappers:
            wrappers[-1]["options"] = leaf
            for outer, inner in zip(reversed(wrappers[:-1]), reversed(wrappers[1:]), strict=True):
                outer["options"] = [inner]
            top_options = [wrappers[0]]
        else:
            top_options = leaf
        data: dict[str, Any] = {"id": cmd["id"], "name": cmd["name"], "type": cmd["type"], "options": top_options}
        if resolved:
            data["resolved"] = resolved
        if guild_registered and guild is not None:
            data["guild_id"] = str(guild.id)
        return data, cmd

    def _check_command_allowed(
        self,
        cmd: dict[str, Any],
        guild: FakeGuild | None,
        member: FakeMember | None,
        channel: FakeChannel,
        enforce: bool,
    ) -> None:
        contexts = cmd.get("contexts")
        if guild is None:
            if not cmd.get("dm_permission", True) or (contexts is not None and 1 not in contexts):
                raise FakeInvocationError(f"/{cmd['name']} is not available in DMs (guild-only command)")
            return
        if contexts is not None and 0 not in contexts:
            raise FakeInvocationError(f"/{cmd['name']} is not available in guilds (contexts={contexts})")
        required = cmd.get("default_member_permissions")
        if enforce and required is not None and member is not None:
            needed = int(required)
            have = compute_permissions(guild, member, channel, self.bot_user_id)
            if not have & P.ADMINISTRATOR and (needed == 0 or have & needed != needed):
                raise FakePermissionError(
                    f"{member.user.name} lacks default_member_permissions {needed} for /{cmd['name']} (has {have})"
                )

    def _interaction_payload(
        self,
        itype: int,
        data: dict[str, Any],
        user: FakeUser,
        guild: FakeGuild | None,
        channel: FakeChannel,
        member: FakeMember | None,
        locale: str,
        message: FakeMessage | None = None,
    ) -> tuple[int, str, dict[str, Any]]:
        iid = self._ids.next()
        token = "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48)
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "channel_id": str(channel.id),
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild is not None and member is not None:
            member_perms = compute_permissions(guild, member, channel, self.bot_user_id)
            chan_json = channel.to_json(self)
            chan_json["permissions"] = str(member_perms)
            payload.update(
                {
                    "guild_id": str(guild.id),
                    "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
                    "guild_locale": "en-US",
                    "channel": chan_json,
                    "member": member.to_json(permissions=member_perms),
                    "app_permissions": str(self.bot_permissions_in(channel)),
                    "authorizing_integration_owners": {"0": str(guild.id)},
                    "context": 0,
                }
            )
        else:
            chan_json = channel.to_json(self)
            payload.update(
                {
                    "channel": chan_json,
                    "user": user.to_json(),
                    "app_permissions": str(self.bot_permissions_in(channel)),
                    "authorizing_integration_owners": {"0": "0"},
                    "context": 1,
                }
            )
        if message is not None:
            payload["message"] = message.to_json(self)
        return iid, token, payload

    async def _deliver(self, inter: FakeInteraction) -> FakeInteraction:
        await self.flush_events()  # e.g. CHANNEL_CREATE of a channel added just before must arrive first
        self.interactions[inter.id] = inter
        self._interactions_by_token[inter.token] = inter
        sent = await self.dispatch("INTERACTION_CREATE", inter.payload, guild_id=inter.guild_id)
        if sent == 0:
            del self.interactions[inter.id]
            del self._interactions_by_token[inter.token]
            raise RuntimeError(f"no gateway session for shard {self.shard_for(inter.guild_id)}: is the bot connected?")
        self._notify()
        return inter

    async def invoke(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: FakeUser | int | None = None,
        guild: FakeGuild | int | None = None,
        channel: FakeChannel | int | None = None,
        enforce_default_permissions: bool = True,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Send an application command interaction (``"cmd"``, ``"group sub"`` or ``"group subgroup sub"``)."""
        user_obj, guild_obj, chan, member = self._resolve_context(user, guild, channel)
        cmd, _ = self._find_command((name.split() or [""])[0], guild_obj)
        self._check_command_allowed(cmd, guild_obj, member, chan, enforce_default_permissions)
        data, cmd = self._build_command_data(name, options or {}, guild_obj, member)
        iid, token, payload = self._interaction_payload(2, data, user_obj, guild_obj, chan, member, locale)
        inter = FakeInteraction(
            self, iid, token, 2, payload, user_obj.id, guild_obj.id if guild_obj else None, chan.id, name=name
        )
        return await self._deliver(inter)

    async def autocomplete(
        self,
        name: str,
        options: dict[str, Any],
        *,
        focused: str,
        user: FakeUser | int | None = None,
        guild: FakeGuild | int | None = None,
        channel: FakeChannel | int | None = None,
        timeout: float = 5.0,
        locale: str = "en-US",
    ) -> list[dict[str, Any]]:
        """Send an autocomplete interaction (type 4) and return the choices the bot answered with."""
        user_obj, guild_obj, chan, member = self._resolve_context(user, guild, channel)
        cmd, _ = self._find_command((name.split() or [""])[0], guild_obj)
        self._check_command_allowed(cmd, guild_obj, member, chan, True)
        data, cmd = self._build_command_data(name, options, guild_obj, member, focused=focused)
        iid, token, payload = self._interaction_payload(4, data, user_obj, guild_obj, chan, member, locale)
        inter = FakeInteraction(
            self, iid, token, 4, payload, user_obj.id, guild_obj.id if guild_obj else None, chan.id, name=name
        )
        self.last_autocomplete = inter
        await self._deliver(inter)
        await self.wait_for(
            lambda: inter.choices is not None or inter.error is not None,
            timeout,
            f"no autocomplete answer for /{name} {focused!r} within {timeout}s",
        )
        if inter.choices is None:
            assert inter.error is not None
            raise FakeHTTPError(
                inter.error[0], inter.error[1], f"the bot's autocomplete answer was refused: {inter.attempts}"
            )
        return inter.choices

    async def click(
        self,
        message: FakeMessage | int,
        custom_id: str,
        *,
        user: FakeUser | int | None = None,
        values: list[str] | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Click a button / choose select values on a message the bot sent (component interaction, type 3)."""
        msg = message if isinstance(message, FakeMessage) else self._messages.get(int(message))
        if msg is None or msg.deleted:
            raise FakeInvocationError(f"message {message!r} does not exist (or was deleted)")
        msg = self._messages[msg.id]
        comp = msg.find_component(custom_id)
        if comp is None:
            ids: list[str] = []
            from .validate import _collect_custom_ids

            _collect_custom_ids(msg.components, ids)
            raise FakeInvocationError(f"message {msg.id} has no component {custom_id!r}; it has {ids}")
        if comp.get("disabled"):
            raise FakeInvocationError(f"component {custom_id!r} is disabled")
        ctype = comp["type"]
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": ctype}
        if ctype in (3, 5, 6, 7, 8):
            values = list(values or [])
            lo, hi = comp.get("min_values", 1), comp.get("max_values", 1)
            if not lo <= len(values) <= hi:
                raise FakeInvocationError(f"select {custom_id!r} takes {lo}..{hi} values, got {values}")
            if ctype == 3:
                allowed = [o["value"] for o in comp.get("options", [])]
                bad = [v for v in values if v not in allowed]
                if bad:
                    raise FakeInvocationError(f"select {custom_id!r} has no option(s) {bad}; options: {allowed}")
            data["values"] = values
        elif values:
            raise FakeInvocationError("values= is only for select menus")
        if user is None and msg.interaction_id is not None and msg.interaction_id in self.interactions:
            user = self.interactions[msg.interaction_id].user_id
        chan = self.channels[msg.channel_id]
        guild_obj = self.guilds.get(msg.guild_id) if msg.guild_id is not None else None
        if msg.ephemeral and user is not None and msg.interaction_id in self.interactions:
            owner = self.interactions[msg.interaction_id].user_id
            uid = user.id if isinstance(user, FakeUser) else int(user)
            if uid != owner:
                raise FakeInvocationError("only the user who received an ephemeral message can click it")
        user_obj, guild_obj, chan, member = self._resolve_context(user, guild_obj, chan)
        iid, token, payload = self._interaction_payload(3, data, user_obj, guild_obj, chan, member, locale, message=msg)
        inter = FakeInteraction(
            self,
            iid,
            token,
            3,
            payload,
            user_obj.id,
            guild_obj.id if guild_obj else None,
            chan.id,
            name=custom_id,
            source_message_id=msg.id,
        )
        return await self._deliver(inter)

    async def submit_modal(
        self, interaction: FakeInteraction, values: dict[str, Any], *, locale: str = "en-US"
    ) -> FakeInteraction:
        """Submit the modal the bot opened in ``interaction`` (type 9 response) with ``{custom_id: value}``."""
        modal = interaction.modal
        if modal is None:
            raise FakeInvocationError("that interaction did not open a modal")

        def fill(comp: dict[str, Any]) -> dict[str, Any]:
            cid = comp.get("custom_id")
            out: dict[str, Any] = {"type": comp["type"]}
            if "id" in comp:
                out["id"] = comp["id"]
            if comp["type"] == 4:
                out.update({"custom_id": cid, "value": values.get(cid, comp.get("value") or "")})
            elif comp["type"] in (3, 5, 6, 7, 8):
                out.update({"custom_id": cid, "values": list(values.get(cid, []))})
            if isinstance(comp.get("components"), list):
                out["components"] = [fill(c) for c in comp["components"]]
            if isinstance(comp.get("component"), dict):
                out["component"] = fill(comp["component"])
            return out

        data = {"custom_id": modal["custom_id"], "components": [fill(c) for c in modal["components"]]}
        chan = self.channels[interaction.channel_id]
        guild_obj = self.guilds.get(interaction.guild_id) if interaction.guild_id else None
        user_obj, guild_obj, chan, member = self._resolve_context(interaction.user_id, guild_obj, chan)
        source = self._messages.get(interaction.source_message_id or 0)
        iid, token, payload = self._interaction_payload(
            5, data, user_obj, guild_obj, chan, member, locale, message=source
        )
        inter = FakeInteraction(
            self,
            iid,
            token,
            5,
            payload,
            user_obj.id,
            guild_obj.id if guild_obj else None,
            chan.id,
            name=modal["custom_id"],
            source_message_id=interaction.source_message_id,
        )
        return await self._deliver(inter)

    def _interaction_metadata(self, inter: FakeInteraction) -> dict[str, Any]:
        user = self.users[inter.user_id]
        meta: dict[str, Any] = {
            "id": str(inter.id),
            "type": inter.type,
            "user": user.to_json(),
            "authorizing_integration_owners": inter.payload.get("authorizing_integration_owners", {}),
        }
        if inter.type == 2:
            meta["name"] = inter.data.get("name")
            meta["command_type"] = 1
        if inter.type == 3 and inter.source_message_id is not None:
            meta["interacted_message_id"] = str(inter.source_message_id)
        return meta

    def _interaction_message(self, inter: FakeInteraction, data: dict[str, Any], files, flags: int) -> FakeMessage:
        chan = self.channels[inter.channel_id]
        return self._new_message(
            chan,
            author_id=self.bot_user_id,
            content=data.get("content") or "",
            embeds=copy.deepcopy(data.get("embeds") or []),
            components=copy.deepcopy(data.get("components") or []),
            flags=flags,
            allowed_mentions=data.get("allowed_mentions"),
            attachments=self._apply_files(data, files, self._ids),
            tts=bool(data.get("tts")),
            type=20 if inter.type == 2 else 0,
            interaction_id=inter.id,
            webhook_id=self.application_id,
            application_id=self.application_id,
            interaction_metadata=self._interaction_metadata(inter),
            raw=copy.deepcopy(data),
        )

    def _callback_json(self, inter: FakeInteraction, rtype: int, msg: FakeMessage | None) -> dict[str, Any]:
        original = inter.original
        result: dict[str, Any] = {
            "interaction": {
                "id": str(inter.id),
                "type": inter.type,
                "activity_instance_id": None,
                "response_message_id": str(original.id) if original is not None and rtype in (4, 5, 7) else None,
                "response_message_loading": rtype == 5,
                "response_message_ephemeral": bool(original is not None and original.ephemeral and rtype in (4, 5)),
            },
            "resource": {"type": rtype},
        }
        if msg is not None:
            result["resource"]["message"] = msg.to_json(self)
        return result

    async def _h_callback(self, ctx: _Ctx) -> Any:
        inter = self.interactions.get(int(ctx.params["interaction_id"]))
        if inter is None or not hmac.compare_digest(inter.token, ctx.params["token"]):
            raise E.unknown_interaction()
        body = ctx.json
        try:
            result = await self._callback(inter, body, ctx.files)
        except FakeHTTPError as exc:
            inter.attempts.append((exc.status, exc.code, body))
            inter.error = (exc.status, exc.code)
            inter._notify()
            raise
        inter.attempts.append((200, 0, body))
        inter.responses.append(body)
        inter._notify()
        return result

    async def _callback(self, inter: FakeInteraction, body: Any, files: list[dict[str, Any]]) -> Any:
        if not isinstance(body, dict) or not isinstance(body.get("type"), int):
            raise invalid_form_body({"type": E.field_error("BASE_TYPE_REQUIRED", "This field is required")})
        if inter.expired:
            raise E.unknown_interaction()
        if inter.acknowledged:
            raise E.already_acknowledged()
        rtype = body["type"]
        data = body.get("data") or {}
        allowed = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}[inter.type]
        if rtype not in allowed:
            raise invalid_form_body(
                {"type": E.field_error("INTERACTION_RESPONSE_TYPE_INVALID", f"Response type {rtype} is not valid here")}
            )
        msg: FakeMessage | None = None
        if rtype == 4:
            validate_message(data, has_attachments=bool(files), allowed_flags=INTERACTION_SETTABLE_FLAGS)
            msg = self._interaction_message(inter, data, files, data.get("flags") or 0)
            inter.original_id = msg.id
        elif rtype == 5:
            flags = FLAG_LOADING | ((data.get("flags") or 0) & FLAG_EPHEMERAL)
            msg = self._interaction_message(inter, {}, [], flags)
            inter.original_id = msg.id
            inter.deferred_pending = True
        elif rtype in (6, 7):
            source = self._messages.get(inter.source_message_id or 0)
            if source is None or source.deleted:
                raise E.unknown_message()
            if rtype == 7:
                validate_message(
                    data, edit=True, has_attachments=bool(files), existing=source.snapshot(), allowed_flags=P.ALL
                )
                self._apply_edit(source, data, files)
                msg = source
                await self._dispatch_message("MESSAGE_UPDATE", source)
            else:
                inter.deferred_pending = True
            inter.original_id = source.id
        elif rtype == 8:
            inter.choices = validate_autocomplete_choices(data)
        elif rtype == 9:
            inter.modal = validate_modal(data)
        inter.response_type = rtype
        if rtype in (4, 5) and msg is not None:
            await self._dispatch_message("MESSAGE_CREATE", msg)
        return self._callback_json(inter, rtype, msg)

    # ---------------------------------------------------------------------------- webhooks

    def _webhook_interaction(self, ctx: _Ctx) -> FakeInteraction:
        if int(ctx.params["webhook_id"]) != self.application_id:
            raise E.unknown_webhook()
        inter = self._interactions_by_token.get(ctx.params["token"])
        if inter is None:
            raise E.unknown_webhook()
        if inter.token_expired:
            raise E.invalid_webhook_token()
        return inter

    async def _with_interaction_errors(self, inter: FakeInteraction, coro: Awaitable[Any]) -> Any:
        try:
            return await coro
        except FakeHTTPError as exc:
            inter.attempts.append((exc.status, exc.code, {}))
            inter.error = (exc.status, exc.code)
            inter._notify()
            raise
        finally:
            inter._notify()

    def _webhook_target(self, inter: FakeInteraction, message_id: str) -> FakeMessage:
        if message_id == "@original":
            if inter.original_id is None:
                raise E.unknown_message()
            mid = inter.original_id
        else:
            mid = int(message_id)
            if mid != inter.original_id and mid not in inter.followup_ids:
                raise E.unknown_message()
        msg = self._messages.get(mid)
        if msg is None or msg.deleted:
            raise E.unknown_message()
        return msg

    async def _h_webhook_execute(self, ctx: _Ctx) -> Any:
        inter = self._webhook_interaction(ctx)
        return await self._with_interaction_errors(inter, self._webhook_execute(inter, ctx))

    async def _webhook_execute(self, inter: FakeInteraction, ctx: _Ctx) -> Any:
        if not inter.acknowledged or inter.response_type == 8:
            raise E.unknown_webhook()
        payload = validate_message(ctx.json, has_attachments=bool(ctx.files), allowed_flags=INTERACTION_SETTABLE_FLAGS)
        original = inter.original
        if inter.response_type == 5 and inter.deferred_pending and original is not None and original.loading:
            keep = original.flags & FLAG_EPHEMERAL
            self._apply_edit(original, payload, ctx.files)
            original.flags = (original.flags & ~FLAG_EPHEMERAL) | keep
            inter.deferred_pending = False
            await self._dispatch_message("MESSAGE_UPDATE", original)
            msg = original
        else:
            msg = self._interaction_message(inter, payload, ctx.files, payload.get("flags") or 0)
            inter.followup_ids.append(msg.id)
            inter.deferred_pending = False
            await self._dispatch_message("MESSAGE_CREATE", msg)
        if not _flag(ctx.query.get("wait", "0")):
            return NO_CONTENT
        return msg.to_json(self)

    async def _h_webhook_get(self, ctx: _Ctx) -> Any:
        inter = self._webhook_interaction(ctx)
        return self._webhook_target(inter, ctx.params["message_id"]).to_json(self)

    async def _h_webhook_edit(self, ctx: _Ctx) -> Any:
        inter = self._webhook_interaction(ctx)

        async def edit() -> Any:
            msg = self._webhook_target(inter, ctx.params["message_id"])
            payload = validate_message(
                ctx.json, edit=True, has_attachments=bool(ctx.files), existing=msg.snapshot(), allowed_flags=P.ALL
            )
            self._apply_edit(msg, payload, ctx.files)
            if msg.id == inter.original_id:
                inter.deferred_pending = False
            await self._dispatch_message("MESSAGE_UPDATE", msg)
            return msg.to_json(self)

        return await self._with_interaction_errors(inter, edit())

    async def _h_webhook_delete(self, ctx: _Ctx) -> Any:
        inter = self._webhook_interaction(ctx)
        msg = self._webhook_target(inter, ctx.params["message_id"])
        msg.deleted = True
        if msg.id == inter.original_id:
            inter.deferred_pending = False
        inter._notify()
        await self._dispatch_message("MESSAGE_DELETE", msg)
        return NO_CONTENT


def iter_options(options: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    """Flatten an interaction's ``data.options`` tree (handy in assertions)."""
    for opt in options:
        yield opt
        yield from iter_options(opt.get("options") or [])
