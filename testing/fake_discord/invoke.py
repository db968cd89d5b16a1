# ruff: noqa: ASYNC109 - the public API takes timeout= arguments on purpose
"""What a user does in Discord's client: run a command, type into an autocomplete, click, submit a modal."""

from __future__ import annotations

import secrets
from typing import Any

from .errors import FakeHTTPError, FakeInvocationError
from .messages import Messages
from .models import (
    GUILD_NEWS,
    GUILD_TEXT,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeMessage,
    FakeUser,
    compute_permissions,
)
from .options import CommandOptions
from .world import World


class Invocations(CommandOptions, World, Messages):
    """Interactions sent to the bot over the gateway; the answers arrive through ``routes/interactions.py``."""

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
            cid: Any = comp.get("custom_id")  # a JSON value: usually a string, None if the bot left it out
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
