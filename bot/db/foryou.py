"""SQL for recommendations (``/foryou``): the recent papers a member's library is compared with."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.db import Database

# A month of arXiv and Hugging Face listings is ~20k papers; beyond this the newest are taken.
RECENT_LIMIT = 50_000


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
