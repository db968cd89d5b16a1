"""Members' libraries: saving and removing papers, listing and the size limit, in one place for every entry point.

The Save button, ``/library add|remove|list`` and the Related answer's Save buttons all come through here.
A paper not yet in the archive is fetched as ``/paper`` does (``bot.lookup``), so it is stored by ``bot.archive``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from bot.db.library import SavedPaper
from bot.errors import UserError
from bot.lookup import find_paper
from bot.models import Paper
from bot.query import parse_query

if TYPE_CHECKING:
    from bot.db import Database
    from bot.sources.hf import HuggingFaceSource

MAX_PAPERS = 2_000


class Outcome(Enum):
    SAVED = "saved"
    ALREADY = "already"
    FULL = "full"


@dataclass(frozen=True)
class SaveResult:
    outcome: Outcome
    paper: Paper
    count: int  # papers in the library after this step


@dataclass(frozen=True)
class LibraryPage:
    papers: list[SavedPaper]
    page: int
    per_page: int
    has_more: bool
    total: int  # the whole library, not only the filtered part
    query: str | None = None


async def save(
    db: Database, hf: HuggingFaceSource, user_id: int, paper_id: str, *, limit: int | None = None
) -> SaveResult:
    """Save a paper (fetching it into the archive first if needed); a second save of the same paper is a no-op."""
    limit = MAX_PAPERS if limit is None else limit  # read at call time, so tests can lower it
    paper = await find_paper(db, hf, paper_id)
    async with db.transaction() as conn:
        # Looked up inside the write so a concurrent archive change cannot slip between lookup and insert.
        async with conn.execute("SELECT pk FROM papers WHERE arxiv_id = ?", (paper.id,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise UserError(f"arXiv:{paper.id} was just removed from the archive; it can't be saved.")
        count = await db.library.count_in(conn, user_id)
        if count >= limit:
            # An already saved paper stays "already saved" even at the limit.
            async with conn.execute(
                "SELECT 1 FROM library WHERE user_id = ? AND paper_pk = ?", (user_id, int(row[0]))
            ) as cursor:
                if await cursor.fetchone() is not None:
                    return SaveResult(Outcome.ALREADY, paper, count)
            return SaveResult(Outcome.FULL, paper, count)
        added = await db.library.add(conn, user_id, int(row[0]), int(time.time()))
    return SaveResult(Outcome.SAVED if added else Outcome.ALREADY, paper, count + 1 if added else count)


async def remove(db: Database, user_id: int, paper_id: str) -> tuple[bool, Paper | None, int]:
    """(whether it was saved, the paper if the archive has it, papers left)."""
    paper = await db.papers.get(paper_id)
    pk = await db.library.paper_pk(paper_id)
    removed = False
    if pk is not None:
        async with db.transaction() as conn:
            removed = await db.library.remove(conn, user_id, pk)
    return removed, paper, await db.library.count(user_id)


async def is_saved(db: Database, user_id: int, paper_id: str) -> bool:
    pk = await db.library.paper_pk(paper_id)
    return pk is not None and await db.library.contains(user_id, pk)


async def list_page(
    db: Database, user_id: int, *, query: str | None = None, page: int = 0, per_page: int = 5
) -> LibraryPage:
    """One page of the library, newest saved first, optionally filtered by words (the /search query language)."""
    fts = parse_query(query, strict=True).fts() if query and query.strip() else None
    rows = await db.library.page(user_id, fts_query=fts, limit=per_page + 1, offset=page * per_page)
    return LibraryPage(
        papers=rows[:per_page],
        page=page,
        per_page=per_page,
        has_more=len(rows) > per_page,
        total=await db.library.count(user_id),
        query=query if fts else None,
    )
