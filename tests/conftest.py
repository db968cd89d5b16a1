"""Shared fixtures: a real paper fixture server on loopback, a real SQLite file, settings pointing at both."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.db import Database
from testing.bot_harness import World, bot_settings, build_world, running_bot, serve_today
from testing.fake_discord import FakeDiscord, RateLimits
from testing.paper_server import PaperServer
from testing.paths import DATA, SHARED_FIXTURES, data_json
from testing.process import OUR_VARIABLES, settings_env

# DATA, data_json and settings_env moved to testing; re-exported for test files that still import them from here.
__all__ = ["DATA", "data_json", "settings_env", "shared_fixture"]


# Settings come only from what each test passes: never from the developer's .env or shell.
@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OUR_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def shared_fixture(relative: str) -> Path:
    """A file of ../shared/fixtures, read in place; the test is skipped when the folder is absent."""
    path = SHARED_FIXTURES / relative
    if not path.exists():
        pytest.skip(f"shared fixture {relative} not available (no ../shared beside the project)")
    return path


@pytest.fixture
async def paper_server() -> AsyncIterator[PaperServer]:
    server = await PaperServer().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "paperbot.db"


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(db_path)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def make_settings(paper_server: PaperServer, db_path: Path) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_path": db_path,
            "hf_base_url": paper_server.base_url,
            "arxiv_rss_base_url": paper_server.rss_base,
            "arxiv_categories": "cs.LG",
            "arxiv_api_base_url": paper_server.arxiv_api_base,
            "arxiv_api_interval_seconds": 0.05,
            "http_timeout_seconds": 2.0,
            "http_retries": 1,
            "http_backoff_seconds": 0.01,
            "poll_interval_seconds": 1,
            # Loading the model costs seconds and ~150 MiB per bot; the semantic tests turn it on.
            "semantic_enabled": False,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return build


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(rate_limits=RateLimits.off()) as fake:
        yield fake


@pytest.fixture
async def world(
    paper_server: PaperServer, make_settings: Callable[..., Settings], fake_discord: FakeDiscord
) -> AsyncIterator[World]:
    """A guild with two channels, an admin and a member, and the real bot connected and done with its first poll."""
    serve_today(paper_server)
    guild, general, news, admin, member = build_world(fake_discord)
    settings = bot_settings(make_settings(poll_interval_seconds=3600, delivery_retry_base_seconds=0.05), fake_discord)
    async with running_bot(settings, fake_discord) as bot:
        yield World(fake_discord, paper_server, bot, settings, guild, general, news, admin, member)
