"""SQL for owed decisions: the papers a store made eligible whose deliveries are not decided yet.

The storing transaction records them (:meth:`DecisionRepository.record`); ``bot.delivery.deciding`` decides them
outside that transaction and moves ``written_below`` forward with each short transaction of rows it writes, so a
crash or a second process resumes exactly where the writing stopped (tables: migration 14).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiosqlite

from bot.db.dm_slots import PAPER_TIME

if TYPE_CHECKING:
    from bot.db import Database


@dataclass(frozen=True)
class Decision:
    id: int
    now: int  # the storing clock: what "recent" and "today" mean for its papers
    written_below: int | None  # None: nothing written; else feed rows and DMs of user ids below it are written


class DecisionRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self,
        conn: aiosqlite.Connection,
        *,
        decision: int | None,
        now: int,
        new_ids: Sequence[str],
        new_since: int,
        updated_ids: Sequence[str],
        updated_since: int,
    ) -> int | None:
        """Owe a decision for the stored papers that may be delivered: new ones if recent enough, updated ones if
        more recent. Added to ``decision`` when given (a later chunk of one poll), else to a new one.

        Returns the decision's id, or None when no paper is eligible and none was given.
        """
        async with conn.execute(
            f"SELECT p.pk, 1 FROM papers p WHERE p.arxiv_id IN (SELECT value FROM json_each(?)) AND {PAPER_TIME} >= ? "
            "UNION ALL "
            f"SELECT p.pk, 0 FROM papers p WHERE p.arxiv_id IN (SELECT value FROM json_each(?)) AND {PAPER_TIME} >= ?",
            (json.dumps(list(new_ids)), new_since, json.dumps(list(updated_ids)), updated_since),
        ) as cursor:
            eligible = [(int(row[0]), int(row[1])) for row in await cursor.fetchall()]
        if not eligible:
            return decision
        if decision is None:
            async with conn.execute("INSERT INTO decisions (now) VALUES (?) RETURNING id", (now,)) as cursor:
                row = await cursor.fetchone()
            assert row is not None
            decision = int(row[0])
        await conn.execute(
            "INSERT INTO decision_papers (decision_id, paper_pk, is_new) "
            "SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?) WHERE true "
            "ON CONFLICT (decision_id, paper_pk) DO UPDATE SET is_new = MAX(is_new, excluded.is_new)",
            (decision, json.dumps(eligible)),
        )
        return decision

    async def next_after(self, decision: int) -> Decision | None:
        """The oldest owed decision after ``decision`` (0: the oldest of all)."""
        row = await self.db.fetchone(
            "SELECT id, now, written_below FROM decisions WHERE id > ? ORDER BY id LIMIT 1", (decision,)
        )
        return None if row is None else Decision(int(row[0]), int(row[1]), row[2])

    async def count(self) -> int:
        return int(await self.db.fetchval("SELECT COUNT(*) FROM decisions") or 0)

    async def papers(self, conn: aiosqlite.Connection, decision: int) -> tuple[list[int], list[int]]:
        """(every paper pk, the new ones' pks) of ``decision``, read on ``conn``'s snapshot."""
        async with conn.execute(
            "SELECT paper_pk, is_new FROM decision_papers WHERE decision_id = ? ORDER BY paper_pk", (decision,)
        ) as cursor:
            rows = list(await cursor.fetchall())
        return [int(row[0]) for row in rows], [int(row[0]) for row in rows if row[1]]

    async def advance(self, conn: aiosqlite.Connection, decision: int, *, expected: int | None, to: int | None) -> bool:
        """Move ``written_below`` from ``expected`` to ``to`` (None: finished, the decision goes), compare-and-set.

        False when another process has moved it meanwhile: it is writing these rows, and the caller must roll back
        what it wrote in this transaction.
        """
        params: tuple[object, ...]
        if to is None:
            sql, params = "DELETE FROM decisions WHERE id = ? AND written_below IS ?", (decision, expected)
        else:
            sql = "UPDATE decisions SET written_below = ? WHERE id = ? AND written_below IS ?"
            params = (to, decision, expected)
        async with conn.execute(sql, params) as cursor:
            return cursor.rowcount == 1
