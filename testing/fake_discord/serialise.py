"""JSON builders for what Discord sends about the bot, its application and its guilds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .gateway import INTENT_GUILD_MEMBERS
from .models import FakeGuild, FakeInteraction, FakeMessage
from .snowflake import iso
from .state import DiscordState

if TYPE_CHECKING:
    from .gateway import GatewaySession


class Serialisers(DiscordState):
    """Discord's JSON shapes for objects that need the whole world (the models serialise themselves)."""

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

    def _message_event_data(self, msg: FakeMessage) -> dict[str, Any]:
        data = msg.to_json(self)
        if msg.guild_id is not None:
            guild = self.guilds.get(msg.guild_id)
            member = guild.member(msg.author_id) if guild else None
            if member is not None:
                data["member"] = member.to_json(with_user=False)
        return data

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
