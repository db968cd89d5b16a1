"""Logging in when the network may not be up yet (a service started at boot): retry, one log line a try.

Only network failures are retried; a token Discord rejects (``LoginFailure``) ends the bot as before. Once
logged in, ``connect(reconnect=True)`` already retries gateway connections with discord.py's own backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiohttp
import discord

log = logging.getLogger(__name__)

FIRST_DELAY = 1.0
MAX_DELAY = 60.0
# What "no network yet" looks like: refused or unreachable connections, DNS failures, timeouts, Discord 5xx.
NETWORK_ERRORS = (OSError, aiohttp.ClientError, asyncio.TimeoutError, discord.DiscordServerError)


def retry_delay(attempt: int, *, first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> float:
    """Seconds before try ``attempt + 1``: doubling from ``first``, never more than ``cap``."""
    return float(min(cap, first * 2.0 ** min(attempt - 1, 30)))


async def login_with_retry(
    client: discord.Client,
    token: str,
    *,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> int:
    """``client.login`` until it succeeds; returns how many tries it took."""
    attempt = 0
    while True:
        attempt += 1
        try:
            await client.login(token)
            return attempt
        except NETWORK_ERRORS as error:
            delay = retry_delay(attempt)
            log.warning("cannot reach Discord (try %d): %s; retrying in %.0f s", attempt, _short(error), delay)
            # A fresh HTTP session next time: login opened one, and a closed session cannot be reused.
            await client.http.close()
            client.http.connector = discord.utils.MISSING
            await sleep(delay)


async def start(client: discord.Client, token: str) -> None:
    """``client.start`` with a patient login."""
    await login_with_retry(client, token)
    await client.connect(reconnect=True)


def _short(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:300]
