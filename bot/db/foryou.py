"""SQL for recommendations (``/foryou``): the recent papers a library is compared with, and the weekly DM."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiosqlite

if TYPE_CHECKING:
    from bot.db import Database

# A month of arXiv and Hugging Face listings is ~20k papers; beyond this the newest are taken.
RECENT_LIMIT = 50_000


@dataclass(frozen=True)
class Weekly:
    user_id: int
    enabled_at: int
    last_slot: int | None


class ForYouRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def recent_pks(self, since: int, *, limit: int = RECENT_LIMIT) -> list[int]:
        """Keys of papers listed at or after ``since`` (epoch seconds), newest first."""
        rows = await self.db.fetchall(
            "SELECT pk FROM papers WHERE listed_at >= ? ORDER BY listed_at DESC, pk DESC LIMIT ?", (since, limit)
        )
        return [int(row[0]) for row in rows]

    async def saved_recent_first(self, user_id: int, limit: int) -> list[int]:
        """The member's saved papers' keys, most recently saved first (the seeds of their recommendations)."""
        rows = await self.db.fetchall(
            "SELECT paper_pk FROM library WHERE user_id = ? ORDER BY saved_at DESC, paper_pk DESC LIMIT ?",
            (user_id, limit),
        )
        return [int(row[0]) for row in rows]

    # --- the weekly DM (bot/weekly.py) ---------------------------------------------------------------

    async def set_weekly(self, conn: aiosqlite.Connection, user_id: int, *, on: bool, now: int) -> bool:
        """Turn the member's weekly DM on or off; False when it already was."""
        if on:
            sql = "INSERT INTO foryou_weekly (user_id, enabled_at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING 1"
            params: tuple[int, ...] = (user_id, now)
        else:
            sql, params = "DELETE FROM foryou_weekly WHERE user_id = ? RETURNING 1", (user_id,)
        async with conn.execute(sql, params) as cursor:
            return await cursor.fetchone() is not None

    async def weekly(self, user_id: int) -> Weekly | None:
        row = await self.db.fetchone("SELECT * FROM foryou_weekly WHERE user_id = ?", (user_id,))
        return None if row is None else Weekly(row["user_id"], row["enabled_at"], row["last_slot"])

    async def due(self, slot: int) -> list[int]:
        """Members whose weekly DM for ``slot`` is not queued yet (turned on before the slot)."""
        rows = await self.db.fetchall(
            "SELECT user_id FROM foryou_weekly WHERE enabled_at <= ? AND (last_slot IS NULL OR last_slot < ?) "
            "ORDER BY user_id",
            (slot, slot),
        )
        return [int(row[0]) for row in rows]

    async def delivered_pks(self, user_id: int) -> set[int]:
        """Papers the member already has an outbox row for (sent, pending, skipped): never picked again."""
        rows = await self.db.fetchall(
            "SELECT p.pk FROM deliveries d JOIN papers p ON p.arxiv_id = d.paper_id "
            "WHERE d.target_kind = 'user' AND d.target_id = ?",
            (user_id,),
        )
        return {int(row[0]) for row in rows}

    async def claim_slot(self, conn: aiosqlite.Connection, user_id: int, slot: int) -> bool:
        """Mark ``slot`` done for the member inside the caller's transaction; False if it already was."""
        async with conn.execute(
            "UPDATE foryou_weekly SET last_slot = ? WHERE user_id = ? AND (last_slot IS NULL OR last_slot < ?) "
            "RETURNING 1",
            (slot, user_id, slot),
        ) as cursor:
            return await cursor.fetchone() is not None

    async def queue_picks(
        self, conn: aiosqlite.Connection, user_id: int, picks: Sequence[tuple[str, str]], *, slot: int, now: int
    ) -> int:
        """Outbox rows (a DM with no topic) for (paper id, because id) picks; how many were new."""
        queued = 0
        for paper_id, because in picks:
            async with conn.execute(
                "INSERT OR IGNORE INTO deliveries (target_kind, target_id, paper_id, status, created_at) "
                "VALUES ('user', ?, ?, 'pending', ?)",
                (user_id, paper_id, now),
            ) as cursor:
                queued += cursor.rowcount
            await conn.execute(
                "INSERT OR REPLACE INTO foryou_picks (user_id, paper_id, because, slot) VALUES (?, ?, ?, ?)",
                (user_id, paper_id, because, slot),
            )
        return queued

    async def because(self, user_id: int, paper_ids: Sequence[str]) -> dict[str, str]:
        """paper id -> the saved paper's id, for the member's weekly picks among ``paper_ids``."""
        if not paper_ids:
            return {}
        marks = ",".join("?" * len(paper_ids))
        rows = await self.db.fetchall(
            f"SELECT paper_id, because FROM foryou_picks WHERE user_id = ? AND paper_id IN ({marks})",
            (user_id, *paper_ids),
        )
        return {row["paper_id"]: row["because"] for row in rows}

    async def picks(self, user_id: int) -> list[tuple[str, str, int]]:
        """(paper id, because id, slot) of every weekly pick kept for the member (``/mydata export``)."""
        rows = await self.db.fetchall(
            "SELECT paper_id, because, slot FROM foryou_picks WHERE user_id = ? ORDER BY slot, paper_id", (user_id,)
        )
        return [(row["paper_id"], row["because"], int(row["slot"])) for row in rows]

    async def delete_user(self, conn: aiosqlite.Connection, user_id: int) -> tuple[bool, int]:
        """(whether the weekly DM was on, weekly picks removed) for ``/mydata delete``."""
        async with conn.execute("DELETE FROM foryou_weekly WHERE user_id = ? RETURNING 1", (user_id,)) as cursor:
            weekly = await cursor.fetchone() is not None
        async with conn.execute("DELETE FROM foryou_picks WHERE user_id = ? RETURNING 1", (user_id,)) as cursor:
            picks = len(list(await cursor.fetchall()))
        return weekly, picks
