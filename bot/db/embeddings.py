"""SQL for paper embeddings: what still needs encoding, storing vectors, and reading them back for the index.

Vectors are opaque bytes here (their format is bot.semantic.vectors); SQLite is the source of truth and
every in-memory index is rebuilt from this table.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiosqlite

if TYPE_CHECKING:
    from bot.db import Database


@dataclass(frozen=True)
class Pending:
    """A paper whose embedding is missing, stale or from another model."""

    pk: int
    title: str
    abstract: str
    updated_at: int
    text_hash: bytes | None  # of the text last encoded, None when never encoded


@dataclass(frozen=True)
class Encoded:
    pk: int
    updated_at: int  # as read with the text: a paper edited meanwhile is left for the next round
    text_hash: bytes
    vector: bytes


class EmbeddingRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def pending(self, model: str, limit: int) -> list[Pending]:
        """Newest first: papers from the latest poll are searchable by meaning before the back-fill."""
        rows = await self.db.fetchall(
            "SELECT p.pk, p.title, p.abstract, p.updated_at, e.text_hash FROM papers p "
            "LEFT JOIN paper_embeddings e ON e.paper_pk = p.pk "
            "WHERE e.paper_pk IS NULL OR e.stale = 1 OR e.model != ? ORDER BY p.pk DESC LIMIT ?",
            (model, limit),
        )
        return [Pending(row[0], row[1], row[2], row[3], None if row[4] is None else bytes(row[4])) for row in rows]

    async def save(self, conn: aiosqlite.Connection, model: str, items: Sequence[Encoded]) -> list[int]:
        """Store vectors for papers not edited or deleted since they were read; returns the pks written."""
        written = []
        for item in items:
            cursor = await conn.execute(
                "INSERT INTO paper_embeddings (paper_pk, model, text_hash, vector, stale) "
                "SELECT ?, ?, ?, ?, 0 WHERE EXISTS (SELECT 1 FROM papers WHERE pk = ? AND updated_at = ?) "
                "ON CONFLICT (paper_pk) DO UPDATE SET model = excluded.model, text_hash = excluded.text_hash, "
                "vector = excluded.vector, stale = 0",
                (item.pk, model, item.text_hash, item.vector, item.pk, item.updated_at),
            )
            if cursor.rowcount:
                written.append(item.pk)
        return written

    async def mark_fresh(self, conn: aiosqlite.Connection, model: str, pks: Sequence[int]) -> None:
        """The text was edited back to what was encoded: the stored vector is right again."""
        await conn.executemany(
            "UPDATE paper_embeddings SET stale = 0 WHERE paper_pk = ? AND model = ?", [(pk, model) for pk in pks]
        )

    async def count(self, model: str) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM paper_embeddings WHERE model = ?", (model,)) or 0)

    async def chunk(self, model: str, after_pk: int, limit: int) -> list[tuple[int, bytes]]:
        """Vectors in pk order from ``after_pk`` (a stale one serves until re-encoded): how the index is rebuilt."""
        rows = await self.db.fetchall(
            "SELECT paper_pk, vector FROM paper_embeddings WHERE model = ? AND paper_pk > ? ORDER BY paper_pk LIMIT ?",
            (model, after_pk, limit),
        )
        return [(int(row[0]), bytes(row[1])) for row in rows]

    async def vectors(self, model: str, pks: Sequence[int]) -> list[tuple[int, bytes]]:
        """The stored vectors of ``pks`` in one query: a search's candidates, scored exactly (bot.semantic.index)."""
        if not pks:
            return []
        rows = await self.db.fetchall(
            "SELECT paper_pk, vector FROM paper_embeddings "
            "WHERE paper_pk IN (SELECT value FROM json_each(?)) AND model = ?",
            (json.dumps([int(pk) for pk in pks]), model),
        )
        return [(int(row[0]), bytes(row[1])) for row in rows]

    async def for_paper(self, arxiv_id: str, model: str) -> tuple[int, bytes] | None:
        row: sqlite3.Row | None = await self.db.fetchone(
            "SELECT e.paper_pk, e.vector FROM papers p JOIN paper_embeddings e ON e.paper_pk = p.pk "
            "WHERE p.arxiv_id = ? AND e.model = ?",
            (arxiv_id, model),
        )
        return None if row is None else (int(row[0]), bytes(row[1]))
