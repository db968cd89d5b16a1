"""Application commands: global and per-guild registration, validated like Discord, and what a test reads back."""

from __future__ import annotations

import copy
from typing import Any

from .. import errors
from ..errors import FakeHTTPError
from ..http import NO_CONTENT, Ctx, HttpServer, Route, route
from ..models import FakeGuild
from ..validate import validate_command_list


class CommandRoutes(HttpServer):
    """``/applications/{app}[/guilds/{guild}]/commands[/{id}]``; ids are kept for commands that keep their name."""

    def _route_table(self) -> list[Route]:
        table = super()._route_table()
        for scope in ("/applications/{application_id}", "/applications/{application_id}/guilds/{guild_id}"):
            table += [
                route("GET", f"{scope}/commands", self._h_get_commands),
                route("PUT", f"{scope}/commands", self._h_put_commands),
                route("POST", f"{scope}/commands", self._h_post_command),
                route("GET", f"{scope}/commands/{{command_id}}", self._h_get_command),
                route("PATCH", f"{scope}/commands/{{command_id}}", self._h_patch_command),
                route("DELETE", f"{scope}/commands/{{command_id}}", self._h_delete_command),
            ]
        return table

    def commands(self, guild_id: FakeGuild | int | None = None) -> list[dict[str, Any]]:
        """Registered commands (global with ``guild_id`` None), as Discord returns them."""
        if guild_id is None:
            return copy.deepcopy(self._global_commands)
        gid = guild_id.id if isinstance(guild_id, FakeGuild) else int(guild_id)
        return copy.deepcopy(self._guild_commands.get(gid, []))

    def _command_scope(self, ctx: Ctx) -> tuple[int | None, list[dict[str, Any]]]:
        if int(ctx.params["application_id"]) != self.application_id:
            raise FakeHTTPError(403, 20012, "You are not authorized to perform this action on this application")
        if "guild_id" in ctx.params:
            guild = self.guilds.get(int(ctx.params["guild_id"]))
            if guild is None or guild.deleted:
                raise errors.missing_access()
            return guild.id, self._guild_commands.setdefault(guild.id, [])
        return None, self._global_commands

    def _command_json(
        self, norm: dict[str, Any], guild_id: int | None, existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        data = copy.deepcopy(norm)
        data["id"] = existing["id"] if existing else str(self._ids.next())
        data["application_id"] = str(self.application_id)
        data["version"] = str(self._ids.next())
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
        return data

    async def _h_get_commands(self, ctx: Ctx) -> Any:
        _, commands = self._command_scope(ctx)
        return copy.deepcopy(commands)

    async def _h_put_commands(self, ctx: Ctx) -> Any:
        guild_id, current = self._command_scope(ctx)
        self.sync_count += 1
        normalised = validate_command_list(ctx.json)
        by_key = {(c["type"], c["name"]): c for c in current}
        new = [self._command_json(n, guild_id, by_key.get((n["type"], n["name"]))) for n in normalised]
        current[:] = new
        return copy.deepcopy(new)

    async def _h_post_command(self, ctx: Ctx) -> Any:
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

    def _find_command_by_id(self, ctx: Ctx) -> tuple[int | None, list[dict[str, Any]], int]:
        guild_id, current = self._command_scope(ctx)
        for index, cmd in enumerate(current):
            if cmd["id"] == ctx.params["command_id"]:
                return guild_id, current, index
        raise FakeHTTPError(404, 10063, "Unknown application command")

    async def _h_get_command(self, ctx: Ctx) -> Any:
        _, current, index = self._find_command_by_id(ctx)
        return copy.deepcopy(current[index])

    async def _h_patch_command(self, ctx: Ctx) -> Any:
        guild_id, current, index = self._find_command_by_id(ctx)
        merged = {**current[index], **(ctx.json or {})}
        normalised = validate_command_list([merged])[0]
        current[index] = self._command_json(normalised, guild_id, current[index])
        return copy.deepcopy(current[index])

    async def _h_delete_command(self, ctx: Ctx) -> Any:
        _, current, index = self._find_command_by_id(ctx)
        del current[index]
        return NO_CONTENT
