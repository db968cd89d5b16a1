"""Topic matching for one poll, as a percolator: new papers are matched against stored queries.

Cost grows with the new papers and the queries that *could* match them, not with every subscription:
1. the poll's papers go into a temporary FTS5 table with the archive's tokenizer;
2. its vocabulary (``fts5vocab``) gives each stem's papers; only queries anchored on one of those stems
   are candidates (``bot.db.queries``);
3. each candidate is evaluated with set operations on those stems; phrases and excluded phrases, which
   sets cannot decide, are confirmed by running the query's own FTS5 expression on the batch table.
Because steps 2–3 only ever *narrow* what step 3's FTS5 check or the set algebra would accept, a topic
matches exactly the papers ``/search`` would find among them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.db.queries import QueryRepository

log = logging.getLogger(__name__)


@dataclass
class MatchStats:
    papers: int = 0
    stems: int = 0
    candidates: int = 0
    verified: int = 0
    pairs: int = 0


def _term_docs(term: list[str], docs: dict[str, set[int]]) -> set[int]:
    if not term:
        return set()  # FTS5 matches nothing for a term without tokens
    found = docs.get(term[0], set())
    for stem in term[1:]:
        found = found & docs.get(stem, set())
        if not found:
            break
    return found


def evaluate(plan: dict[str, Any], docs: dict[str, set[int]]) -> tuple[set[int], bool]:
    """Papers that may match ``plan``, and whether FTS5 must confirm them (phrases are order-sensitive)."""
    result: set[int] | None = None
    exact = True
    for group in plan["groups"]:
        found: set[int] = set()
        for term in group:
            found |= _term_docs(term, docs)
            exact = exact and len(term) <= 1
        result = found if result is None else result & found
        if not result:
            return set(), True
    assert result is not None
    for term in plan["excluded"]:
        if len(term) == 1:
            result = result - docs.get(term[0], set())
        elif term:
            exact = False  # excluding a phrase: only FTS5 knows whether the words are adjacent
    return result, exact


async def match(conn: aiosqlite.Connection, queries: QueryRepository) -> MatchStats:
    """Fill ``temp.match_pairs`` with (query id, paper pk) for the papers of the prepared batch."""
    stats = MatchStats()
    docs = await queries.batch_stems(conn)
    stats.stems = len(docs)
    if not docs:
        return stats
    pairs: list[tuple[int, int]] = []
    for query_id, fts, plan_json in await queries.candidates(conn, list(docs)):
        stats.candidates += 1
        found, exact = evaluate(json.loads(plan_json), docs)
        if not found:
            continue
        if not exact:
            stats.verified += 1
            found = await queries.confirm(conn, fts, sorted(found))
        pairs.extend((query_id, pk) for pk in found)
    await queries.add_matches(conn, pairs)
    stats.pairs = len(pairs)
    return stats
