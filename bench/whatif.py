"""Candidate fixes for ``PaperRepository.search``, measured by patching them in for one bench pass only.

Nothing here changes the bot: ``patched(name)`` swaps the method on the class for the duration of a ``with``
block, so ``bot.search.search`` (the real ``/search`` path) runs the candidate SQL. ``python -m bench
--what-if`` reports each candidate's latency next to the real path's, and how often its top five equal the
real path's (a candidate that changes results must say so).

(``rank-then-join``, ranking inside FTS5 alone and joining only the page to ``papers``, was measured here
and is now the real query.)

* ``newest-N``: rank by bm25 only among the N newest matches (FTS5 walks the doclist backwards by rowid and
  stops), so cost no longer grows with how common a term is. Changes results for very common queries:
  "the most relevant of the last N matching papers".
* ``window-title-N``: no bm25 at all. Take the N newest matches (FTS5 stops early on ``ORDER BY rowid DESC
  LIMIT``), put those whose title matches the query's words first (a second bounded FTS5 query with a
  ``title :`` column filter over the same rowid range), newest first. BM25's IDF needs every matching
  row counted, which is what makes common terms slow at 1M; this shows what is left without it.
  Changes results: a relevance heuristic (title hits first) rather than BM25.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from bot.db.papers import BM25_WEIGHTS, PaperRepository, SearchFilters, SortOrder, from_row
from bot.models import Paper

SearchMethod = Callable[..., Coroutine[Any, Any, list[Paper]]]
# Rows are read with the public from_row, which takes columns by name: ``p.*`` has every one it needs (plus pk
# and the timestamps, a few bytes per row on a page of ten).
_WEIGHTS = ", ".join(str(weight) for weight in BM25_WEIGHTS)


Rank = Callable[[PaperRepository, str, int, int], Coroutine[Any, Any, list[Paper]]]


def _relevance_only(rank: Rank) -> Callable[[SearchMethod], SearchMethod]:
    """A candidate for unfiltered relevance searches; everything else goes to the real method."""

    def wrap(original: SearchMethod) -> SearchMethod:
        async def search(
            self: PaperRepository,
            fts_query: str,
            *,
            sort: SortOrder = "relevance",
            filters: SearchFilters | None = None,
            limit: int = 10,
            offset: int = 0,
        ) -> list[Paper]:
            where, _params = (filters or SearchFilters()).sql()
            if sort != "relevance" or where:
                return await original(self, fts_query, sort=sort, filters=filters, limit=limit, offset=offset)
            return await rank(self, fts_query, limit, offset)

        return search

    return wrap


def _newest(window: int) -> Rank:
    async def rank(self: PaperRepository, fts_query: str, limit: int, offset: int) -> list[Paper]:
        inner = (
            f"SELECT pk, score FROM (SELECT rowid AS pk, bm25(papers_fts, {_WEIGHTS}) AS score FROM papers_fts "
            f"WHERE papers_fts MATCH ? ORDER BY rowid DESC LIMIT {int(window)}) "
            "ORDER BY score, pk DESC LIMIT ? OFFSET ?"
        )
        rows = await self.db.fetchall(
            f"SELECT p.*, m.score FROM ({inner}) m JOIN papers p ON p.pk = m.pk ORDER BY m.score, m.pk DESC",
            (fts_query, limit, offset),
        )
        return [from_row(row) for row in rows]

    return rank


def _window_title_first(window: int) -> Rank:
    async def rank(self: PaperRepository, fts_query: str, limit: int, offset: int) -> list[Paper]:
        # bot.query.Query.fts() appends exclusions as ' NOT "..."' after the groups; tokens are lower-case,
        # so ' NOT ' cannot occur inside a quoted term.
        positive, *negative = fts_query.split(" NOT ")
        title_query = f"title : ({positive})" + "".join(f" NOT {term}" for term in negative)
        candidates = [
            row[0]
            for row in await self.db.fetchall(
                "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
                (fts_query, window),
            )
        ]
        if not candidates:
            return []
        in_title = [
            row[0]
            for row in await self.db.fetchall(
                "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? AND rowid >= ? ORDER BY rowid DESC LIMIT ?",
                (title_query, candidates[-1], offset + limit),
            )
        ]
        seen = set(in_title)
        page = (in_title + [pk for pk in candidates if pk not in seen])[offset : offset + limit]
        rows = await self.db.fetchall(f"SELECT p.* FROM papers p WHERE p.pk IN ({', '.join('?' for _ in page)})", page)
        by_pk = {row["pk"]: from_row(row) for row in rows}
        return [by_pk[pk] for pk in page if pk in by_pk]

    return rank


VARIANTS: dict[str, Callable[[SearchMethod], SearchMethod]] = {
    "newest-5000": _relevance_only(_newest(5_000)),
    "newest-2000": _relevance_only(_newest(2_000)),
    "window-title-2000": _relevance_only(_window_title_first(2_000)),
}


@contextlib.contextmanager
def patched(name: str) -> Iterator[None]:
    """``PaperRepository.search`` replaced by the candidate ``name`` inside the block."""
    original = PaperRepository.search
    PaperRepository.search = VARIANTS[name](original)  # type: ignore[method-assign]  # swapped for one run, then restored
    try:
        yield
    finally:
        PaperRepository.search = original  # type: ignore[method-assign]  # swapped for one run, then restored
