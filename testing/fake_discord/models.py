# ruff: noqa: ASYNC109 - the public API takes timeout= arguments on purpose
"""The fake's world: users, guilds, roles, channels, messages, interactions, and their Discord JSON shapes."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from .snowflake import iso, snowflake_time
from .validate import FLAG_EPHEMERAL, FLAG_LOADING

if TYPE_CHECKING:
    from .state import DiscordState


class P:
    """Permission bits (the subset the fake cares about; any int is accepted)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    CHANGE_NICKNAME = 1 << 26
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38
    ALL = (1 << 53) - 1


EVERYONE_DEFAULT = (
    P.CREATE_INSTANT_INVITE
    | P.ADD_REACTIONS
    | P.VIEW_CHANNEL
    | P.SEND_MESSAGES
    | P.EMBED_LINKS
    | P.ATTACH_FILES
    | P.READ_MESSAGE_HISTORY
    | P.MENTION_EVERYONE
    | P.USE_EXTERNAL_EMOJIS
    | P.CONNECT
    | P.SPEAK
    | P.CHANGE_NICKNAME
    | P.USE_APPLICATION_COMMANDS
    | P.CREATE_PUBLIC_THREADS
    | P.CREATE_PRIVATE_THREADS
    | P.SEND_MESSAGES_IN_THREADS
)

BOT_DEFAULT = (
    P.VIEW_CHANNEL
    | P.SEND_MESSAGES
    | P.EMBED_LINKS
    | P.ATTACH_FILES
    | P.READ_MESSAGE_HISTORY
    | P.ADD_REACTIONS
    | P.USE_EXTERNAL_EMOJIS
    | P.CREATE_PUBLIC_THREADS
    | P.SEND_MESSAGES_IN_THREADS
    | P.MANAGE_THREADS
)

# channel types
GUILD_TEXT = 0
DM = 1
GUILD_NEWS = 5
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
THREAD_TYPES = (10, PUBLIC_THREAD, PRIVATE_THREAD)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass(eq=False)
class FakeUser:
    id: int
    name: str
    bot: bool = False
    dms_closed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.name,
            "discriminator": "0",
            "global_name": None if self.bot else self.name,
            "avatar": None,
            "bot": self.bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "primary_guild": None,
            "collectibles": None,
        }

    def __repr__(self) -> str:
        return f"<FakeUser id={self.id} name={self.name!r}{' bot' if self.bot else ''}>"


@dataclass(eq=False)
class FakeRole:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    bot_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass(eq=False)
class FakeMember:
    user: FakeUser
    guild_id: int
    role_ids: list[int] = field(default_factory=list)
    joined_at: datetime.datetime = field(default_factory=_now)

    @property
    def id(self) -> int:
        return self.user.id

    def to_json(self, *, with_user: bool = True, permissions: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "nick": None,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in self.role_ids],
            "joined_at": iso(self.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.to_json()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass(eq=False)
class FakeChannel:
    """A guild text channel, a thread (``type`` 11/12, ``parent_id``, ``message_id``) or a DM (``type`` 1)."""

    id: int
    name: str
    guild_id: int | None
    type: int = GUILD_TEXT
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    bot_can_send: bool = True
    bot_can_view: bool = True
    bot_can_embed: bool = True
    overwrites: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    recipient_id: int | None = None  # DMs
    owner_id: int | None = None  # threads
    message_id: int | None = None  # threads started from a message
    auto_archive_duration: int = 1440
    created_at: datetime.datetime = field(default_factory=_now)
    last_message_id: int | None = None
    message_count: int = 0

    def __repr__(self) -> str:
        return f"<FakeChannel id={self.id} name={self.name!r} type={self.type} guild_id={self.guild_id}>"

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    def bot_overwrite(self, bot_user_id: int) -> dict[str, Any] | None:
        allow = deny = 0
        for flag, bits in (
            (self.bot_can_view, P.VIEW_CHANNEL),
            (self.bot_can_send, P.SEND_MESSAGES | P.SEND_MESSAGES_IN_THREADS),
            (self.bot_can_embed, P.EMBED_LINKS),
        ):
            if flag:
                allow |= bits
            else:
                deny |= bits
        if deny == 0:
            return None
        return {"id": str(bot_user_id), "type": 1, "allow": str(allow), "deny": str(deny)}

    def all_overwrites(self, bot_user_id: int) -> list[dict[str, Any]]:
        result = [dict(o) for o in self.overwrites]
        bot = self.bot_overwrite(bot_user_id)
        if bot is not None:
            result.append(bot)
        return result

    def to_json(self, fake: DiscordState) -> dict[str, Any]:
        if self.type == DM:
            recipient = fake.users.get(self.recipient_id) if self.recipient_id else None
            return {
                "id": str(self.id),
                "type": DM,
                "last_message_id": str(self.last_message_id) if self.last_message_id else None,
                "flags": 0,
                "recipients": [recipient.to_json()] if recipient else [],
            }
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "last_message_id": str(self.last_message_id) if self.last_message_id else None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }
        if self.is_thread:
            data.update(
                {
                    "owner_id": str(self.owner_id or fake.bot_user_id),
                    "message_count": self.message_count,
                    "member_count": 1,
                    "total_message_sent": self.message_count,
                    "thread_metadata": {
                        "archived": False,
                        "auto_archive_duration": self.auto_archive_duration,
                        "archive_timestamp": iso(self.created_at),
                        "locked": False,
                        "invitable": self.type == PRIVATE_THREAD,
                        "create_timestamp": iso(self.created_at),
                    },
                    "member": {
                        "id": str(self.id),
                        "user_id": str(fake.bot_user_id),
                        "join_timestamp": iso(self.created_at),
                        "flags": 0,
                    },
                }
            )
        else:
            data.update(
                {
                    "position": self.position,
                    "permission_overwrites": self.all_overwrites(fake.bot_user_id),
                    "topic": self.topic,
                    "nsfw": False,
                    "default_auto_archive_duration": 1440,
                    "default_thread_rate_limit_per_user": 0,
                }
            )
        return data


@dataclass(eq=False)
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    _channels: dict[int, FakeChannel] = field(default_factory=dict)
    _members: dict[int, FakeMember] = field(default_factory=dict)
    joined_at: datetime.datetime = field(default_factory=_now)
    deleted: bool = False

    def __repr__(self) -> str:
        return f"<FakeGuild id={self.id} name={self.name!r}{' deleted' if self.deleted else ''}>"

    @property
    def channels(self) -> list[FakeChannel]:
        """Live (not deleted) non-thread channels."""
        return [c for c in self._channels.values() if not c.deleted and not c.is_thread]

    @property
    def threads(self) -> list[FakeChannel]:
        return [c for c in self._channels.values() if not c.deleted and c.is_thread]

    @property
    def members(self) -> list[FakeUser]:
        return [m.user for m in self._members.values()]

    def member(self, user_id: int) -> FakeMember | None:
        return self._members.get(user_id)

    @property
    def everyone(self) -> FakeRole:
        return self.roles[self.id]


def compute_base_permissions(guild: FakeGuild, member: FakeMember) -> int:
    if member.id == guild.owner_id:
        return P.ALL
    perms = guild.everyone.permissions
    for role_id in member.role_ids:
        role = guild.roles.get(role_id)
        if role is not None:
            perms |= role.permissions
    if perms & P.ADMINISTRATOR:
        return P.ALL
    return perms


def compute_permissions(guild: FakeGuild, member: FakeMember, channel: FakeChannel | None, bot_user_id: int) -> int:
    """Discord's permission algorithm: base role permissions, then @everyone/role/member overwrites."""
    base = compute_base_permissions(guild, member)
    if base == P.ALL or channel is None:
        return base
    if channel.is_thread and channel.parent_id is not None:
        parent = guild._channels.get(channel.parent_id)
        if parent is not None:
            channel = parent
    overwrites = channel.all_overwrites(bot_user_id)
    perms = base
    for ow in overwrites:
        if int(ow["id"]) == guild.id:
            perms &= ~int(ow["deny"])
            perms |= int(ow["allow"])
    allow = deny = 0
    for ow in overwrites:
        if ow["type"] == 0 and int(ow["id"]) in member.role_ids:
            allow |= int(ow["allow"])
            deny |= int(ow["deny"])
    perms = (perms & ~deny) | allow
    for ow in overwrites:
        if ow["type"] == 1 and int(ow["id"]) == member.id:
            perms = (perms & ~int(ow["deny"])) | int(ow["allow"])
    if not perms & P.VIEW_CHANNEL:
        return 0
    if not perms & P.SEND_MESSAGES:
        perms &= ~(P.SEND_TTS_MESSAGES | P.MENTION_EVERYONE | P.EMBED_LINKS | P.ATTACH_FILES)
    return perms


@dataclass(eq=False)
class FakeMessage:
    """A message the bot sent (channel post, DM, interaction response or follow-up). Mutated in place on edits."""

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0
    nonce: str | int | None = None
    allowed_mentions: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    tts: bool = False
    type: int = 0
    thread_id: int | None = None
    interaction_id: int | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    edited_at: datetime.datetime | None = None
    deleted: bool = False
    embeds_dropped: bool = False  # embeds sent without EMBED_LINKS (Discord drops them)
    revisions: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def created_at(self) -> datetime.datetime:
        return snowflake_time(self.id)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & FLAG_LOADING)

    def snapshot(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "embeds": copy.deepcopy(self.embeds),
            "components": copy.deepcopy(self.components),
            "flags": self.flags,
        }

    def find_component(self, custom_id: str) -> dict[str, Any] | None:
        stack: list[Any] = list(self.components)
        while stack:
            comp = stack.pop()
            if not isinstance(comp, dict):
                continue
            if comp.get("custom_id") == custom_id:
                return comp
            stack.extend(comp.get("components") or [])
            if isinstance(comp.get("accessory"), dict):
                stack.append(comp["accessory"])
        return None

    def to_json(self, fake: DiscordState) -> dict[str, Any]:
        author = fake.users.get(self.author_id)
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "channel_id": str(self.channel_id),
            "author": author.to_json() if author else {"id": str(self.author_id), "username": "?"},
            "content": self.content,
            "timestamp": iso(self.created_at),
            "edited_timestamp": iso(self.edited_at),
            "tts": self.tts,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": copy.deepcopy(self.attachments),
            "embeds": copy.deepcopy(self.embeds),
            "components": copy.deepcopy(self.components),
            "pinned": False,
            "flags": self.flags,
            "reactions": [],
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.nonce is not None:
            data["nonce"] = self.nonce
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        if self.application_id is not None:
            data["application_id"] = str(self.application_id)
        if self.interaction_metadata is not None:
            data["interaction_metadata"] = copy.deepcopy(self.interaction_metadata)
        if self.thread_id is not None:
            thread = fake.channels.get(self.thread_id)
            if thread is not None and not thread.deleted:
                data["thread"] = thread.to_json(fake)
        return data

    def __repr__(self) -> str:
        return (
            f"<FakeMessage id={self.id} channel_id={self.channel_id} content={self.content[:40]!r} "
            f"embeds={len(self.embeds)} flags={self.flags}{' deleted' if self.deleted else ''}>"
        )


class RecordedRequest(NamedTuple):
    method: str
    path: str
    status: int
    json: Any
    time: float


@dataclass(eq=False)
class Fault:
    """A queued failure for requests matching ``method`` and ``path_regex`` (fullmatch on the API path)."""

    method: str | None
    path_regex: str
    status: int | None = 500
    count: int = 1
    code: int | None = None
    message: str | None = None
    reset: bool = False
    delay: float | None = None
    after_processing: bool = False
    retry_after: float = 0.1
    hits: int = 0

    @property
    def remaining(self) -> int:
        return self.count - self.hits


RESPONSE_NAMES = {
    1: "PONG",
    4: "CHANNEL_MESSAGE_WITH_SOURCE",
    5: "DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE",
    6: "DEFERRED_UPDATE_MESSAGE",
    7: "UPDATE_MESSAGE",
    8: "APPLICATION_COMMAND_AUTOCOMPLETE_RESULT",
    9: "MODAL",
}


@dataclass(eq=False)
class FakeInteraction:
    """One interaction the fake sent to the bot, and everything the bot answered."""

    fake: DiscordState
    id: int
    token: str
    type: int  # 2 command, 3 component, 4 autocomplete, 5 modal submit
    payload: dict[str, Any]
    user_id: int
    guild_id: int | None
    channel_id: int
    name: str | None = None
    source_message_id: int | None = None  # the clicked message for component interactions
    created: float = field(default_factory=time.monotonic)
    responses: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)  # (status, code, body)
    error: tuple[int, int] | None = None
    response_type: int | None = None
    original_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    deferred_pending: bool = False  # deferred (5/6) and not yet edited / followed up
    choices: list[dict[str, Any]] | None = None
    modal: dict[str, Any] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.payload.get("data", {})
        return data

    @property
    def acknowledged(self) -> bool:
        return self.response_type is not None

    @property
    def done(self) -> bool:
        """Initial response given and, if deferred, completed by an edit or follow-up; or the bot was refused."""
        return (self.acknowledged and not self.deferred_pending) or (self.error is not None and not self.acknowledged)

    @property
    def expired(self) -> bool:
        """The initial-response window (``FakeDiscord.interaction_window``) has passed."""
        return time.monotonic() - self.created > self.fake.interaction_window

    @property
    def token_expired(self) -> bool:
        """The interaction token (follow-ups, edits) is no longer valid (``FakeDiscord.token_ttl``)."""
        return time.monotonic() - self.created > self.fake.token_ttl

    @property
    def original(self) -> FakeMessage | None:
        if self.original_id is None:
            return None
        msg = self.fake.message_by_id(self.original_id)
        if msg is None or msg.deleted:
            return None
        return msg

    @property
    def followups(self) -> list[FakeMessage]:
        result = []
        for mid in self.followup_ids:
            msg = self.fake.message_by_id(mid)
            if msg is not None and not msg.deleted:
                result.append(msg)
        return result

    @property
    def visible(self) -> list[FakeMessage]:
        """What the user sees: the original response (if any, after edits) and the follow-ups."""
        original = self.original
        return ([original] if original is not None else []) + self.followups

    @property
    def ephemeral(self) -> bool:
        original = self.original
        return bool(original is not None and original.ephemeral)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_done(self, timeout: float = 5.0) -> FakeInteraction:
        """Wait until :attr:`done`; raise AssertionError with the interaction's state on timeout."""
        deadline = time.monotonic() + timeout
        while not self.done:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"interaction {self.name or self.type} not done after {timeout}s: response_type="
                    f"{self.response_type} deferred_pending={self.deferred_pending} error={self.error} "
                    f"responses={self.responses}"
                )
            waiter = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), timeout=min(remaining, 0.05))
        return self

    def __repr__(self) -> str:
        return (
            f"<FakeInteraction id={self.id} type={self.type} name={self.name!r} response_type={self.response_type} "
            f"error={self.error}>"
        )
