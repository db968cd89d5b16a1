"""Interaction webhooks: follow-ups and the edits and deletes of an interaction's messages."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from .. import errors
from ..errors import FakeHTTPError
from ..http import AUTH_NONE, NO_CONTENT, Ctx, HttpServer, Route, route
from ..messages import Messages
from ..models import FakeInteraction, FakeMessage, P
from ..validate import FLAG_EPHEMERAL, INTERACTION_SETTABLE_FLAGS, validate_message

WEBHOOK_MESSAGE = r"@original|\d+"


def _flag(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes")


class WebhookRoutes(HttpServer, Messages):
    """``/webhooks/{app}/{token}[/messages/@original|{id}]``, valid from the initial response until ``token_ttl``."""

    def _route_table(self) -> list[Route]:
        messages = "/webhooks/{webhook_id}/{token}/messages/{message_id}"
        return [
            *super()._route_table(),
            route("POST", "/webhooks/{webhook_id}/{token}", self._h_webhook_execute, AUTH_NONE),
            route("GET", messages, self._h_webhook_get, AUTH_NONE, message_id=WEBHOOK_MESSAGE),
            route("PATCH", messages, self._h_webhook_edit, AUTH_NONE, message_id=WEBHOOK_MESSAGE),
            route("DELETE", messages, self._h_webhook_delete, AUTH_NONE, message_id=WEBHOOK_MESSAGE),
        ]

    def _webhook_interaction(self, ctx: Ctx) -> FakeInteraction:
        if int(ctx.params["webhook_id"]) != self.application_id:
            raise errors.unknown_webhook()
        inter = self._interactions_by_token.get(ctx.params["token"])
        if inter is None:
            raise errors.unknown_webhook()
        if inter.token_expired:
            raise errors.invalid_webhook_token()
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
                raise errors.unknown_message()
            mid = inter.original_id
        else:
            mid = int(message_id)
            if mid != inter.original_id and mid not in inter.followup_ids:
                raise errors.unknown_message()
        msg = self._messages.get(mid)
        if msg is None or msg.deleted:
            raise errors.unknown_message()
        return msg

    async def _h_webhook_execute(self, ctx: Ctx) -> Any:
        inter = self._webhook_interaction(ctx)
        return await self._with_interaction_errors(inter, self._webhook_execute(inter, ctx))

    async def _webhook_execute(self, inter: FakeInteraction, ctx: Ctx) -> Any:
        if not inter.acknowledged or inter.response_type == 8:
            raise errors.unknown_webhook()
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

    async def _h_webhook_get(self, ctx: Ctx) -> Any:
        inter = self._webhook_interaction(ctx)
        return self._webhook_target(inter, ctx.params["message_id"]).to_json(self)

    async def _h_webhook_edit(self, ctx: Ctx) -> Any:
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

    async def _h_webhook_delete(self, ctx: Ctx) -> Any:
        inter = self._webhook_interaction(ctx)
        msg = self._webhook_target(inter, ctx.params["message_id"])
        msg.deleted = True
        if msg.id == inter.original_id:
            inter.deferred_pending = False
        inter._notify()
        await self._dispatch_message("MESSAGE_DELETE", msg)
        return NO_CONTENT
