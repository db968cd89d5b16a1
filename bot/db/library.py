"""SQL for members' libraries: which papers each member saved, newest first.

Function names here are read by other services (``/mydata``, ``/foryou``); keep them stable.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aiosqlite

from bot.db.papers import from_row
from bot.models import Paper

if TYPE_CHECKING:
    from bot.db import Database

_PAPER_COLUMNS = (
    "p.pk, p.arxiv_id, p.title, p.abstract, p.authors, p.keywords, p.ai_summary, p.upvotes, p.num_comments, "
    "p.github_repo, p.github_stars, p.project_page, p.organization, p.thumbnail, p.categories, "
    "p.published_at, p.listed_at, p.sources"
)


@dataclass(frozen=True)
class SavedPaper:
    paper_pk: int
    paper: Paper
    saved_at: datetime


def _saved(row: sqlite3.Row) -> SavedPaper:
    return SavedPaper(paper_pk=row["pk"], paper=from_row(row), saved_at=datetime.fromtimestamp(row["saved_at"], UTC))


class LibraryRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def paper_pk(self, arxiv_id: str) -> int | None:
        """The archive's key for a bare arXiv id; None when the paper is not stored."""
        value = await self.db.fetchval("SELECT pk FROM papers WHERE arxiv_id = ?", (arxiv_id,))
        return None if value is None else int(value)

    async def add(self, conn: aiosqlite.Connection, user_id: int, paper_pk: int, saved_at: int) -> bool:
        """Save inside the caller's transaction; False when the member had already saved it."""
        async with conn.execute(
            "INSERT INTO library (user_id, paper_pk, saved_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id, paper_pk) DO NOTHING RETURNING paper_pk",
            (user_id, paper_pk, saved_at),
        ) as cursor:
            return await cursor.fetchone() is not None

    async def remove(self, conn: aiosqlite.Connection, user_id: int, paper_pk: int) -> bool:
        """Unsave inside the caller's transaction; False when it was not saved."""
        async with conn.execute(
            "DELETE FROM library WHERE user_id = ? AND paper_pk = ? RETURNING paper_pk", (user_id, paper_pk)
        ) as cursor:
            return await cursor.fetchone() is not None

    async def delete_user(self, conn: aiosqlite.Connection, user_id: int) -> int:
        """Remove a member's whole library (``/mydata delete``); how many papers it held."""
        async with conn.execute("DELETE FROM library WHERE user_id = ? RETURNING paper_pk", (user_id,)) as cursor:
            return len(list(await cursor.fetchall()))

    async def count_in(self, conn: aiosqlite.Connection, user_id: int) -> int:
        """The library's size as the caller's transaction sees it (the limit check before a save)."""
        async with conn.execute("SELECT COUNT(*) FROM library WHERE user_id = ?", (user_id,)) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def count(self, user_id: int) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM library WHERE user_id = ?", (user_id,)) or 0)

    async def contains(self, user_id: int, paper_pk: int) -> bool:
        row = await self.db.fetchone("SELECT 1 FROM library WHERE user_id = ? AND paper_pk = ?", (user_id, paper_pk))
        return row is not None

    async def saved_pks(self, user_id: int) -> set[int]:
        """Every saved paper's key (recommendations exclude these)."""
        rows = await self.db.fetchall("SELECT paper_pk FROM library WHERE user_id = ?", (user_id,))
        return {int(row[0]) for row in rows}

    async def page(
        self, user_id: int, *, fts_query: str | None = None, limit: int = 10, offset: int = 0
    ) -> list[SavedPaper]:
        """Saved papers, newest saved first; ``fts_query`` is an expression from ``bot.query`` (never raw text)."""
        if fts_query is None:
            rows = await self.db.fetchall(
                f"SELECT {_PAPER_COLUMNS}, l.saved_at FROM library l JOIN papers p ON p.pk = l.paper_pk "
                "WHERE l.user_id = ? ORDER BY l.saved_at DESC, l.paper_pk DESC LIMIT ? OFFSET ?",
                (user_id, limit, offset),
            )
        else:
            rows = await self.db.fetchall(
                f"SELECT {_PAPER_COLUMNS}, l.saved_at FROM library l JOIN papers p ON p.pk = l.paper_pk "
                "WHERE l.user_id = ? AND l.paper_pk IN (SELECT rowid FROM papers_fts WHERE papers_fts MATCH ?) "
                "ORDER BY l.saved_at DESC, l.paper_pk DESC LIMIT ? OFFSET ?",
                (user_id, fts_query, limit, offset),
            )
        return [_saved(row) for row in rows]

    async def all_saved(self, user_id: int) -> list[SavedPaper]:
        """The whole library, newest saved first (export, ``/mydata export``)."""
        rows = await self.db.fetchall(
            f"SELECT {_PAPER_COLUMNS}, l.saved_at FROM library l JOIN papers p ON p.pk = l.paper_pk "
            "WHERE l.user_id = ? ORDER BY l.saved_at DESC, l.paper_pk DESC",
            (user_id,),
        )
        return [_saved(row) for row in rows]

    async def complete(self, user_id: int, prefix: str, *, limit: int = 25) -> list[tuple[str, str]]:
        """(arxiv id, title) of saved papers whose id or title contains ``prefix`` (autocomplete)."""
        pattern = "%" + prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = await self.db.fetchall(
            "SELECT p.arxiv_id, p.title FROM library l JOIN papers p ON p.pk = l.paper_pk "
            "WHERE l.user_id = ? AND (p.arxiv_id LIKE ? ESCAPE '\\' OR p.title LIKE ? ESCAPE '\\') "
            "ORDER BY l.saved_at DESC, l.paper_pk DESC LIMIT ?",
            (user_id, pattern, pattern, limit),
        )
        return [(row["arxiv_id"], row["title"]) for row in rows]
