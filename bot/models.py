"""The normalised paper record every source produces and every consumer reads."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import IntFlag
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot import text

# New-style arXiv ids (2007+: YYMM.NNNN or YYMM.NNNNN) and old-style ones (archive/YYMMNNN).
_NEW_ID = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?:v\d+)?(?![\d])")
_OLD_ID = re.compile(r"(?<![\w.-])([a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?(?!\d)")
_BARE_ID = re.compile(r"^(?:\d{4}\.\d{4,5}|[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7})$")


_COUNTS = ("upvotes", "num_comments", "github_stars")


class Source(IntFlag):
    """Where a paper was seen; stored as a bit mask so a paper can carry both."""

    HF = 1
    ARXIV = 2


def normalise_arxiv_id(raw: str) -> str | None:
    """The bare id (no version, no URL) from an id, an arXiv/HF URL or a guid; None if there is none.

    Only the shape is checked, not whether the paper exists.
    """
    if not raw:
        return None
    value = raw.strip()
    for pattern in (_NEW_ID, _OLD_ID):
        found = pattern.search(value)
        if found:
            candidate = found.group(1)
            if pattern is _NEW_ID and not _plausible_new_id(candidate):
                continue
            return candidate
    return None


def _plausible_new_id(candidate: str) -> bool:
    yymm, number = candidate.split(".")
    month = int(yymm[2:])
    # Five-digit numbers started in 1501; four-digit ones ended in 1412.
    return 1 <= month <= 12 and (len(number) == 4) == (int(yymm) < 1501)


def is_bare_arxiv_id(value: str) -> bool:
    return bool(_BARE_ID.match(value))


class Paper(BaseModel):
    """One paper, keyed by its bare arXiv id, whatever source(s) described it.

    ``None`` (or an empty list) means "this source does not know", never "the value is empty", so a
    merge can tell a gap from a fact.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    abstract: str = ""
    authors: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    ai_summary: str | None = None
    upvotes: int | None = None
    num_comments: int | None = None
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    organization: str | None = None
    thumbnail: str | None = None
    categories: list[str] = Field(default_factory=list)
    published_at: datetime | None = None
    # When the paper first appeared on a daily list (HF daily submission or arXiv announcement).
    listed_at: datetime | None = None
    sources: Source = Source(0)

    @field_validator("published_at", "listed_at")
    @classmethod
    def _utc_seconds(cls, value: datetime | None) -> datetime | None:
        """Aware UTC at whole seconds, so a record read back from the database compares equal."""
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(microsecond=0)

    @property
    def summary(self) -> str:
        """What a post shows: HF's one-line AI summary when known, else the abstract's opening sentences."""
        if self.ai_summary:
            return self.ai_summary
        return text.extractive_summary(self.abstract)

    @property
    def arxiv_url(self) -> str:
        return f"https://arxiv.org/abs/{self.id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.id}"

    @property
    def hf_url(self) -> str:
        return f"https://huggingface.co/papers/{self.id}"

    @property
    def on_hf(self) -> bool:
        return bool(self.sources & Source.HF)

    @property
    def canonical_url(self) -> str:
        return self.hf_url if self.on_hf else self.arxiv_url

    def merge(self, newer: Paper, *, counts: Literal["newer", "max"] = "newer") -> Self:
        """Combine with a later record of the same paper: newer facts win, gaps never erase facts.

        ``counts="max"`` keeps the larger upvote/comment/star counts, for repeats within one response.
        """
        if newer.id != self.id:
            raise ValueError(f"cannot merge {newer.id} into {self.id}")
        updates: dict[str, object] = {}
        for name in type(self).model_fields:
            if name in {"id", "sources", "listed_at", "published_at"}:
                continue
            value = getattr(newer, name)
            if value is None or value == "" or value == []:
                continue
            updates[name] = value
        if counts == "max":
            for name in _COUNTS:
                mine, theirs = getattr(self, name), getattr(newer, name)
                if mine is not None and theirs is not None:
                    updates[name] = max(mine, theirs)
        updates["sources"] = self.sources | newer.sources
        updates["listed_at"] = _earliest(self.listed_at, newer.listed_at)
        updates["published_at"] = _earliest(self.published_at, newer.published_at)
        return self.model_copy(update=updates)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
