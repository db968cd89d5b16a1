"""An interaction's ``data`` from the *registered* command schema, refusing what Discord's client would not send."""

from __future__ import annotations

from typing import Any

from .errors import FakeInvocationError, FakePermissionError
from .models import FakeChannel, FakeGuild, FakeMember, FakeRole, FakeUser, P, compute_permissions
from .state import DiscordState


class CommandOptions(DiscordState):
    """Command lookup, option values (with ``resolved``), subcommand paths and ``default_member_permissions``."""

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
            if guild is not None and m is not None:
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
