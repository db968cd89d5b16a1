"""Interaction callbacks: the bot's initial response, accepted only where and when Discord accepts it."""

from __future__ import annotations

import hmac
from typing import Any

from .. import errors
from ..errors import FakeHTTPError, invalid_form_body
from ..http import AUTH_NONE, Ctx, HttpServer, Route, route
from ..messages import Messages
from ..models import FakeInteraction, FakeMessage, P
from ..validate import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    INTERACTION_SETTABLE_FLAGS,
    validate_autocomplete_choices,
    validate_message,
    validate_modal,
)


class InteractionRoutes(HttpServer, Messages):
    """``POST /interactions/{id}/{token}/callback``: types 4-9, the response window, one initial response."""

    def _route_table(self) -> list[Route]:
        return [
            *super()._route_table(),
            route("POST", "/interactions/{interaction_id}/{token}/callback", self._h_callback, AUTH_NONE),
        ]

    async def _h_callback(self, ctx: Ctx) -> Any:
        inter = self.interactions.get(int(ctx.params["interaction_id"]))
        if inter is None or not hmac.compare_digest(inter.token, ctx.params["token"]):
            raise errors.unknown_interaction()
        body = ctx.json
        try:
            result = await self._callback(inter, body, ctx.files)
        except FakeHTTPError as exc:
            inter.attempts.append((exc.status, exc.code, body))
            inter.error = (exc.status, exc.code)
            inter._notify()
            raise
        inter.attempts.append((200, 0, body))
        inter.responses.append(body)
        inter._notify()
        return result

    async def _callback(self, inter: FakeInteraction, body: Any, files: list[dict[str, Any]]) -> Any:
        if not isinstance(body, dict) or not isinstance(body.get("type"), int):
            raise invalid_form_body({"type": errors.field_error("BASE_TYPE_REQUIRED", "This field is required")})
        if inter.expired:
            raise errors.unknown_interaction()
        if inter.acknowledged:
            raise errors.already_acknowledged()
        rtype = body["type"]
        data = body.get("data") or {}
        allowed = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}[inter.type]
        if rtype not in allowed:
            raise invalid_form_body(
                {
                    "type": errors.field_error(
                        "INTERACTION_RESPONSE_TYPE_INVALID", f"Response type {rtype} is not valid here"
                    )
                }
            )
        msg: FakeMessage | None = None
        if rtype == 4:
            validate_message(data, has_attachments=bool(files), allowed_flags=INTERACTION_SETTABLE_FLAGS)
            msg = self._interaction_message(inter, data, files, data.get("flags") or 0)
            inter.original_id = msg.id
        elif rtype == 5:
            flags = FLAG_LOADING | ((data.get("flags") or 0) & FLAG_EPHEMERAL)
            msg = self._interaction_message(inter, {}, [], flags)
            inter.original_id = msg.id
            inter.deferred_pending = True
        elif rtype in (6, 7):
            source = self._messages.get(inter.source_message_id or 0)
            if source is None or source.deleted:
                raise errors.unknown_message()
            if rtype == 7:
                validate_message(
                    data, edit=True, has_attachments=bool(files), existing=source.snapshot(), allowed_flags=P.ALL
                )
                self._apply_edit(source, data, files)
                msg = source
                await self._dispatch_message("MESSAGE_UPDATE", source)
            else:
                inter.deferred_pending = True
            inter.original_id = source.id
        elif rtype == 8:
            inter.choices = validate_autocomplete_choices(data)
        elif rtype == 9:
            inter.modal = validate_modal(data)
        inter.response_type = rtype
        if rtype in (4, 5) and msg is not None:
            await self._dispatch_message("MESSAGE_CREATE", msg)
        return self._callback_json(inter, rtype, msg)
