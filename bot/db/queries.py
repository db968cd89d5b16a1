"""SQL for the percolator: stored topic/feed queries and the stems that index them.

A query is indexed by one *anchor* stem per term of its most selective group: every group must match, so a
paper that matches the query contains all the stems of at least one term of that group, and therefore that
term's anchor. A poll then only evaluates queries anchored on a stem the new papers contain, instead of
every subscription. Stems come from SQLite's own tokenizer (a temporary FTS5 table with the same settings as
``papers_fts``), so they agree with what ``/search`` matches, by construction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import aiosqlite

from bot.db.migrations import TOKENIZER
from bot.query import Query, parse_query
from bot.tasks import Slices

if TYPE_CHECKING:
    from bot.db import Database

Stems = list[str]

# Document frequencies only rank a term's stems (the rarest becomes the anchor; any stem of the term is a
# correct anchor), so a value some minutes old is as good as a fresh one. Reading one walks the stem's whole
# list of papers: 20-65 ms for a common stem at 1M papers, paid again by every chunk of a 100k-topic rebuild.
FREQUENCY_TTL_SECONDS = 600.0
FREQUENCY_MAX_STEMS = 200_000


class FrequencyCache:
    """Document frequencies already read, dropped all at once when older than the TTL or too many."""

    def __init__(self, ttl: float = FREQUENCY_TTL_SECONDS, max_stems: int = FREQUENCY_MAX_STEMS) -> None:
        self.ttl = ttl
        self.max_stems = max_stems
        self.values: dict[str, int] = {}
        self._since = time.monotonic()

    def fresh(self) -> dict[str, int]:
        if time.monotonic() - self._since > self.ttl or len(self.values) > self.max_stems:
            self.values = {}
            self._since = time.monotonic()
        return self.values


async def _ensure_stemmer(conn: aiosqlite.Connection) -> None:
    await conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.stemmer USING fts5 (t, tokenize = '{TOKENIZER}')")
    await conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.stemmer_vocab USING fts5vocab (temp, stemmer, instance)"
    )
    await conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.papers_vocab USING fts5vocab (main, papers_fts, row)")


async def stem_texts(conn: aiosqlite.Connection, texts: Sequence[str]) -> list[Stems]:
    """Each text's tokens as papers_fts stores them (case-folded, accents removed, porter-stemmed)."""
    await _ensure_stemmer(conn)
    await conn.execute("DELETE FROM temp.stemmer")
    await conn.executemany(
        "INSERT INTO temp.stemmer (rowid, t) VALUES (?, ?)", [(index + 1, text) for index, text in enumerate(texts)]
    )
    stems: list[Stems] = [[] for _ in texts]
    async with conn.execute('SELECT doc, term FROM temp.stemmer_vocab ORDER BY doc, "offset"') as cursor:
        async for row in cursor:
            stems[row[0] - 1].append(row[1])
    await conn.execute("DELETE FROM temp.stemmer")
    return stems


async def _document_frequency(
    conn: aiosqlite.Connection, stems: set[str], known: dict[str, int] | None = None
) -> dict[str, int]:
    """Papers holding each stem; ``known`` values are used as they are, and what is read is added to it."""
    frequency: dict[str, int] = {stem: known[stem] for stem in stems if known is not None and stem in known}
    for stem in stems - frequency.keys():
        async with conn.execute("SELECT doc FROM temp.papers_vocab WHERE term = ?", (stem,)) as cursor:
            row = await cursor.fetchone()
        frequency[stem] = int(row[0]) if row else 0
        if known is not None:
            known[stem] = frequency[stem]
    return frequency


async def build_plan(conn: aiosqlite.Connection, query: Query) -> tuple[dict[str, Any], list[str]]:
    """The stemmed form of ``query`` and its anchor stems (empty when the query can never match)."""
    return (await build_plans(conn, [query]))[0]


async def build_plans(
    conn: aiosqlite.Connection, queries: Sequence[Query], frequencies: dict[str, int] | None = None
) -> list[tuple[dict[str, Any], list[str]]]:
    """:func:`build_plan` for many queries at once: one pass of the stemmer and one document-frequency lookup per
    distinct stem for all of them (the per-query round trips were most of the 5.9 ms a topic cost at start-up),
    none for a stem already in ``frequencies`` (see :class:`FrequencyCache`)."""
    texts: list[str] = []
    for query in queries:
        texts += [" ".join(term.tokens) for term in query.terms] + [" ".join(term.tokens) for term in query.excluded]
    stemmed_all = await stem_texts(conn, texts) if texts else []
    frequency = await _document_frequency(conn, {stem for term in stemmed_all for stem in term}, frequencies)
    plans = []
    offset = 0
    for query in queries:
        size = len(query.terms) + len(query.excluded)
        plans.append(_plan(query, stemmed_all[offset : offset + size], frequency))
        offset += size
    return plans


def _plan(query: Query, stemmed: list[Stems], frequency: dict[str, int]) -> tuple[dict[str, Any], list[str]]:
    groups: list[list[Stems]] = []
    position = 0
    for group in query.groups:
        groups.append(stemmed[position : position + len(group)])
        position += len(group)
    excluded = stemmed[position:]
    # FTS5 decides phrases (adjacency, order, one column) for the matcher; keyed by stems, since two phrases
    # with the same stems match the same papers.
    phrases = {
        " ".join(stems): term.fts()
        for term, stems in zip([*query.terms, *query.excluded], stemmed, strict=True)
        if len(stems) > 1
    }

    def best_stem(term: Stems) -> str | None:
        # The rarest stem in the archive; the longest breaks ties (a better guess while the archive is empty).
        return min(term, key=lambda stem: (frequency.get(stem, 0), -len(stem), stem)) if term else None

    best: list[str] | None = None
    best_cost = 0
    for stem_group in groups:
        anchors = [stem for stem in (best_stem(term) for term in stem_group) if stem is not None]
        if not anchors:
            # No term of this group has a token: it matches nothing, so neither does the query.
            return {"groups": groups, "excluded": excluded, "phrases": phrases}, []
        cost = sum(frequency.get(stem, 0) for stem in anchors) * 1000 - sum(len(stem) for stem in anchors)
        if best is None or cost < best_cost:
            best, best_cost = anchors, cost
    return {"groups": groups, "excluded": excluded, "phrases": phrases}, sorted(set(best or []))


class QueryRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.frequencies = FrequencyCache()

    async def ensure(self, conn: aiosqlite.Connection, query: Query) -> int:
        """The id of ``query``'s stored, indexed form (created on first use, shared by equal queries)."""
        return (await self.ensure_many(conn, [query]))[0]

    async def ensure_many(self, conn: aiosqlite.Connection, queries: Sequence[Query]) -> list[int]:
        """:meth:`ensure` for many queries, with the plans of the new ones built in one pass."""
        ids: dict[str, int] = {}
        canonicals = [query.canonical() for query in queries]
        async with conn.execute(
            "SELECT id, canonical FROM queries WHERE canonical IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(set(canonicals))),),
        ) as cursor:
            for row in await cursor.fetchall():
                ids[str(row[1])] = int(row[0])
        new = list(
            {
                canonical: query for canonical, query in zip(canonicals, queries, strict=True) if canonical not in ids
            }.items()
        )
        plans = await build_plans(conn, [query for _, query in new], self.frequencies.fresh())
        for (canonical, query), (plan, anchors) in zip(new, plans, strict=True):
            async with conn.execute(
                "INSERT INTO queries (canonical, fts, plan) VALUES (?, ?, ?) RETURNING id",
                (canonical, query.fts(), json.dumps(plan, separators=(",", ":"))),
            ) as cursor:
                inserted = await cursor.fetchone()
            assert inserted is not None
            ids[canonical] = query_id = int(inserted[0])
            await conn.executemany(
                "INSERT OR IGNORE INTO query_anchors (stem, query_id) VALUES (?, ?)", [(s, query_id) for s in anchors]
            )
        return [ids[canonical] for canonical in canonicals]

    async def collect_garbage(self, conn: aiosqlite.Connection) -> int:
        """Drop queries no topic or feed uses any more (their anchors go with them)."""
        async with conn.execute(
            "DELETE FROM queries WHERE id NOT IN (SELECT query_id FROM topics WHERE query_id IS NOT NULL) "
            "AND id NOT IN (SELECT query_id FROM feeds WHERE query_id IS NOT NULL) RETURNING id"
        ) as cursor:
            return len(list(await cursor.fetchall()))

    async def index_unindexed(self, conn: aiosqlite.Connection, limit: int | None = None) -> int:
        """Bring stored queries up to date: index topics and feeds stored before the percolator existed
        (schema 2), and rebuild plans written before they named their phrases' FTS5 text. At most ``limit``
        of them per call (``bot.plans`` calls it in short transactions until it returns less than that)."""
        cap = -1 if limit is None else int(limit)
        async with conn.execute(
            "SELECT id, canonical FROM queries WHERE json_type(plan, '$.phrases') IS NULL LIMIT ?", (cap,)
        ) as cursor:
            outdated = list(await cursor.fetchall())
        plans = await build_plans(conn, [parse_query(canonical) for _, canonical in outdated], self.frequencies.fresh())
        for (query_id, _), (plan, anchors) in zip(outdated, plans, strict=True):
            await conn.execute(
                "UPDATE queries SET plan = ? WHERE id = ?", (json.dumps(plan, separators=(",", ":")), query_id)
            )
            await conn.execute("DELETE FROM query_anchors WHERE query_id = ?", (query_id,))
            await conn.executemany(
                "INSERT INTO query_anchors (stem, query_id) VALUES (?, ?)", [(stem, query_id) for stem in anchors]
            )
        count = len(outdated)
        for table, column in (("topics", "query"), ("feeds", "topic")):  # constants, not input
            if limit is not None and count >= limit:
                break
            async with conn.execute(
                f"SELECT id, {column} FROM {table} WHERE query_id IS NULL AND {column} IS NOT NULL LIMIT ?",
                (-1 if limit is None else limit - count,),
            ) as cursor:
                unindexed = list(await cursor.fetchall())
            query_ids = await self.ensure_many(conn, [parse_query(text) for _, text in unindexed])
            await conn.executemany(
                f"UPDATE {table} SET query_id = ? WHERE id = ?",
                [(query_id, row_id) for (row_id, _), query_id in zip(unindexed, query_ids, strict=True)],
            )
            count += len(unindexed)
        return count

    async def candidates(self, conn: aiosqlite.Connection, stems: Sequence[str]) -> list[tuple[int, str]]:
        """(id, plan) of every query in use anchored on one of ``stems``."""
        async with conn.execute(
            "SELECT q.id, q.plan FROM queries q WHERE q.id IN ("
            "  SELECT a.query_id FROM json_each(?) j JOIN query_anchors a ON a.stem = j.value)",
            (json.dumps(list(stems)),),
        ) as cursor:
            return [(int(row[0]), row[1]) for row in await cursor.fetchall()]

    # --- the batch being decided, in temporary tables of its session (bot.delivery.deciding) ---------

    async def prepare_batch(self, conn: aiosqlite.Connection, paper_pks: Sequence[int]) -> None:
        """Load the papers to match into ``temp.batch_papers`` and the FTS5 table ``temp.batch_fts``."""
        await conn.execute("CREATE TEMP TABLE IF NOT EXISTS batch_papers (pk INTEGER PRIMARY KEY)")
        await conn.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.batch_fts USING fts5 "
            f"(title, abstract, authors, keywords, tokenize = '{TOKENIZER}')"
        )
        await conn.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.batch_vocab USING fts5vocab (temp, batch_fts, instance)"
        )
        await conn.execute("CREATE TEMP TABLE IF NOT EXISTS match_pairs (query_id INTEGER, paper_pk INTEGER)")
        await self.clear_batch(conn)
        await conn.executemany("INSERT OR IGNORE INTO temp.batch_papers (pk) VALUES (?)", [(pk,) for pk in paper_pks])
        await conn.execute(
            "INSERT INTO temp.batch_fts (rowid, title, abstract, authors, keywords) "
            # CROSS JOIN keeps the batch as the outer loop: left to the planner, it scanned every paper of the
            # archive (1.3 s at 1M papers) instead of looking up the batch's 1,000.
            "SELECT p.pk, p.title, p.abstract, p.authors, p.keywords FROM temp.batch_papers b "
            "CROSS JOIN papers p ON p.pk = b.pk"
        )

    async def clear_batch(self, conn: aiosqlite.Connection) -> None:
        await conn.execute("DELETE FROM temp.batch_papers")
        await conn.execute("DELETE FROM temp.batch_fts")
        await conn.execute("DELETE FROM temp.match_pairs")

    async def batch_stems(self, conn: aiosqlite.Connection) -> dict[str, set[int]]:
        """Each stem of the batch and the papers (pks) containing it.

        Grouped in SQLite: one row per stem instead of one per token (about 250 per paper), which is what
        made this read the slowest step of a poll (see docs/benchmarks.md).
        """
        async with conn.execute(
            "SELECT term, group_concat(DISTINCT doc) FROM temp.batch_vocab GROUP BY term"
        ) as cursor:
            rows = await cursor.fetchall()
        stems: dict[str, set[int]] = {}
        slices = Slices()  # ~25k stems in a 1,000-paper batch: the event loop answers meanwhile
        for term, docs in rows:
            stems[term] = {int(doc) for doc in docs.split(",")}
            await slices.pause()
        return stems

    async def batch_phrases(self, conn: aiosqlite.Connection, phrases: Sequence[str]) -> list[tuple[int, int]]:
        """(index in ``phrases``, paper pk) for each FTS5 phrase expression and batch paper it matches.

        One statement for all of a poll's distinct phrases: FTS5 runs each as a MATCH against the batch table,
        so adjacency, order and columns are decided exactly as ``/search`` decides them.
        """
        async with conn.execute(
            "SELECT j.key, batch_fts.rowid FROM json_each(?) j JOIN temp.batch_fts ON batch_fts MATCH j.value",
            (json.dumps(list(phrases)),),
        ) as cursor:
            return [(int(row[0]), int(row[1])) for row in await cursor.fetchall()]

    async def add_matches(self, conn: aiosqlite.Connection, matches: Sequence[tuple[int, str]]) -> None:
        """Store each query's matching papers (pks as a JSON array) as pairs; expanded by SQLite (json_each), since
        a large poll yields millions of pairs and binding each from Python costs more than all of the matching."""
        await conn.executemany(
            "INSERT INTO temp.match_pairs (query_id, paper_pk) SELECT ?, value FROM json_each(?)", matches
        )
