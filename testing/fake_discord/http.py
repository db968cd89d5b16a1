"""The HTTP side: lifecycle, routing, authentication, rate limits and injected faults around every REST handler.

Routes live in ``routes/``, one module per resource; each adds its part of the table through ``_route_table``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Self

from aiohttp import BodyPartReader, web

from . import errors
from .errors import FakeHTTPError
from .events import Events
from .faults import Faults
from .gateway import websocket_handler
from .models import RecordedRequest
from .ratelimit import BucketState

log = logging.getLogger("fake_discord")

AUTH_BOT = "bot"
AUTH_NONE = "none"
SNOWFLAKE = r"\d+"
SEGMENT = r"[^/]+"


@dataclass
class Ctx:
    """One REST request as a handler sees it: path parameters, the JSON body and any uploaded files."""

    request: web.Request
    params: dict[str, str]
    json: Any = None
    files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def query(self) -> Any:
        return self.request.query


Handler = Callable[[Ctx], Awaitable[Any]]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    template: str
    handler: Handler
    auth: str


def route(method: str, template: str, handler: Handler, auth: str = AUTH_BOT, **patterns: str) -> Route:
    """A route from its template: ``{token}`` is one path segment, any other ``{name}`` a snowflake unless
    ``patterns`` says otherwise. The template (with the method) is also the rate-limit bucket."""
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(
        f"(?P<{part}>{patterns.get(part, SEGMENT if part == 'token' else SNOWFLAKE)})" if odd else re.escape(part)
        for odd, part in ((index % 2 == 1, part) for index, part in enumerate(parts))
    )
    return Route(method, re.compile(regex), f"{method} {template}", handler, auth)


class NoContent:
    """A handler's result meaning 204 No Content (distinct from a JSON ``null`` body)."""


NO_CONTENT = NoContent()


class HttpServer(Faults, Events):
    """The aiohttp application: the gateway websocket and every REST request's path to its handler."""

    _routes: list[Route]

    async def start(self) -> Self:
        self._routes = self._route_table()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._ws)
        app.router.add_get("/gateway/", self._ws)
        app.router.add_route("*", "/api/{tail:.*}", self._http)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handler_cancellation=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for conn in list(self._connections):
            await conn.close(1001, "Fake Discord is stopping.")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        return await websocket_handler(self, request)

    def _route_table(self) -> list[Route]:
        """Every REST route; each module of ``routes/`` adds its own and calls ``super()``."""
        return []

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        path_matched = False
        for candidate in self._routes:
            m = candidate.pattern.fullmatch(path)
            if m is None:
                continue
            path_matched = True
            if candidate.method == method:
                return candidate, m.groupdict()
        if path_matched:
            raise FakeHTTPError(405, 0, "405: Method Not Allowed")
        raise errors.not_found_route()

    @staticmethod
    def _major(params: dict[str, str]) -> str:
        for key in ("channel_id", "guild_id"):
            if key in params:
                return params[key]
        if "webhook_id" in params:
            return f"{params['webhook_id']}+{params['token']}"
        if "interaction_id" in params:
            return f"{params['interaction_id']}+{params['token']}"
        return ""

    async def _read_body(self, request: web.Request, ctx: Ctx) -> None:
        ctype = request.content_type
        if ctype == "multipart/form-data":
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):  # a nested multipart: nothing Discord's clients send
                    continue
                if part.name == "payload_json":
                    try:
                        ctx.json = json.loads(await part.text())
                    except ValueError:
                        raise FakeHTTPError(400, 50109, "The request body contains invalid JSON.") from None
                elif part.filename is not None:
                    data = await part.read()
                    ctx.files.append(
                        {
                            "field": part.name,
                            "filename": part.filename,
                            "size": len(data),
                            "content_type": part.headers.get("Content-Type"),
                            "data": data,
                        }
                    )
            return
        raw = await request.read()
        if not raw:
            return
        if ctype == "application/json":
            try:
                ctx.json = json.loads(raw)
            except ValueError:
                raise FakeHTTPError(400, 50109, "The request body contains invalid JSON.") from None

    def _headers(self, state: BucketState | None) -> dict[str, str]:
        headers = {"Via": "1.1 google"}
        if state is not None:
            headers.update(
                {
                    "X-RateLimit-Limit": str(state.limit),
                    "X-RateLimit-Remaining": str(state.remaining),
                    "X-RateLimit-Reset": f"{state.reset_at_epoch:.3f}",
                    "X-RateLimit-Reset-After": f"{state.reset_after:.3f}",
                    "X-RateLimit-Bucket": state.bucket_hash,
                }
            )
        return headers

    @staticmethod
    def _json_response(status: int, body: Any, headers: dict[str, str]) -> web.Response:
        if body is NO_CONTENT:
            return web.Response(status=204, headers=headers)
        headers = {**headers, "Content-Type": "application/json"}
        return web.Response(status=status, body=json.dumps(body).encode(), headers=headers)

    def _record(self, method: str, path: str, status: int, body: Any) -> None:
        self.requests.append(RecordedRequest(method, path, status, body, time.time()))
        self.stats["requests"] += 1
        by_status = self.stats["by_status"]
        by_status[status] = by_status.get(status, 0) + 1
        if status in (401, 403, 429):
            self.stats["invalid_requests"] += 1
        self._notify()

    @staticmethod
    def _abort_connection(request: web.Request) -> None:
        transport = request.transport
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    async def _http(self, request: web.Request) -> web.StreamResponse:
        method = request.method
        tail = request.match_info["tail"]
        path = "/" + re.sub(r"^v\d+/", "", tail)
        path = path.rstrip("/") if path != "/" else path
        ctx = Ctx(request, {})
        state: BucketState | None = None
        status = 500
        body: Any = None
        body_error: FakeHTTPError | None = None
        try:
            try:
                await self._read_body(request, ctx)
            except FakeHTTPError as exc:
                body_error = exc
            state = self._limiter.peek(f"{method} {path}", "")
            matched, params = self._match(method, path)
            ctx.params = params
            state = self._limiter.peek(matched.template, self._major(params))
            if matched.auth == AUTH_BOT:
                if request.headers.get("Authorization") != f"Bot {self.token}":
                    raise errors.unauthorized()
                retry_after = self._limiter.check_global()
                if retry_after is not None:
                    self.stats["global_429"] += 1
                    state = self._limiter.peek(matched.template, self._major(params))
                    body = {
                        "message": "You are being rate limited.",
                        "retry_after": round(retry_after, 3),
                        "global": True,
                        "code": 0,
                    }
                    headers = self._headers(state)
                    headers.update(
                        {
                            "X-RateLimit-Global": "true",
                            "X-RateLimit-Scope": "global",
                            "Retry-After": str(max(1, round(retry_after))),
                        }
                    )
                    self._record(method, path, 429, ctx.json)
                    return self._json_response(429, body, headers)
            allowed, state = self._limiter.hit(matched.template, self._major(params))
            if not allowed:
                self.stats["route_429"] += 1
                body = {
                    "message": "You are being rate limited.",
                    "retry_after": round(state.reset_after, 3),
                    "global": False,
                    "code": 0,
                }
                headers = self._headers(state)
                headers.update({"X-RateLimit-Scope": "user", "Retry-After": str(max(1, round(state.reset_after)))})
                self._record(method, path, 429, ctx.json)
                return self._json_response(429, body, headers)

            if body_error is not None:
                raise body_error
            fault = self._take_fault(method, path)
            if fault is not None:
                if fault.after_processing and fault.delay and not fault.reset:
                    # Carried out, then the answer never arrives: what a crash between send and mark sees.
                    with contextlib.suppress(FakeHTTPError):
                        await self._run_handler(matched, ctx)
                    self._record(method, path, 0, ctx.json)
                    await asyncio.sleep(fault.delay)
                    self._abort_connection(request)
                    raise asyncio.CancelledError
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.reset:
                    if fault.after_processing:
                        with contextlib.suppress(FakeHTTPError):
                            await self._run_handler(matched, ctx)
                    self._record(method, path, 0, ctx.json)
                    self._abort_connection(request)
                    raise asyncio.CancelledError
                if fault.status == 429:
                    self.stats["route_429"] += 1
                    body = {
                        "message": "You are being rate limited.",
                        "retry_after": fault.retry_after,
                        "global": False,
                        "code": 0,
                    }
                    headers = self._headers(state)
                    headers.update({"X-RateLimit-Scope": "user", "Retry-After": str(max(1, round(fault.retry_after)))})
                    self._record(method, path, 429, ctx.json)
                    return self._json_response(429, body, headers)
                if fault.status is not None:
                    raise FakeHTTPError(
                        fault.status,
                        fault.code if fault.code is not None else 0,
                        fault.message or f"{fault.status}: {HTTPStatus(fault.status).phrase}",
                    )
            channel_id = params.get("channel_id")
            if channel_id is not None and int(channel_id) in self._channel_errors:
                raise self._channel_errors[int(channel_id)]
            status, body = await self._run_handler(matched, ctx)
        except FakeHTTPError as exc:
            status, body = exc.status, exc.body()
        except Exception as exc:  # a bug in the fake: fail loudly and at once (a 5xx would be retried)
            log.exception("fake_discord internal error on %s %s", method, path)
            self.internal_errors.append(exc)
            status, body = 400, {"code": 0, "message": f"fake_discord internal error: {exc!r}"}
        self._record(method, path, status, ctx.json)
        return self._json_response(status, body, self._headers(state))

    async def _run_handler(self, matched: Route, ctx: Ctx) -> tuple[int, Any]:
        result = await matched.handler(ctx)
        if result is NO_CONTENT:
            return 204, NO_CONTENT
        return 200, result
