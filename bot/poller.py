"""One poll: read every enabled source, merge what they say, store the batch.

A source that fails is logged and backed off; it never stops the others and never stops the loop.
Papers are stored with their deliveries owed (``bot.archive``), in transactions of at most ``STORE_CHUNK``
papers so a large batch (an arXiv back-fill) never holds the write lock for long, and the deliveries are then
decided outside them (``bot.delivery.deciding``). Source state (health, backoff, ETag, watermark) is written in
the last chunk's transaction, so a crash can never record "feed seen" for papers that were not stored, nor store
papers whose deliveries are not at least owed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot import archive
from bot.config import Settings
from bot.db import Database
from bot.db.papers import StoreResult
from bot.db.sources import SourceState
from bot.delivery import deciding
from bot.delivery.outbox import EnqueueReport
from bot.models import Paper
from bot.sources.arxiv import ArxivSource
from bot.sources.arxiv_api import ArxivApi
from bot.sources.base import FetchResult
from bot.sources.hf import HuggingFaceSource, dedupe
from bot.sources.http import HttpClient, RetryPolicy, SourceError, Spacing

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)
MAX_ERROR_CHARS = 500
# Papers per storing transaction. A poll brings ~150; an arXiv back-fill can bring thousands, whose one
# transaction would hold SQLite's write lock for tens of seconds (docs/benchmarks.md, "arXiv back-fill").
STORE_CHUNK = 250


class PaperSource(Protocol):
    name: str

    async def fetch(
        self,
        validators: dict[str, str] | None = None,
        now: datetime | None = None,
        since: datetime | None = None,
        watermark: str | None = None,
    ) -> FetchResult: ...


@dataclass
class SourceReport:
    name: str
    status: str  # "ok", "not-modified", "failed", "waiting"
    fetched: int = 0
    skipped: int = 0
    error: str | None = None
    next_attempt_at: datetime | None = None
    forced: bool = False  # tried although the source was resting after errors (``fetch`` by hand)


@dataclass
class PollReport:
    started_at: datetime
    sources: list[SourceReport] = field(default_factory=list)
    stored: StoreResult = field(default_factory=StoreResult)
    queued: EnqueueReport = field(default_factory=EnqueueReport)  # the deliveries the poll's papers added

    @property
    def all_failed(self) -> bool:
        return bool(self.sources) and all(report.status == "failed" for report in self.sources)

    @property
    def none_read(self) -> bool:
        """No source answered: every one failed or is resting."""
        return all(report.status not in ("ok", "not-modified") for report in self.sources)


def build_sources(settings: Settings, http: HttpClient) -> list[PaperSource]:
    sources: list[PaperSource] = [
        HuggingFaceSource(http, settings.hf_base_url, lookback_days=settings.hf_lookback_days)
    ]
    if settings.arxiv_categories:
        api = ArxivApi(
            http,
            settings.arxiv_api_base_url,
            settings.arxiv_categories,
            page_size=settings.arxiv_api_page_size,
            spacing=Spacing(settings.arxiv_api_interval_seconds),
        )
        sources.append(
            ArxivSource(
                http,
                settings.arxiv_rss_base_url,
                settings.arxiv_categories,
                api=api,
                backfill_days=settings.arxiv_backfill_max_days,
            )
        )
    return sources


def build_http(settings: Settings) -> HttpClient:
    return HttpClient(
        timeout=settings.http_timeout_seconds,
        policy=RetryPolicy(retries=settings.http_retries, backoff=settings.http_backoff_seconds),
    )


class Poller:
    def __init__(
        self,
        db: Database,
        sources: Sequence[PaperSource],
        *,
        interval: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        ready: asyncio.Event | None = None,
        store_chunk: int = STORE_CHUNK,
    ) -> None:
        self.db = db
        self.store_chunk = store_chunk
        self.ready = ready  # set once every stored topic has its plan (bot.plans); polls wait for it
        self.sources = list(sources)
        self.interval = interval
        self.clock = clock
        self._lock = asyncio.Lock()
        self.last_report: PollReport | None = None
        # Called after each poll's transaction has committed (the dispatcher wakes up on it).
        self.listeners: list[Callable[[PollReport], None]] = []

    def backoff(self, failures: int, retry_after: float | None) -> timedelta:
        """How long a failing source rests: the server's Retry-After, else doubling poll intervals."""
        if retry_after is not None:
            return timedelta(seconds=retry_after)
        steps = min(failures - 1, 10)
        return min(MAX_BACKOFF, timedelta(seconds=self.interval * (2**steps)))

    async def poll_once(self, *, force: bool = False) -> PollReport:
        """One poll; ``force`` also tries sources resting after errors (a person asked for it now)."""
        if self.ready is not None and not self.ready.is_set():
            log.info("waiting for the stored topics' plans before polling")
            await self.ready.wait()
        async with self._lock:  # the CLI and the loop never poll concurrently
            return await self._poll(force)

    async def _poll(self, force: bool = False) -> PollReport:
        now = self.clock()
        report = PollReport(started_at=now)
        states = await self.db.sources.all()
        due: list[tuple[PaperSource, SourceState]] = []
        forced: set[str] = set()
        for source in self.sources:
            state = states.get(source.name) or SourceState(name=source.name)
            resting = state.next_attempt_at is not None and state.next_attempt_at > now
            if resting and force:
                forced.add(source.name)
            elif resting:
                report.sources.append(
                    SourceReport(source.name, "waiting", error=state.last_error, next_attempt_at=state.next_attempt_at)
                )
                continue
            due.append((source, state))

        results = await asyncio.gather(
            *(self._fetch(source, state, now) for source, state in due), return_exceptions=True
        )
        papers: list[Paper] = []
        new_states: list[SourceState] = []
        for (source, state), outcome in zip(due, results, strict=True):
            state.last_attempt_at = now
            if isinstance(outcome, BaseException):
                if isinstance(outcome, asyncio.CancelledError):
                    raise outcome
                retry_after = outcome.retry_after if isinstance(outcome, SourceError) else None
                message = str(outcome) if isinstance(outcome, SourceError) else f"unexpected {outcome!r}"
                if state.consecutive_failures == 0 or state.failing_since is None:
                    state.failing_since = now
                state.consecutive_failures += 1
                state.last_error = message[:MAX_ERROR_CHARS]
                state.last_error_at = now
                state.next_attempt_at = now + self.backoff(state.consecutive_failures, retry_after)
                log.warning(
                    "source %s failed (%d in a row): %s; next attempt %s",
                    source.name,
                    state.consecutive_failures,
                    message,
                    state.next_attempt_at.isoformat(timespec="seconds"),
                    exc_info=outcome if not isinstance(outcome, SourceError) else None,
                )
                report.sources.append(
                    SourceReport(source.name, "failed", error=message, next_attempt_at=state.next_attempt_at)
                )
            else:
                for warning in outcome.warnings:
                    log.warning("source %s: %s", source.name, warning)
                state.consecutive_failures = 0
                state.failing_since = None
                state.last_success_at = now
                state.last_error = None
                state.next_attempt_at = None
                if not outcome.not_modified:
                    state.last_count = len(outcome.papers)
                    state.etag = outcome.validators.get("etag")
                    state.last_modified = outcome.validators.get("last_modified")
                if outcome.watermark is not None:
                    state.watermark = outcome.watermark
                papers.extend(outcome.papers)
                report.sources.append(
                    SourceReport(
                        source.name,
                        "not-modified" if outcome.not_modified else "ok",
                        fetched=len(outcome.papers),
                        skipped=outcome.skipped,
                    )
                )
            report.sources[-1].forced = source.name in forced
            new_states.append(state)

        stored = await self._store(dedupe(papers), new_states, now)
        report.stored, report.queued = stored.papers, stored.queued
        log.info(
            "poll: %d new, %d updated, %d unchanged papers (%s)",
            len(report.stored.new),
            len(report.stored.updated),
            report.stored.unchanged,
            ", ".join(f"{item.name} {item.status}" for item in report.sources),
        )
        self.last_report = report
        for listener in self.listeners:
            listener(report)
        return report

    async def _store(self, batch: list[Paper], states: list[SourceState], now: datetime) -> archive.Stored:
        """The batch in chunks of ``store_chunk`` papers, each one transaction, then its deliveries decided.

        Every chunk owes its papers' deliveries in the same transaction (``bot.db.decisions``), all in one
        decision, so one poll's papers compete for members' daily DM slots together. The sources' states (ETag,
        watermark) commit with the last chunk: a crash part-way leaves them as they were, so the next poll fetches
        the same papers again, finds the stored chunks unchanged and stores the rest. Deciding runs after the
        commits, outside the write lock, and also finishes any decision an earlier run left owed (a crash).
        """
        total = StoreResult()
        size = self.store_chunk
        chunks = [batch[start : start + size] for start in range(0, len(batch), size)] or [[]]
        decision: int | None = None
        for index, chunk in enumerate(chunks):
            async with self.db.transaction() as conn:
                result, decision = await archive.store_in(
                    self.db, conn, chunk, now=int(now.timestamp()), decision=decision
                )
                if index == len(chunks) - 1:
                    for state in states:
                        await self.db.sources.save(conn, state)
            total.new.extend(result.new)
            total.updated.extend(result.updated)
            total.unchanged += result.unchanged
        return archive.Stored(papers=total, queued=await deciding.decide(self.db))

    async def _fetch(self, source: PaperSource, state: SourceState, now: datetime) -> FetchResult:
        return await source.fetch(state.validators, now=now, since=state.last_success_at, watermark=state.watermark)
