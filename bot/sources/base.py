"""What every source returns from one fetch."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.models import Paper


@dataclass
class FetchResult:
    source: str
    papers: list[Paper] = field(default_factory=list)
    # Entries dropped because they were malformed (each also logged with its reason).
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)
    # True when the server said nothing changed since last time (HTTP 304).
    not_modified: bool = False
    # Conditional-request validators (ETag, Last-Modified) to remember for the next fetch.
    validators: dict[str, str] = field(default_factory=dict)
    # The source's progress marker to store (arXiv: the last listing day whose papers are all stored);
    # None leaves the stored one as it is.
    watermark: str | None = None


@dataclass
class ParseResult:
    papers: list[Paper] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    day: date | None = None  # the day the document lists (arXiv RSS: its listing day), when it says


def parse_time(value: object) -> datetime | None:
    """An aware UTC datetime from an ISO-8601 string, or None for anything else."""
    from datetime import UTC

    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
