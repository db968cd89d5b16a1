"""FakeDiscord: an aiohttp server that real discord.py talks to over loopback (REST + gateway).

One class made of mixins, one per job: ``state`` (the constructor and what it knows), ``serialise``,
``events`` (gateway dispatch), ``world``, ``messages``, ``faults``, ``options`` and ``invoke`` (what a user
does), ``http`` (lifecycle and the request path) and ``routes/`` (one module per REST resource).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .invoke import Invocations
from .routes.channels import ChannelRoutes
from .routes.commands import CommandRoutes
from .routes.guilds import GuildRoutes
from .routes.interactions import InteractionRoutes
from .routes.webhooks import WebhookRoutes


class FakeDiscord(Invocations, GuildRoutes, CommandRoutes, ChannelRoutes, InteractionRoutes, WebhookRoutes):
    """A Discord stand-in for tests. See ``testing/fake_discord/README.md``."""


def iter_options(options: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    """Flatten an interaction's ``data.options`` tree (handy in assertions)."""
    for opt in options:
        yield opt
        yield from iter_options(opt.get("options") or [])
