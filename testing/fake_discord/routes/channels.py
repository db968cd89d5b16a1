"""Channels, their messages and threads: the routes a bot posts through, with Discord's permission checks."""

from __future__ import annotations

import copy
import time
from typing import Any

from .. import errors
from ..errors import FakeHTTPError, invalid_form_body
from ..http import NO_CONTENT, Ctx, HttpServer, Route, route
from ..messages import Messages
from ..models import (
    DM,
    GUILD_NEWS,
    GUILD_TEXT,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    THREAD_TYPES,
    FakeChannel,
    FakeMessage,
    P,
)
from ..validate import USER_SETTABLE_FLAGS, validate_message, validate_thread_name


class ChannelRoutes(HttpServer, Messages):
    """``/channels/{id}`` with ``/messages[/{id}]``, ``/threads``, ``/typing``; nonces make posts idempotent."""

    def _route_table(self) -> list[Route]:
        return [
            *super()._route_table(),
            route("GET", "/channels/{channel_id}", self._h_get_channel),
            route("GET", "/channels/{channel_id}/messages", self._h_list_messages),
            route("POST", "/channels/{channel_id}/messages", self._h_create_message),
            route("GET", "/channels/{channel_id}/messages/{message_id}", self._h_get_message),
            route("PATCH", "/channels/{channel_id}/messages/{message_id}", self._h_edit_message),
            route("DELETE", "/channels/{channel_id}/messages/{message_id}", self._h_delete_message),
            route("POST", "/channels/{channel_id}/messages/{message_id}/threads", self._h_thread_from_message),
            route("POST", "/channels/{channel_id}/threads", self._h_thread),
            route("POST", "/channels/{channel_id}/typing", self._h_typing),
        ]

    def _rest_channel(self, ctx: Ctx, *, need: int = 0) -> FakeChannel:
        channel = self.channels.get(int(ctx.params["channel_id"]))
        if channel is None or channel.deleted:
            raise errors.unknown_channel()
        if channel.guild_id is not None:
            guild = self.guilds.get(channel.guild_id)
            if guild is None:
                raise errors.unknown_channel()
            if guild.deleted:  # the bot was removed from the guild: the channel exists, the bot has no access
                raise errors.missing_access()
            perms = self.bot_permissions_in(channel)
            if not perms & P.VIEW_CHANNEL:
                raise errors.missing_access()
            if channel.is_thread and need & P.SEND_MESSAGES:
                need = (need & ~P.SEND_MESSAGES) | P.SEND_MESSAGES_IN_THREADS
            if need and (perms & need) != need:
                raise errors.missing_permissions()
        return channel

    def _channel_message(self, channel: FakeChannel, ctx: Ctx) -> FakeMessage:
        msg = self._messages.get(int(ctx.params["message_id"]))
        if msg is None or msg.deleted or msg.channel_id != channel.id or msg.ephemeral:
            raise errors.unknown_message()
        return msg

    async def _h_get_channel(self, ctx: Ctx) -> Any:
        return self._rest_channel(ctx).to_json(self)

    async def _h_list_messages(self, ctx: Ctx) -> Any:
        channel = self._rest_channel(ctx, need=P.READ_MESSAGE_HISTORY)
        try:
            limit = int(ctx.query.get("limit", 50))
        except ValueError:
            limit = 50
        if not 1 <= limit <= 100:
            raise invalid_form_body({"limit": errors.field_error("NUMBER_TYPE_MAX", "Must be between 1 and 100.")})
        msgs = [m for m in self._messages.values() if m.channel_id == channel.id and not m.deleted and not m.ephemeral]
        msgs.sort(key=lambda m: m.id, reverse=True)
        if "before" in ctx.query:
            msgs = [m for m in msgs if m.id < int(ctx.query["before"])]
        if "after" in ctx.query:
            msgs = sorted((m for m in msgs if m.id > int(ctx.query["after"])), key=lambda m: m.id)[:limit]
            msgs.sort(key=lambda m: m.id, reverse=True)
        return [m.to_json(self) for m in msgs[:limit]]

    async def _h_create_message(self, ctx: Ctx) -> Any:
        channel = self._rest_channel(ctx, need=P.SEND_MESSAGES)
        if channel.type == DM:
            recipient = self.users.get(channel.recipient_id or 0)
            if recipient is None or recipient.dms_closed or recipient.bot:
                raise errors.cannot_message_user()
        payload = validate_message(ctx.json, has_attachments=bool(ctx.files), allowed_flags=USER_SETTABLE_FLAGS)
        if ctx.files and channel.guild_id is not None and not self.bot_permissions_in(channel) & P.ATTACH_FILES:
            raise errors.missing_permissions()
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
                raise errors.empty_message()
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

    async def _h_get_message(self, ctx: Ctx) -> Any:
        channel = self._rest_channel(ctx, need=P.READ_MESSAGE_HISTORY)
        return self._channel_message(channel, ctx).to_json(self)

    async def _h_edit_message(self, ctx: Ctx) -> Any:
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

    async def _h_delete_message(self, ctx: Ctx) -> Any:
        channel = self._rest_channel(ctx)
        msg = self._channel_message(channel, ctx)
        if msg.author_id != self.bot_user_id and not self.bot_permissions_in(channel) & P.MANAGE_MESSAGES:
            raise errors.missing_permissions()
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
                    "auto_archive_duration": errors.field_error(
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

    async def _h_thread_from_message(self, ctx: Ctx) -> Any:
        channel = self._rest_channel(ctx, need=P.CREATE_PUBLIC_THREADS)
        if channel.type not in (GUILD_TEXT, GUILD_NEWS):
            raise FakeHTTPError(400, 50024, "Cannot execute action on this channel type")
        msg = self._channel_message(channel, ctx)
        if msg.thread_id is not None:
            raise FakeHTTPError(400, 160004, "A thread has already been created for this message")
        body = ctx.json if isinstance(ctx.json, dict) else {}
        thread = await self._create_thread(channel, body, message=msg, thread_type=PUBLIC_THREAD)
        return thread.to_json(self)

    async def _h_thread(self, ctx: Ctx) -> Any:
        body = ctx.json if isinstance(ctx.json, dict) else {}
        thread_type = body.get("type") or PRIVATE_THREAD
        need = P.CREATE_PRIVATE_THREADS if thread_type == PRIVATE_THREAD else P.CREATE_PUBLIC_THREADS
        channel = self._rest_channel(ctx, need=need)
        if channel.type not in (GUILD_TEXT, GUILD_NEWS) or thread_type not in THREAD_TYPES:
            raise FakeHTTPError(400, 50024, "Cannot execute action on this channel type")
        thread = await self._create_thread(channel, body, message=None, thread_type=thread_type)
        return thread.to_json(self)

    async def _h_typing(self, ctx: Ctx) -> Any:
        self._rest_channel(ctx, need=P.SEND_MESSAGES)
        return NO_CONTENT
