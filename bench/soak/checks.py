"""After the run: deliveries lost and duplicated (from what the stand-in received), and database integrity."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

from testing.process import read_rows


def posted(messages: list[Any]) -> Counter[str]:
    """How often each paper id was posted in these messages (one embed per paper)."""
    return Counter(
        embed.get("url", "").rstrip("/").rsplit("/", 1)[-1]
        for message in messages
        if message.interaction_id is None
        for embed in message.embeds
        if embed.get("url")
    )


def duplicates(counts: Counter[str]) -> int:
    return sum(n - 1 for n in counts.values() if n > 1)


def rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return read_rows(path, sql, params, timeout=5.0)  # the soak's bot may hold the write lock for seconds


def capped(path: Path, user_id: int) -> set[str]:
    """Papers deliberately not DMed to the member because of the daily cap (not lost: they were told)."""
    found = rows(
        path,
        "SELECT paper_id FROM deliveries WHERE target_kind = 'user' AND target_id = ? AND status = 'skipped'",
        (user_id,),
    )
    return {row[0] for row in found}


def held(path: Path, user_ids: list[int]) -> list[tuple[int, int, int]]:
    """(member, UTC day, matches held back by the daily DM cap that day) as the bot counts them now."""
    found = rows(
        path,
        "SELECT user_id, dm_held_day, dm_held FROM users WHERE user_id IN (SELECT value FROM json_each(?)) "
        "AND dm_held_day IS NOT NULL",
        (json.dumps(user_ids),),
    )
    return [(int(row[0]), int(row[1]), int(row[2])) for row in found]


def stored(path: Path, paper_ids: list[str]) -> bool:
    """Every published paper is in the archive (its deliveries owed in the same transaction)."""
    found = rows(
        path, "SELECT COUNT(*) FROM papers WHERE arxiv_id IN (SELECT value FROM json_each(?))", (json.dumps(paper_ids),)
    )
    return bool(found) and found[0][0] == len(paper_ids)


def open_rows(path: Path) -> int:
    """Work still owed: rows to send, and stored papers whose deliveries are not decided yet (each counts one)."""
    found = rows(
        path,
        "SELECT (SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'sending')) "
        "+ (SELECT COUNT(*) FROM decision_papers)",
    )
    return int(found[0][0]) if found else -1


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path, timeout=10.0)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()
