"""Recommendations from a member's library: the recent papers closest to what they saved (``/foryou``).

Scoring: a recent paper's score is its highest cosine similarity to any *one* saved paper, and that saved
paper is named as the reason. A centroid (the mean of the saved vectors) was the alternative; libraries
are usually several interests at once (robot grasping *and* speech models), and their mean points
between them, at papers close to none. The maximum keeps every interest, and gives each pick an honest
"close to <saved paper>" line. Only picks at or above ``SIMILARITY_FLOOR`` (bot.semantic, measured on the
seed papers) are shown: below it the nearest paper is not about the same thing, and nothing is better
than noise. The seeds are the ``MAX_SEEDS`` most recently saved papers, which bounds the work (recent
candidates x seeds dot products) and favours what the member is reading now; it runs on a worker thread.
The vectors are read from SQLite (``paper_embeddings``), the source of truth, not from the in-memory index,
which keeps only what nearest-neighbour search needs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

from bot.models import Paper
from bot.semantic import DIMENSIONS, MODEL_NAME, SIMILARITY_FLOOR, vectors

if TYPE_CHECKING:
    from bot.db import Database
    from bot.semantic import Semantic

MIN_SAVED = 3  # with fewer the "interests" are one or two papers: explain instead of guessing
COUNT = 10
MAX_SEEDS = 500
DAY = 86_400
# The periods /foryou offers (the same choices as /search): value -> days.
PERIOD_DAYS = {"today": 1, "week": 7, "month": 30}
DEFAULT_PERIOD = "week"
_CHUNK = 4_096  # candidate rows scored at once: 4096 x 500 float32 scores is 8 MiB


class Status(Enum):
    OK = "ok"
    TOO_FEW = "too_few"  # fewer than MIN_SAVED saved papers
    NO_MODEL = "no_model"  # semantic search off or still loading (``reason`` says which)
    NOT_EMBEDDED = "not_embedded"  # none of the saved papers is in the semantic index yet
    NOTHING_CLOSE = "nothing_close"  # no recent paper at or above the floor


@dataclass(frozen=True)
class Pick:
    paper: Paper
    because: Paper  # the saved paper it is closest to
    score: float


@dataclass(frozen=True)
class ForYou:
    status: Status
    period: str
    saved: int  # papers in the library
    picks: list[Pick] = field(default_factory=list)
    reason: str | None = None  # why semantic search is unavailable
    seeds_waiting: int = 0  # saved papers (of the seeds) not embedded yet
    recent: int = 0  # recent papers considered (saved ones excluded)
    recent_waiting: int = 0  # of those, not embedded yet


def decode(rows: Sequence[tuple[int, bytes]]) -> tuple[np.ndarray, np.ndarray]:
    """(pks, float32 vectors as rows) of (pk, stored vector) rows."""
    pks = np.fromiter((pk for pk, _ in rows), dtype=np.int64, count=len(rows))
    if not rows:
        return pks, np.zeros((0, DIMENSIONS), dtype=np.float32)
    codes, scales = vectors.decode([blob for _, blob in rows])
    return pks, codes.astype(np.float32) * scales[:, None]


def rank(
    candidates: Sequence[tuple[int, bytes]], seeds: Sequence[tuple[int, bytes]], *, k: int, floor: float
) -> list[tuple[int, int, float]]:
    """(candidate pk, closest seed pk, cosine) best first, at or above ``floor``; ties: the newer paper first.

    Rows are (pk, stored vector). CPU work (decoding, candidates x seeds dot products): call it on a worker
    thread. Candidates are decoded and scored a chunk at a time, so a month of papers never sits in memory
    as float32 at once.
    """
    seed_pks, seed_vectors = decode(seeds)
    if not len(seed_pks) or not candidates:
        return []
    best_pks: list[np.ndarray] = []
    best_scores: list[np.ndarray] = []
    best_seeds: list[np.ndarray] = []
    for start in range(0, len(candidates), _CHUNK):
        pks, matrix = decode(candidates[start : start + _CHUNK])
        scores = matrix @ seed_vectors.T
        closest = scores.argmax(axis=1)
        best_pks.append(pks)
        best_scores.append(scores[np.arange(len(pks)), closest])
        best_seeds.append(seed_pks[closest])
    pks, scores, closest = np.concatenate(best_pks), np.concatenate(best_scores), np.concatenate(best_seeds)
    keep = scores >= floor
    pks, scores, closest = pks[keep], scores[keep], closest[keep]
    order = np.lexsort((-pks, -scores))[:k]
    return [(int(pks[i]), int(closest[i]), float(scores[i])) for i in order]


async def obstacle(
    db: Database, semantic: Semantic | None, user_id: int, *, period: str = DEFAULT_PERIOD
) -> ForYou | None:
    """Why there can be no recommendations at all (too few saved, no model, nothing indexed), cheaply; else None.

    The command asks this before deferring, so these answers are private even when a public one was asked for.
    """
    saved = await db.library.count(user_id)
    if saved < MIN_SAVED:
        return ForYou(Status.TOO_FEW, period, saved)
    if semantic is None or not semantic.available:
        reason = "turned off" if semantic is None else semantic.reason
        return ForYou(Status.NO_MODEL, period, saved, reason=reason)
    seeds = await db.foryou.saved_recent_first(user_id, MAX_SEEDS)
    if not await db.embeddings.vectors(MODEL_NAME, seeds):
        return ForYou(Status.NOT_EMBEDDED, period, saved, seeds_waiting=len(seeds))
    return None


async def recommend(
    db: Database,
    semantic: Semantic | None,
    user_id: int,
    *,
    period: str = DEFAULT_PERIOD,
    k: int = COUNT,
    now: float | None = None,
    exclude: Collection[int] = (),
) -> ForYou:
    """Up to ``k`` papers listed in ``period`` closest to the member's library; saved ones and ``exclude`` left out."""
    blocked = await obstacle(db, semantic, user_id, period=period)
    if blocked is not None or semantic is None:
        return blocked or ForYou(Status.NO_MODEL, period, 0)
    saved = await db.library.count(user_id)
    seeds = await db.foryou.saved_recent_first(user_id, MAX_SEEDS)
    seed_rows = await db.embeddings.vectors(MODEL_NAME, seeds)
    now = time.time() if now is None else now
    since = int(now - PERIOD_DAYS.get(period, PERIOD_DAYS[DEFAULT_PERIOD]) * DAY)
    skip = await db.library.saved_pks(user_id) | set(exclude)
    candidates = [pk for pk in await db.foryou.recent_pks(since) if pk not in skip]
    candidate_rows = await db.embeddings.vectors(MODEL_NAME, candidates)
    ranked = await asyncio.to_thread(rank, candidate_rows, seed_rows, k=k, floor=SIMILARITY_FLOOR)
    papers = await db.papers.by_pks([pk for pk, _, _ in ranked] + [seed for _, seed, _ in ranked])
    picks = [Pick(papers[pk], papers[seed], score) for pk, seed, score in ranked if pk in papers and seed in papers]
    return ForYou(
        Status.OK if picks else Status.NOTHING_CLOSE,
        period,
        saved,
        picks=picks,
        seeds_waiting=len(seeds) - len(seed_rows),
        recent=len(candidates),
        recent_waiting=len(candidates) - len(candidate_rows),
    )
