"""SQL for papers: batch upsert with merge, lookups, full-text search and trending."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import aiosqlite

from bot.models import Paper, Source

if TYPE_CHECKING:
    from bot.db import Database

SortOrder = Literal["relevance", "newest", "upvotes"]

# Column weights for BM25: a word in the title says far more about a paper than one in the abstract.
BM25_WEIGHTS = (10.0, 1.0, 3.0, 5.0)  # title, abstract, authors, keywords
# Relevance ranks at most this many of the newest matches (docs/benchmarks.md, "Search that understands
# questions"): a common word's top page comes from its 5,000 most recent papers, in bounded time.
RELEVANCE_WINDOW = 5_000
# Newest-first and most-upvoted-first for a query with at least this many matches walk the sort column's index
# in chunks and keep each chunk's matching papers, instead of joining and sorting every match (3.4 s at 1M).
SORTED_WALK_MATCHES = 5_000
# Chunk sizes of that walk: a common word fills a page from the first few hundred papers; after the last
# chunk the matches are too rare near the top of the order, and every match is sorted after all.
SORTED_CHUNKS = (500, 5_000, 50_000)
UPVOTED_CANDIDATES = 50_000  # an upvote floor this selective is searched from the upvotes index
_SORT_COLUMN = {"newest": "listed_at", "upvotes": "upvotes"}

_COLUMNS = (
    "arxiv_id",
    "title",
    "abstract",
    "authors",
    "keywords",
    "ai_summary",
    "upvotes",
    "num_comments",
    "github_repo",
    "github_stars",
    "project_page",
    "organization",
    "thumbnail",
    "categories",
    "published_at",
    "listed_at",
    "sources",
)
_SELECT = ", ".join(f"p.{name}" for name in _COLUMNS)
# A whole batch is upserted in ONE statement, from rows staged in a temporary table. FTS5 flushes its pending
# terms into a new index segment at every statement's savepoint and whenever a rowid arrives out of order: one
# statement per paper wrote one segment per paper (about 100 per poll, each flush paying for merge work inside
# the poll's transaction). One statement with rows in rowid order writes one segment per batch, and staging
# keeps the statement's text fixed (no bound-variable limit, one prepared statement).
_ROW = (*_COLUMNS, "first_seen_at", "updated_at")
_STAGING = f"CREATE TEMP TABLE IF NOT EXISTS paper_upserts (seq INTEGER PRIMARY KEY, {', '.join(_ROW)})"
_STAGE = f"INSERT INTO temp.paper_upserts ({', '.join(_ROW)}) VALUES ({', '.join('?' for _ in _ROW)})"
_UPSERT = (
    f"INSERT INTO papers ({', '.join(_ROW)}) SELECT {', '.join(_ROW)} FROM temp.paper_upserts "
    "WHERE true ORDER BY seq "  # WHERE: SQLite's rule for an upsert from a SELECT
    "ON CONFLICT (arxiv_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _COLUMNS[1:])
    + ", updated_at = excluded.updated_at"
)
# SQLite's default limit on bound variables is generous, but json_each keeps one parameter per query.
_CHUNK = 5_000


@dataclass
class StoreResult:
    new: list[Paper] = field(default_factory=list)
    updated: list[Paper] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> list[Paper]:
        return [*self.new, *self.updated]


def _epoch(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _datetime(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _lines(values: Sequence[str]) -> str:
    return "\n".join(values)


def to_row(paper: Paper) -> tuple[object, ...]:
    return (
        paper.id,
        paper.title,
        paper.abstract,
        _lines(paper.authors),
        _lines(paper.keywords),
        paper.ai_summary,
        paper.upvotes,
        paper.num_comments,
        paper.github_repo,
        paper.github_stars,
        paper.project_page,
        paper.organization,
        paper.thumbnail,
        " ".join(paper.categories),
        _epoch(paper.published_at),
        _epoch(paper.listed_at),
        int(paper.sources),
    )


def from_row(row: sqlite3.Row) -> Paper:
    return Paper(
        id=row["arxiv_id"],
        title=row["title"],
        abstract=row["abstract"],
        authors=row["authors"].split("\n") if row["authors"] else [],
        keywords=row["keywords"].split("\n") if row["keywords"] else [],
        ai_summary=row["ai_summary"],
        upvotes=row["upvotes"],
        num_comments=row["num_comments"],
        github_repo=row["github_repo"],
        github_stars=row["github_stars"],
        project_page=row["project_page"],
        organization=row["organization"],
        thumbnail=row["thumbnail"],
        categories=row["categories"].split() if row["categories"] else [],
        published_at=_datetime(row["published_at"]),
        listed_at=_datetime(row["listed_at"]),
        sources=Source(row["sources"]),
    )


@dataclass(frozen=True)
class SearchFilters:
    since: datetime | None = None
    min_upvotes: int | None = None
    source: Source | None = None

    def sql(self) -> tuple[str, list[object]]:
        clauses: list[str] = []
        params: list[object] = []
        if self.since is not None:
            clauses.append("p.listed_at >= ?")
            params.append(_epoch(self.since))
        if self.min_upvotes is not None:
            clauses.append("COALESCE(p.upvotes, 0) >= ?")
            params.append(self.min_upvotes)
        if self.source is not None:
            clauses.append("(p.sources & ?) != 0")
            params.append(int(self.source))
        return "".join(f" AND {clause}" for clause in clauses), params


# Ties go to the most recently added paper, the order the index walk of ``_sorted_walk`` gives (NULLs last).
_ORDER = {
    "newest": "p.listed_at DESC, p.pk DESC",
    "upvotes": "p.upvotes DESC, p.pk DESC",
}


class PaperRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert(self, conn: aiosqlite.Connection, papers: Sequence[Paper]) -> StoreResult:
        """Merge ``papers`` into the table inside the caller's transaction; report what changed.

        Callers pass one record per id (see ``bot.sources.hf.dedupe``); later duplicates win.
        """
        result = StoreResult()
        now = int(time.time())
        for start in range(0, len(papers), _CHUNK):
            chunk = papers[start : start + _CHUNK]
            ids = json.dumps([paper.id for paper in chunk])
            async with conn.execute(
                f"SELECT p.pk, {_SELECT} FROM papers p WHERE p.arxiv_id IN (SELECT value FROM json_each(?))", (ids,)
            ) as cursor:
                found = await cursor.fetchall()
            existing = {row["arxiv_id"]: from_row(row) for row in found}
            pks: dict[str, int] = {row["arxiv_id"]: row["pk"] for row in found}
            # One row per paper (a later record of the same id replaces the earlier row), keyed so stored
            # papers come first in rowid order and new ones after them, in arrival order (their rowids follow).
            rows: dict[str, tuple[tuple[int, int], tuple[object, ...]]] = {}
            for index, paper in enumerate(chunk):
                old = existing.get(paper.id)
                if old is None:
                    result.new.append(paper)
                    existing[paper.id] = paper
                    rows[paper.id] = ((1, index), (*to_row(paper), now, now))
                    continue
                merged = old.merge(paper)
                if merged == old:
                    result.unchanged += 1
                    continue
                result.updated.append(merged)
                existing[paper.id] = merged
                key = (0, pks[paper.id]) if paper.id in pks else rows[paper.id][0]
                rows[paper.id] = (key, (*to_row(merged), now, now))
            if rows:
                await conn.execute(_STAGING)
                await conn.execute("DELETE FROM temp.paper_upserts")
                await conn.executemany(_STAGE, [row for _, row in sorted(rows.values(), key=lambda item: item[0])])
                await conn.execute(_UPSERT)
                await conn.execute("DELETE FROM temp.paper_upserts")
        return result

    async def get(self, paper_id: str) -> Paper | None:
        row = await self.db.fetchone(f"SELECT {_SELECT} FROM papers p WHERE p.arxiv_id = ?", (paper_id,))
        return None if row is None else from_row(row)

    async def get_many(self, paper_ids: Sequence[str]) -> dict[str, Paper]:
        rows = await self.db.fetchall(
            f"SELECT {_SELECT} FROM papers p WHERE p.arxiv_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(paper_ids)),),
        )
        return {row["arxiv_id"]: from_row(row) for row in rows}

    async def by_pks(self, pks: Sequence[int]) -> dict[int, Paper]:
        """Papers by primary key (what the semantic index returns)."""
        rows = await self.db.fetchall(
            f"SELECT p.pk, {_SELECT} FROM papers p WHERE p.pk IN (SELECT value FROM json_each(?))",
            (json.dumps(list(pks)),),
        )
        return {int(row["pk"]): from_row(row) for row in rows}

    async def count(self) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM papers") or 0)

    async def search(
        self,
        fts_query: str,
        *,
        sort: SortOrder = "relevance",
        filters: SearchFilters | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[Paper]:
        """Papers matching an FTS5 expression built by ``bot.query`` (never raw user text)."""
        filters = filters or SearchFilters()
        if sort == "relevance":
            return await self._relevance(fts_query, filters, limit, offset)
        if await self._matches_at_least(fts_query, SORTED_WALK_MATCHES):
            walked = await self._sorted_walk(fts_query, sort, filters, limit, offset)
            if walked is not None:
                return walked
        where, params = filters.sql()
        rows = await self.db.fetchall(
            f"SELECT {_SELECT} FROM papers_fts JOIN papers p ON p.pk = papers_fts.rowid "
            f"WHERE papers_fts MATCH ?{where} ORDER BY {_ORDER[sort]} LIMIT ? OFFSET ?",
            (fts_query, *params, limit, offset),
        )
        return [from_row(row) for row in rows]

    async def _relevance(self, fts_query: str, filters: SearchFilters, limit: int, offset: int) -> list[Paper]:
        """BM25 order among the newest ``RELEVANCE_WINDOW`` matches that pass the filters.

        FTS5 reads matches newest first and stops at the window, where ORDER BY bm25() scored every paper holding
        a common word (826 ms at 1M). Ranking happens inside the index; only the page is joined to papers.
        A period becomes a row id range too (exact: the period's smallest and largest pk), so a week's search
        does not walk four years of matches.
        """
        where, params = filters.sql()
        weights = ", ".join(str(weight) for weight in BM25_WEIGHTS)
        source = "papers_fts JOIN papers p ON p.pk = papers_fts.rowid" if where else "papers_fts"
        period = await self._period_bounds(filters)
        if period is None:
            return []
        bounds, params = period[0], [*period[1], *params]
        candidates = await self._upvoted(filters)
        if candidates is not None:
            # Few papers pass: FTS5 keeps the matches among them (no join per match to test the filter).
            source, where = "papers_fts", ""
            bounds = " AND papers_fts.rowid BETWEEN ? AND ? AND +papers_fts.rowid IN (SELECT value FROM json_each(?))"
            params = [min(candidates, default=0), max(candidates, default=0), json.dumps(candidates)]
        rows = await self.db.fetchall(
            f"SELECT {_SELECT}, m.score FROM ("
            f"  SELECT pk, score FROM ("
            f"    SELECT papers_fts.rowid AS pk, bm25(papers_fts, {weights}) AS score FROM {source} "
            f"    WHERE papers_fts MATCH ?{bounds}{where} ORDER BY papers_fts.rowid DESC LIMIT {int(RELEVANCE_WINDOW)}"
            "  ) ORDER BY score, pk DESC LIMIT ? OFFSET ?"
            ") m JOIN papers p ON p.pk = m.pk ORDER BY m.score, m.pk DESC",
            (fts_query, *params, limit, offset),
        )
        return [from_row(row) for row in rows]

    async def _upvoted(self, filters: SearchFilters) -> list[int] | None:
        """Every paper passing ``filters`` when an upvote floor leaves at most ``UPVOTED_CANDIDATES`` (from the
        upvotes index); None otherwise. A floor of 10 keeps about 1% of the archive, and walking a common word's
        matches newest first to find 5,000 of those joined most of the archive (1.1 s at 1M)."""
        if filters.min_upvotes is None or filters.min_upvotes <= 0:
            return None
        where, params = filters.sql()
        rows = await self.db.fetchall(
            f"SELECT p.pk FROM papers p WHERE p.upvotes >= ?{where} LIMIT ?",
            (filters.min_upvotes, *params, UPVOTED_CANDIDATES + 1),
        )
        return None if len(rows) > UPVOTED_CANDIDATES else [int(row[0]) for row in rows]

    async def _matches_at_least(self, fts_query: str, count: int) -> bool:
        found = await self.db.fetchval(
            "SELECT COUNT(*) FROM (SELECT 1 FROM papers_fts WHERE papers_fts MATCH ? LIMIT ?)", (fts_query, count)
        )
        return int(found or 0) >= count

    async def _sorted_walk(
        self, fts_query: str, sort: SortOrder, filters: SearchFilters, limit: int, offset: int
    ) -> list[Paper] | None:
        """A page in ``_ORDER[sort]``, walking that column's index in chunks; None when the walk gives up.

        Each chunk is the next papers in the order (the index alone, ``SORTED_CHUNKS`` growing sizes); FTS5 then
        reads the query's matches in the chunk's pk range, one pass, and keeps the chunk's own. Exact: a paper
        further down the order can never come before one already found. Gives up (the caller sorts every match)
        after the last chunk, or when the papers without a value (NULLs, last) would be reached.
        """
        column = _SORT_COLUMN[sort]
        where, params = filters.sql()
        wanted = offset + limit
        found: list[int] = []
        after: list[object] = []
        for size in SORTED_CHUNKS:
            keyset = f" AND (p.{column}, p.pk) < (?, ?)" if after else ""
            chunk = await self.db.fetchall(
                f"SELECT p.pk, p.{column} FROM papers p WHERE p.{column} IS NOT NULL{where}{keyset} "
                f"ORDER BY p.{column} DESC, p.pk DESC LIMIT ?",
                (*params, *after, size),
            )
            if not chunk:
                return None
            pks = [int(row[0]) for row in chunk]
            # The unary + keeps the IN list out of FTS5 (one lookup per pk is ~100 us); the range bounds the read.
            rows = await self.db.fetchall(
                "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? AND rowid BETWEEN ? AND ? "
                "AND +rowid IN (SELECT value FROM json_each(?))",
                (fts_query, min(pks), max(pks), json.dumps(pks)),
            )
            matched = {int(row[0]) for row in rows}
            found += [pk for pk in pks if pk in matched]
            if len(found) >= wanted:
                return await self.in_order(found[offset:wanted])
            if len(chunk) < size:
                return None
            after = [chunk[-1][1], chunk[-1][0]]
        return None

    async def _period_bounds(self, filters: SearchFilters) -> tuple[str, list[object]] | None:
        """A row id range for FTS5 holding every paper of the filter's period (its smallest and largest pk), so a
        period's search reads only that part of each doclist; ("", []) without a period, None when it is empty."""
        if filters.since is None:
            return "", []
        row = await self.db.fetchone(
            "SELECT MIN(pk), MAX(pk) FROM papers WHERE listed_at >= ?", (_epoch(filters.since),)
        )
        if row is None or row[0] is None:
            return None
        return " AND papers_fts.rowid BETWEEN ? AND ?", [int(row[0]), int(row[1])]

    async def count_matches(self, fts_query: str, filters: SearchFilters | None = None) -> int:
        filters = filters or SearchFilters()
        period = await self._period_bounds(filters)
        if period is None:
            return 0
        where, params = filters.sql()
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM papers_fts JOIN papers p ON p.pk = papers_fts.rowid "
                f"WHERE papers_fts MATCH ?{period[0]}{where}",
                (fts_query, *period[1], *params),
            )
            or 0
        )

    async def latest_listed_at(self) -> datetime | None:
        return _datetime(await self.db.fetchval("SELECT MAX(listed_at) FROM papers"))

    async def top(self, *, filters: SearchFilters, limit: int = 10, offset: int = 0) -> list[Paper]:
        """The most upvoted papers under ``filters`` (``/trending``)."""
        where, params = filters.sql()
        rows = await self.db.fetchall(
            f"SELECT {_SELECT} FROM papers p WHERE p.upvotes IS NOT NULL{where} "
            "ORDER BY p.upvotes DESC, p.listed_at DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [from_row(row) for row in rows]

    async def timeline(self, paper_id: str) -> tuple[int, int] | None:
        """(when the paper counts as recent, when we first saw it), epoch seconds; None when not archived.

        The first is the outbox's ``PAPER_TIME``: the clock every eligibility and baseline rule runs on.
        """
        row = await self.db.fetchone(
            "SELECT COALESCE(p.listed_at, p.published_at, p.first_seen_at) AS at, p.first_seen_at AS seen "
            "FROM papers p WHERE p.arxiv_id = ?",
            (paper_id,),
        )
        return None if row is None else (int(row["at"]), int(row["seen"]))

    async def matches_each(self, paper_id: str, fts_queries: Sequence[str]) -> list[bool]:
        """For each FTS5 expression (built by ``bot.query``), whether it matches this one paper."""
        found = []
        for fts_query in fts_queries:
            value = await self.db.fetchval(
                "SELECT 1 FROM papers_fts WHERE papers_fts MATCH ? "
                "AND rowid = (SELECT pk FROM papers WHERE arxiv_id = ?)",
                (fts_query, paper_id),
            )
            found.append(value is not None)
        return found

    # --- The relaxed reading of a question (bot.relaxed): bounded work whatever the archive's size. ---

    async def postings(self, fts_term: str, cap: int) -> list[int]:
        """Row ids of papers holding one quoted term, at most ``cap + 1`` (so ``len > cap`` means "common")."""
        rows = await self.db.fetchall(
            "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? LIMIT ?", (fts_term, cap + 1)
        )
        return [int(row[0]) for row in rows]

    async def frequency(self, fts_term: str, cap: int) -> int:
        """How many papers hold one quoted term, counting no further than ``cap + 1`` (rows stay inside SQLite)."""
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM (SELECT 1 FROM papers_fts WHERE papers_fts MATCH ? LIMIT ?)", (fts_term, cap + 1)
            )
            or 0
        )

    async def rank_any(self, fts_query: str, limit: int) -> list[tuple[int, float]]:
        """(pk, bm25) of the best papers for an OR of rare terms; callers bound the matches by document frequency."""
        weights = ", ".join(str(weight) for weight in BM25_WEIGHTS)
        rows = await self.db.fetchall(
            f"SELECT rowid, bm25(papers_fts, {weights}) AS score FROM papers_fts "
            "WHERE papers_fts MATCH ? ORDER BY score, rowid DESC LIMIT ?",
            (fts_query, limit),
        )
        return [(int(row[0]), float(row[1])) for row in rows]

    async def strict_count(self, fts_query: str, filters: SearchFilters, cap: int) -> int:
        """How many papers match, counting no further than ``cap`` (a common AND must not count the archive).

        A period bounds the read to its row ids: without that, a week's search walked every older match first.
        """
        period = await self._period_bounds(filters)
        if period is None:
            return 0
        where, params = filters.sql()
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM (SELECT 1 FROM papers_fts JOIN papers p ON p.pk = papers_fts.rowid "
                f"WHERE papers_fts MATCH ?{period[0]}{where} LIMIT ?)",
                (fts_query, *period[1], *params, cap),
            )
            or 0
        )

    async def strict_pks(self, fts_query: str, filters: SearchFilters, limit: int) -> list[int]:
        period = await self._period_bounds(filters)
        if period is None:
            return []
        where, params = filters.sql()
        weights = ", ".join(str(weight) for weight in BM25_WEIGHTS)
        rows = await self.db.fetchall(
            f"SELECT p.pk, bm25(papers_fts, {weights}) AS score FROM papers_fts JOIN papers p "
            f"ON p.pk = papers_fts.rowid WHERE papers_fts MATCH ?{period[0]}{where} ORDER BY score, p.pk DESC LIMIT ?",
            (fts_query, *period[1], *params, limit),
        )
        return [int(row[0]) for row in rows]

    async def filter_keys(self, pks: Sequence[int], filters: SearchFilters) -> dict[int, tuple[int, int]]:
        """For the papers among ``pks`` that pass ``filters``: pk -> (listed_at, upvotes) for sorting."""
        where, params = filters.sql()
        rows = await self.db.fetchall(
            "SELECT p.pk, COALESCE(p.listed_at, 0), COALESCE(p.upvotes, -1) FROM papers p "
            f"WHERE p.pk IN (SELECT value FROM json_each(?)){where}",
            (json.dumps(list(pks)), *params),
        )
        return {int(row[0]): (int(row[1]), int(row[2])) for row in rows}

    async def in_order(self, pks: Sequence[int]) -> list[Paper]:
        """Papers in the order of ``pks`` (a page of a ranking computed elsewhere); missing ones left out."""
        found = await self.by_pks(pks)
        return [found[pk] for pk in pks if pk in found]

    async def allowed_pks(self, filters: SearchFilters, cap: int) -> list[int] | None:
        """Every paper the filters allow, or None when more than ``cap`` do (a loose filter: callers over-fetch).

        For semantic candidates (``bot.relaxed``): the nearest papers are searched among these, so a filtered
        question gets a full page rather than the few survivors of an unfiltered top k. ``upvotes >= n`` is
        repeated without COALESCE so SQLite can use the upvotes index.
        """
        where, params = filters.sql()
        if filters.min_upvotes is not None and filters.min_upvotes > 0:
            where += " AND p.upvotes >= ?"
            params.append(filters.min_upvotes)
        rows = await self.db.fetchall(f"SELECT p.pk FROM papers p WHERE 1 = 1{where} LIMIT ?", (*params, cap + 1))
        return None if len(rows) > cap else [int(row[0]) for row in rows]

    async def frequencies(self, fts_terms: Sequence[str], cap: int) -> list[int]:
        """``frequency`` of several quoted terms in one statement (one round trip through the reader thread)."""
        if not fts_terms:
            return []
        counts = " UNION ALL ".join(
            f"SELECT {i}, (SELECT COUNT(*) FROM (SELECT 1 FROM papers_fts WHERE papers_fts MATCH ? LIMIT ?))"
            for i in range(len(fts_terms))
        )
        rows = await self.db.fetchall(counts, [value for term in fts_terms for value in (term, cap + 1)])
        found = {int(row[0]): int(row[1]) for row in rows}
        return [found[i] for i in range(len(fts_terms))]
