"""Guilds, users and the application: what discord.py asks about itself and its servers at start-up."""

from __future__ import annotations

from typing import Any

from .. import errors
from ..errors import FakeHTTPError, invalid_form_body
from ..http import AUTH_NONE, Ctx, HttpServer, Route, route
from ..models import FakeGuild
from ..world import World


class GuildRoutes(HttpServer, World):
    """``/gateway``, ``/users``, ``/applications/@me`` and the read-only ``/guilds/{id}`` routes."""

    def _route_table(self) -> list[Route]:
        return [
            *super()._route_table(),
            route("GET", "/gateway", self._h_gateway, AUTH_NONE),
            route("GET", "/gateway/bot", self._h_gateway_bot),
            route("GET", "/users/@me", self._h_me),
            route("POST", "/users/@me/channels", self._h_create_dm),
            route("GET", "/users/{user_id}", self._h_user),
            route("GET", "/oauth2/applications/@me", self._h_app),
            route("GET", "/applications/@me", self._h_app),
            route("GET", "/guilds/{guild_id}", self._h_get_guild),
            route("GET", "/guilds/{guild_id}/channels", self._h_guild_channels),
            route("GET", "/guilds/{guild_id}/roles", self._h_guild_roles),
            route("GET", "/guilds/{guild_id}/members/{user_id}", self._h_guild_member),
        ]

    async def _h_gateway(self, ctx: Ctx) -> Any:
        return {"url": self.gateway_url}

    async def _h_gateway_bot(self, ctx: Ctx) -> Any:
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

    async def _h_me(self, ctx: Ctx) -> Any:
        return self.bot_user_json()

    async def _h_user(self, ctx: Ctx) -> Any:
        user = self.users.get(int(ctx.params["user_id"]))
        if user is None:
            raise errors.unknown_user()
        return user.to_json()

    async def _h_app(self, ctx: Ctx) -> Any:
        return self.application_json()

    async def _h_create_dm(self, ctx: Ctx) -> Any:
        body = ctx.json if isinstance(ctx.json, dict) else {}
        try:
            user = self.users[int(body["recipient_id"])]
        except (TypeError, ValueError, KeyError):
            raise invalid_form_body(
                {"recipient_id": errors.field_error("BASE_TYPE_REQUIRED", "This field is required")}
            ) from None
        if user.id == self.bot_user_id:
            raise FakeHTTPError(400, 50007, "Cannot send messages to this user")
        return self.dm_channel(user).to_json(self)

    def _rest_guild(self, ctx: Ctx) -> FakeGuild:
        guild = self.guilds.get(int(ctx.params["guild_id"]))
        if guild is None:
            raise errors.unknown_guild()
        if guild.deleted:
            raise errors.missing_access()
        return guild

    async def _h_get_guild(self, ctx: Ctx) -> Any:
        guild = self._rest_guild(ctx)
        data = self.guild_json(guild)
        data["approximate_member_count"] = len(guild._members)
        return data

    async def _h_guild_channels(self, ctx: Ctx) -> Any:
        return [c.to_json(self) for c in self._rest_guild(ctx).channels]

    async def _h_guild_roles(self, ctx: Ctx) -> Any:
        return [r.to_json() for r in self._rest_guild(ctx).roles.values()]

    async def _h_guild_member(self, ctx: Ctx) -> Any:
        member = self._rest_guild(ctx).member(int(ctx.params["user_id"]))
        if member is None:
            raise FakeHTTPError(404, 10007, "Unknown Member")
        return member.to_json()
