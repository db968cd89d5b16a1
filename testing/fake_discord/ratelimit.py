"""Discord-style rate limiting: a global per-token limit and per-route buckets keyed by major parameter."""

from __future__ import annotations

import collections
import hashlib
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RouteLimit:
    """``limit`` requests per ``per`` seconds (a fixed window that starts with the first request)."""

    limit: int
    per: float


@dataclass
class RateLimits:
    """Rate-limit configuration of a :class:`FakeDiscord`. Defaults follow Discord's published behaviour.

    ``routes`` overrides the limit of one route template, keyed like ``"POST /channels/{channel_id}/messages"``.
    """

    enabled: bool = True
    global_limit: int = 50
    global_window: float = 1.0
    message_create: RouteLimit = RouteLimit(5, 5.0)
    webhook: RouteLimit = RouteLimit(5, 2.0)
    default: RouteLimit = RouteLimit(50, 1.0)
    routes: dict[str, RouteLimit] = field(default_factory=dict)

    @classmethod
    def off(cls) -> RateLimits:
        """No 429s at all (headers still report a generous bucket)."""
        return cls(enabled=False)

    def limit_for(self, template: str) -> RouteLimit:
        if template in self.routes:
            return self.routes[template]
        if template == "POST /channels/{channel_id}/messages":
            return self.message_create
        if template.startswith(("POST /webhooks/", "PATCH /webhooks/", "DELETE /webhooks/", "GET /webhooks/")):
            return self.webhook
        return self.default


@dataclass
class BucketState:
    limit: int
    remaining: int
    reset_after: float
    reset_at_epoch: float
    bucket_hash: str


@dataclass
class _Bucket:
    limit: RouteLimit
    remaining: int = 0
    reset_at: float | None = None  # monotonic


class RateLimiter:
    def __init__(self, config: RateLimits) -> None:
        self.config = config
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._global: collections.deque[float] = collections.deque()

    @staticmethod
    def bucket_hash(template: str) -> str:
        return hashlib.sha1(template.encode(), usedforsecurity=False).hexdigest()[:32]

    def check_global(self, now: float | None = None) -> float | None:
        """Count one bot-authenticated request; return ``retry_after`` if it is over the global limit."""
        if not self.config.enabled:
            return None
        now = time.monotonic() if now is None else now
        window = self.config.global_window
        while self._global and self._global[0] <= now - window:
            self._global.popleft()
        if len(self._global) >= self.config.global_limit:
            # until the window has emptied: a herd of clients that all got this 429 then finds room again
            return max(0.001, self._global[-1] + window - now)
        self._global.append(now)
        return None

    def peek(self, template: str, major: str) -> BucketState:
        """The bucket's state for headers, without taking a token."""
        now = time.monotonic()
        epoch_now = time.time()
        bucket_hash = self.bucket_hash(template)
        bucket = self._buckets.get((template, major))
        limit = self.config.limit_for(template)
        if not self.config.enabled:
            return BucketState(1000, 999, 1.0, epoch_now + 1.0, bucket_hash)
        if bucket is None or bucket.reset_at is None or now >= bucket.reset_at:
            return BucketState(limit.limit, limit.limit, limit.per, epoch_now + limit.per, bucket_hash)
        reset_after = bucket.reset_at - now
        return BucketState(limit.limit, bucket.remaining, reset_after, epoch_now + reset_after, bucket_hash)

    def hit(self, template: str, major: str, now: float | None = None) -> tuple[bool, BucketState]:
        """Take a token from the route bucket. Returns (allowed, state-for-headers)."""
        now = time.monotonic() if now is None else now
        epoch_now = time.time()
        bucket_hash = self.bucket_hash(template)
        if not self.config.enabled:
            return True, BucketState(1000, 999, 1.0, epoch_now + 1.0, bucket_hash)
        limit = self.config.limit_for(template)
        key = (template, major)
        bucket = self._buckets.get(key)
        if bucket is None or bucket.limit != limit:
            bucket = self._buckets[key] = _Bucket(limit=limit, remaining=limit.limit)
        if bucket.reset_at is None or now >= bucket.reset_at:
            bucket.remaining = limit.limit
            bucket.reset_at = now + limit.per
        reset_after = max(0.0, bucket.reset_at - now)
        if bucket.remaining <= 0:
            return False, BucketState(limit.limit, 0, reset_after, epoch_now + reset_after, bucket_hash)
        bucket.remaining -= 1
        return True, BucketState(limit.limit, bucket.remaining, reset_after, epoch_now + reset_after, bucket_hash)
