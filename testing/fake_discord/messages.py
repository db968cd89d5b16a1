"""The messages the bot created: queries for tests, and the creation and editing every route shares."""

from __future__ import annotations

import copy
import datetime
import logging
from typing import Any

from .events import Events
from .models import FakeChannel, FakeInteraction, FakeMessage, FakeUser
from .snowflake import SnowflakeGenerator
from .validate import FLAG_LOADING, FLAG_SUPPRESS_EMBEDS

log = logging.getLogger("fake_discord")


class Messages(Events):
    """Message store: what tests read, what channel posts, callbacks and follow-ups write."""

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

    def attachment_data(self, attachment: dict[str, Any]) -> bytes:
        """The bytes the bot uploaded as ``attachment`` (one of a message's ``attachments``)."""
        return self._attachment_data[attachment["id"]]

    def attachment_bytes(self, message: FakeMessage, filename: str) -> bytes:
        """The uploaded content of ``message``'s attachment called ``filename`` (KeyError when absent)."""
        for attachment in message.attachments:
            if attachment["filename"] == filename:
                return self.attachment_data(attachment)
        raise KeyError(f"message {message.id} has no attachment {filename!r}")

    def _apply_files(
        self, payload: dict[str, Any], files: list[dict[str, Any]], ids: SnowflakeGenerator
    ) -> list[dict[str, Any]]:
        attachments: list[dict[str, Any]] = []
        kept: dict[str, bytes] = self.__dict__.setdefault("_attachment_data", {})
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
            kept[attachments[-1]["id"]] = f["data"]
        return attachments

    def _apply_edit(
        self, msg: FakeMessage, payload: dict[str, Any], files: list[dict[str, Any]], *, embeds_ok: bool = True
    ) -> None:
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

    def _interaction_message(
        self, inter: FakeInteraction, data: dict[str, Any], files: list[dict[str, Any]], flags: int
    ) -> FakeMessage:
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
