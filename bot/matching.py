"""Topic matching for one poll, as a percolator: new papers are matched against stored queries.

Cost grows with the new papers and the queries that *could* match them, not with every subscription:
1. the poll's papers go into a temporary FTS5 table with the archive's tokenizer;
2. its vocabulary (``fts5vocab``, one grouped read) gives each stem's papers; only queries
   anchored on one of those stems are candidates (``bot.db.queries``);
3. each candidate is evaluated with set operations on those stems; phrases, which sets cannot decide
   (adjacency, order, one column), are run by FTS5 itself on the batch table, each distinct phrase once and
   all of them in one statement.
Because step 2 only ever *narrows* which queries step 3 looks at, and step 3 uses FTS5's own tokens and
FTS5's own phrase matching, a topic matches exactly the papers ``/search`` would find among them (a
property test in ``tests/test_matching.py`` checks this against FTS5).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.db.queries import QueryRepository
from bot.tasks import Slices, without_cycle_collection

log = logging.getLogger(__name__)


@dataclass
class MatchStats:
    papers: int = 0
    stems: int = 0
    candidates: int = 0
    phrase_queries: int = 0  # candidates with a phrase the batch may contain
    distinct_phrases: int = 0  # phrases FTS5 decided for them, once each
    pairs: int = 0


class BatchIndex:
    """The batch as FTS5 sees it: the papers holding each stem, and those matching each candidate phrase."""

    def __init__(self, docs: dict[str, set[int]], phrases: dict[str, set[int]] | None = None) -> None:
        self.docs = docs
        self.phrases = phrases or {}  # stems joined by spaces -> papers where FTS5 matches the phrase

    def term(self, stems: Sequence[str]) -> set[int]:
        """Papers matching one term: a single stem, or a phrase decided beforehand by FTS5."""
        if not stems:
            return set()  # FTS5 matches nothing for a term without tokens
        if len(stems) == 1:
            return self.docs.get(stems[0], set())
        # Absent: some stem of the phrase is not in the batch, so nothing matches it.
        return self.phrases.get(" ".join(stems), set())


def evaluate(plan: dict[str, Any], batch: BatchIndex) -> set[int]:
    """The papers of ``batch`` that match ``plan`` (a stored query's stemmed groups and exclusions)."""
    result: set[int] | None = None
    for group in plan["groups"]:
        found: set[int] = set()
        for term in group:
            found |= batch.term(term)
        result = found if result is None else result & found
        if not result:
            return set()
    if result is None:
        return set()
    for term in plan["excluded"]:
        if term:
            result = result - batch.term(term)
    return result


def batch_phrases(plan: dict[str, Any], docs: dict[str, set[int]]) -> dict[str, str]:
    """``plan``'s phrases (stem key -> FTS5 text) that the batch may contain: all their stems occur in it."""
    return {key: text for key, text in plan["phrases"].items() if all(stem in docs for stem in key.split(" "))}


async def match(conn: aiosqlite.Connection, queries: QueryRepository) -> MatchStats:
    """Fill ``temp.match_pairs`` with (query id, paper pk) for the papers of the prepared batch.

    The Python part (decoding the candidates' plans, the set algebra) takes seconds at 100k topics. It runs on the
    event loop in slices (``bot.tasks.Slices``) with the cycle collector held off, so interactions are answered
    meanwhile. (A worker thread was measured first: contending with it for the GIL, commands' database calls still
    waited 0.5 s at a time; docs/benchmarks.md, "Deciding outside the write lock".)
    """
    stats = MatchStats()
    # The batch's stems and the decoded plans: hundreds of thousands of containers, none of them in a cycle.
    with without_cycle_collection():
        docs = await queries.batch_stems(conn)
        stats.stems = len(docs)
        if not docs:
            return stats
        rows = await queries.candidates(conn, list(docs))
        slices = Slices()
        plans: list[tuple[int, dict[str, Any]]] = []
        needed: dict[str, str] = {}
        for query_id, text in rows:
            plan = json.loads(text)
            plans.append((query_id, plan))
            phrases = batch_phrases(plan, docs)
            stats.phrase_queries += bool(phrases)
            needed.update(phrases)
            await slices.pause()
        stats.candidates = len(plans)
        keys = list(needed)
        phrase_docs: dict[str, set[int]] = {key: set() for key in keys}
        if keys:
            for index, pk in await queries.batch_phrases(conn, [needed[key] for key in keys]):
                phrase_docs[keys[index]].add(pk)
        batch = BatchIndex(docs, phrase_docs)
        matches: list[tuple[int, str]] = []
        for query_id, plan in plans:
            found = evaluate(plan, batch)
            if found:
                matches.append((query_id, json.dumps(list(found))))
                stats.pairs += len(found)
            await slices.pause()
        del rows, plans, batch, phrase_docs, docs  # freed here, by reference counting, before the collector runs
    await queries.add_matches(conn, matches)
    stats.distinct_phrases = len(keys)
    return stats
