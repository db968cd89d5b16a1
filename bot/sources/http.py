"""HTTP for the paper sources: one aiohttp session, timeouts, retries with backoff, Retry-After."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from bot import __version__

log = logging.getLogger(__name__)

USER_AGENT = f"paperbot/{__version__} (Discord bot for research papers; +https://github.com/paperbot)"
MAX_BODY_BYTES = 32 * 1024 * 1024
# A Retry-After longer than this is not slept through inside a poll; the source cools down instead.
MAX_INLINE_WAIT = 30.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class SourceError(Exception):
    """A source could not be read; ``retry_after`` (seconds) is set when the server asked us to wait."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: CIMultiDictProxy[str] | dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclass
class RetryPolicy:
    retries: int = 3
    backoff: float = 1.0
    max_backoff: float = 30.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so many bots do not retry in lockstep."""
        ceiling = min(self.max_backoff, self.backoff * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class Spacing:
    """At most one request per ``interval`` seconds, counted from the end of one to the start of the next.

    Counting from the end (not the start) means the server sees at least ``interval`` between two requests
    however long each took: arXiv's API asks for one request every 3 seconds. Requests queue in order.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = asyncio.Lock()
        self._next = 0.0

    async def __aenter__(self) -> None:
        await self._lock.acquire()
        wait = self._next - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)  # a rate limit: waiting out time is the point, not waiting for an event

    async def __aexit__(self, *exc: object) -> None:
        self._next = time.monotonic() + self.interval
        self._lock.release()


class HttpClient:
    """Thin wrapper over one ``aiohttp.ClientSession`` shared by every source."""

    def __init__(self, *, timeout: float, policy: RetryPolicy | None = None) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.policy = policy or RetryPolicy()
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout,
                headers={"User-Agent": USER_AGENT},
                raise_for_status=False,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def get(
        self,
        url: str,
        *,
        source: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        ok: frozenset[int] = frozenset({200}),
        spacing: Spacing | None = None,
    ) -> Response:
        """GET with retries; statuses in ``ok`` are returned, anything else raises SourceError.

        With ``spacing``, every attempt (retries too) waits its turn there.
        """
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                async with spacing or contextlib.nullcontext():
                    response = await self._get_once(url, params=params, headers=headers)
            except (TimeoutError, aiohttp.ClientError) as error:
                problem = _describe_exception(error, self.timeout.total)
            else:
                if response.status in ok:
                    return response
                problem = f"HTTP {response.status}"
                retry_after = parse_retry_after(response.header("Retry-After"))
                if response.status not in RETRY_STATUSES:
                    raise SourceError(f"{problem} from {url}")
                if retry_after is not None and retry_after > MAX_INLINE_WAIT:
                    raise SourceError(
                        f"{problem} from {url}; asked to retry after {retry_after:.0f}s",
                        retry_after=retry_after,
                    )
            if attempt >= self.policy.retries:
                tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
                raise SourceError(f"{problem} from {url} after {tries}", retry_after=retry_after)
            wait = retry_after if retry_after is not None else self.policy.delay(attempt)
            log.info("%s: %s from %s; retrying in %.1fs", source, problem, url, wait)
            await asyncio.sleep(wait)
            attempt += 1

    async def _get_once(self, url: str, *, params: dict[str, Any] | None, headers: dict[str, str] | None) -> Response:
        async with self.session.get(url, params=params, headers=headers) as response:
            chunks = []
            size = 0
            async for chunk in response.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise aiohttp.ClientPayloadError(f"response larger than {MAX_BODY_BYTES} bytes")
                chunks.append(chunk)
            return Response(response.status, b"".join(chunks), response.headers)


def _describe_exception(error: BaseException, timeout: float | None) -> str:
    if isinstance(error, TimeoutError):
        return f"timed out after {timeout:g}s"
    if isinstance(error, aiohttp.ClientConnectorError):
        return f"cannot connect ({error.os_error.strerror or error.os_error})"
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
