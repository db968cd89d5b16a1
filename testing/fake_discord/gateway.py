"""The gateway websocket: HELLO, heartbeats, IDENTIFY/READY/GUILD_CREATE, RESUME with replay, op 7/9, close codes."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import secrets
import time
import zlib
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from .events import Events

try:  # pragma: no cover - only when discord.py[speed] is installed
    import zstandard as _zstd
except ImportError:  # pragma: no cover
    _zstd = None

log = logging.getLogger("fake_discord.gateway")

INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE = 3
OP_VOICE_STATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

# events that need an intent; anything not listed is always sent
EVENT_INTENTS = {
    "GUILD_CREATE": INTENT_GUILDS,
    "GUILD_UPDATE": INTENT_GUILDS,
    "GUILD_DELETE": INTENT_GUILDS,
    "GUILD_ROLE_CREATE": INTENT_GUILDS,
    "GUILD_ROLE_UPDATE": INTENT_GUILDS,
    "GUILD_ROLE_DELETE": INTENT_GUILDS,
    "CHANNEL_CREATE": INTENT_GUILDS,
    "CHANNEL_UPDATE": INTENT_GUILDS,
    "CHANNEL_DELETE": INTENT_GUILDS,
    "THREAD_CREATE": INTENT_GUILDS,
    "THREAD_UPDATE": INTENT_GUILDS,
    "THREAD_DELETE": INTENT_GUILDS,
    "GUILD_MEMBER_ADD": INTENT_GUILD_MEMBERS,
    "GUILD_MEMBER_UPDATE": INTENT_GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": INTENT_GUILD_MEMBERS,
}

GATEWAY_SEND_LIMIT = 120
GATEWAY_SEND_WINDOW = 60.0


class GatewaySession:
    """A gateway session (survives its connection so that it can be RESUMEd)."""

    def __init__(self, fake: Events, shard_id: int, shard_count: int, intents: int) -> None:
        self.fake = fake
        self.session_id = secrets.token_hex(16)
        self.shard_id = shard_id
        self.shard_count = shard_count
        self.intents = intents
        self.seq = 0
        self.buffer: collections.deque[tuple[int, dict[str, Any]]] = collections.deque(maxlen=5000)
        self.conn: GatewayConnection | None = None
        self.invalidated = False
        self.ready_sent = False
        self.lock = asyncio.Lock()
        self.created = time.monotonic()

    @property
    def live(self) -> bool:
        return self.conn is not None and not self.conn.closed and not self.invalidated

    def wants(self, event: str, guild_id: int | None) -> bool:
        needed = EVENT_INTENTS.get(event)
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE"):
            needed = INTENT_GUILD_MESSAGES if guild_id is not None else INTENT_DIRECT_MESSAGES
        return needed is None or bool(self.intents & needed)

    def owns_guild(self, guild_id: int | None) -> bool:
        if guild_id is None:
            return self.shard_id == 0
        return (guild_id >> 22) % self.shard_count == self.shard_id

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        async with self.lock:
            await self._dispatch_locked(event, data)

    async def _dispatch_locked(self, event: str, data: dict[str, Any]) -> None:
        self.seq += 1
        payload = {"op": OP_DISPATCH, "t": event, "s": self.seq, "d": data}
        self.buffer.append((self.seq, payload))
        conn = self.conn
        if conn is not None and not conn.closed:
            await conn.send(payload)


class GatewayConnection:
    """One websocket connection."""

    def __init__(self, fake: Events, ws: web.WebSocketResponse, compress: str | None) -> None:
        self.fake = fake
        self.ws = ws
        self.compress = compress
        self.session: GatewaySession | None = None
        self.lock = asyncio.Lock()
        self.heartbeats = 0
        self.last_heartbeat: float | None = None
        self.client_close_code: int | None = None
        self.server_close_code: int | None = None  # set when the fake closed the socket
        self._sends: collections.deque[float] = collections.deque()
        self._zlib = zlib.compressobj() if compress == "zlib-stream" else None
        self._zstd = _zstd.ZstdCompressor().compressobj() if compress == "zstd-stream" and _zstd is not None else None

    @property
    def closed(self) -> bool:
        return self.ws.closed

    def _encode(self, payload: dict[str, Any]) -> bytes | str:
        text = json.dumps(payload, separators=(",", ":"))
        if self._zlib is not None:
            return self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
        if self._zstd is not None:  # pragma: no cover
            frame: bytes = self._zstd.compress(text.encode()) + self._zstd.flush(_zstd.COMPRESSOBJ_FLUSH_BLOCK)
            return frame
        return text

    async def send(self, payload: dict[str, Any]) -> None:
        async with self.lock:
            if self.ws.closed:
                return
            data = self._encode(payload)
            try:
                if isinstance(data, bytes):
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(data)
            except (ConnectionError, RuntimeError) as exc:
                log.debug("gateway send failed: %s", exc)

    async def close(self, code: int, reason: str = "") -> None:
        if self.server_close_code is None and self.client_close_code is None:
            self.server_close_code = code
        if not self.ws.closed:
            with contextlib.suppress(Exception):
                await self.ws.close(code=code, message=reason.encode())

    async def serve(self) -> None:
        fake = self.fake
        await self.send({"op": OP_HELLO, "d": {"heartbeat_interval": int(fake.heartbeat_interval * 1000)}})
        async for msg in self.ws:
            if msg.type == WSMsgType.TEXT:
                raw: str | bytes = msg.data
            elif msg.type == WSMsgType.BINARY:
                raw = msg.data
            else:
                break
            now = time.monotonic()
            while self._sends and self._sends[0] <= now - GATEWAY_SEND_WINDOW:
                self._sends.popleft()
            self._sends.append(now)
            if len(self._sends) > GATEWAY_SEND_LIMIT:
                await self.close(4008, "Rate limited.")
                break
            try:
                payload = json.loads(raw)
                op = payload["op"]
            except (ValueError, KeyError, TypeError):
                await self.close(4002, "Error while decoding payload.")
                break
            if not await self._handle(op, payload.get("d")):
                break
        if self.server_close_code is None:
            self.client_close_code = self.ws.close_code

    async def _handle(self, op: int, d: Any) -> bool:
        fake = self.fake
        if op == OP_HEARTBEAT:
            self.heartbeats += 1
            self.last_heartbeat = time.monotonic()
            await self.send({"op": OP_HEARTBEAT_ACK})
            return True
        if op == OP_IDENTIFY:
            if self.session is not None:
                await self.close(4005, "Already authenticated.")
                return False
            return await self._identify(d or {})
        if op == OP_RESUME:
            if self.session is not None:
                await self.close(4005, "Already authenticated.")
                return False
            return await self._resume(d or {})
        if self.session is None:
            await self.close(4003, "Not authenticated.")
            return False
        if op == OP_PRESENCE:
            fake.presence = d
            return True
        if op == OP_VOICE_STATE:
            return True
        if op == OP_REQUEST_MEMBERS:
            await self._request_members(d or {})
            return True
        await self.close(4001, "Unknown opcode.")
        return False

    async def _identify(self, d: dict[str, Any]) -> bool:
        fake = self.fake
        if d.get("token") != fake.token:
            await self.close(4004, "Authentication failed.")
            return False
        shard = d.get("shard") or [0, 1]
        try:
            shard_id, shard_count = int(shard[0]), int(shard[1])
        except (TypeError, ValueError, IndexError):
            await self.close(4010, "Invalid shard.")
            return False
        if shard_count < 1 or not 0 <= shard_id < shard_count:
            await self.close(4010, "Invalid shard.")
            return False
        intents = d.get("intents")
        if not isinstance(intents, int) or intents < 0:
            await self.close(4013, "Invalid intent(s).")
            return False
        if intents & PRIVILEGED_INTENTS and not fake.privileged_intents_enabled:
            await self.close(4014, "Disallowed intent(s).")
            return False
        session = GatewaySession(fake, shard_id, shard_count, intents)
        fake._register_session(session)
        self.session = session
        fake.identify_count += 1
        fake.identify_payloads.append(d)
        async with session.lock:
            session.conn = self
            guilds = [g for g in fake.guilds.values() if not g.deleted and session.owns_guild(g.id)]
            await session._dispatch_locked(
                "READY",
                {
                    "v": 10,
                    "user": fake.bot_user_json(),
                    "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
                    "session_id": session.session_id,
                    "resume_gateway_url": fake.gateway_url,
                    "shard": [shard_id, shard_count],
                    "application": {"id": str(fake.application_id), "flags": fake.application_flags},
                    "private_channels": [],
                    "relationships": [],
                    "presences": [],
                    "guild_join_requests": [],
                    "geo_ordered_rtc_regions": [],
                    "user_settings": {},
                    "session_type": "normal",
                    "auth": {},
                    "_trace": ['["fake-discord-gateway",{"micros":0}]'],
                },
            )
            if intents & INTENT_GUILDS:
                for guild in guilds:
                    await session._dispatch_locked("GUILD_CREATE", fake.guild_create_json(guild, session))
            session.ready_sent = True
        fake._notify()
        return True

    async def _resume(self, d: dict[str, Any]) -> bool:
        fake = self.fake
        if d.get("token") != fake.token:
            await self.close(4004, "Authentication failed.")
            return False
        session = fake._sessions.get(d.get("session_id") or "")
        if session is None or session.invalidated:
            await self.send({"op": OP_INVALID_SESSION, "d": False})
            return True
        seq = d.get("seq") or 0
        if session.buffer and seq < session.buffer[0][0] - 1:  # the events it missed are no longer kept
            session.invalidated = True
            await self.send({"op": OP_INVALID_SESSION, "d": False})
            return True
        old = session.conn
        if old is not None and old is not self and not old.closed:
            await old.close(4000, "Session resumed elsewhere.")
        self.session = session
        fake.resume_count += 1
        async with session.lock:
            session.conn = self
            for item_seq, payload in list(session.buffer):
                if item_seq > seq:
                    await self.send(payload)
            await session._dispatch_locked("RESUMED", {"_trace": ['["fake-discord-gateway",{"micros":0}]']})
            session.ready_sent = True
        fake._notify()
        return True

    async def _request_members(self, d: dict[str, Any]) -> None:
        fake = self.fake
        try:
            guild = fake.guilds[int(d["guild_id"])]
        except (TypeError, ValueError, KeyError):
            return
        query = (d.get("query") or "").lower()
        user_ids = {int(u) for u in d.get("user_ids") or []}
        members = [
            m.to_json()
            for m in guild._members.values()
            if (not user_ids or m.id in user_ids) and m.user.name.lower().startswith(query)
        ]
        limit = d.get("limit") or 0
        if limit:
            members = members[:limit]
        data: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if d.get("nonce"):
            data["nonce"] = d["nonce"]
        if self.session is not None:
            await self.session.dispatch("GUILD_MEMBERS_CHUNK", data)


async def websocket_handler(fake: Events, request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
    await ws.prepare(request)
    compress = request.query.get("compress")
    if request.query.get("encoding", "json") != "json":
        await ws.close(code=4002, message=b"Only json encoding is supported by the fake.")
        return ws
    if compress == "zstd-stream" and _zstd is None:  # pragma: no cover
        await ws.close(code=4000, message=b"zstd-stream needs the zstandard module.")
        return ws
    conn = GatewayConnection(fake, ws, compress)
    fake._connections.add(conn)
    fake._notify()
    try:
        await conn.serve()
    finally:
        fake._connections.discard(conn)
        session = conn.session
        if session is not None:
            if session.conn is conn:
                session.conn = None
            if conn.client_close_code in (1000, 1001):
                session.invalidated = True  # a clean close ends the session: it cannot be resumed
        fake._notify()
    return ws
