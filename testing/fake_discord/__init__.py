"""A Discord stand-in for end-to-end tests: real discord.py talks to it over loopback (REST + gateway).

See README.md in this folder.
"""

from .errors import FakeHTTPError, FakeInvocationError, FakePermissionError
from .models import (
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    Fault,
    P,
    RecordedRequest,
)
from .ratelimit import RateLimits, RouteLimit
from .server import FakeDiscord, iter_options

Permissions = P

__all__ = [
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeHTTPError",
    "FakeInteraction",
    "FakeInvocationError",
    "FakeMember",
    "FakeMessage",
    "FakePermissionError",
    "FakeRole",
    "FakeUser",
    "Fault",
    "P",
    "Permissions",
    "RateLimits",
    "RecordedRequest",
    "RouteLimit",
    "iter_options",
]
