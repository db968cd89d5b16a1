"""World building for tests: users, guilds, channels, members and permissions, each change sent as its event."""

from __future__ import annotations

from .events import Events
from .models import (
    DM,
    EVERYONE_DEFAULT,
    GUILD_NEWS,
    GUILD_TEXT,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
)


class World(Events):
    """Synchronous calls that change the world (their gateway events are queued) and the async removals."""

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
