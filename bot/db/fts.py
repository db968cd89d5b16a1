"""Upkeep of the papers' FTS5 index: merging its segments outside the poll's transaction.

FTS5 writes each flush of new terms as a small segment and merges segments later. With its default
``automerge`` the merge work runs inside whichever commit writes the segment, so a poll's commit sometimes paid
for merging hundreds of pages (the tail of the poll commit at 1M papers, docs/benchmarks.md, issue 15 part 3).
A migration sets ``automerge`` to 0: commits only flush. :func:`merge_step` does the same merging in small
steps, and the bot's background task (``bot.db.checkpoints``) runs them while no one writes. ``crisismerge``
(16 segments on one level) is left on as the backstop, so an archive that is written and never idle (the CLI,
a bulk load) still keeps a bounded number of segments. The index is rebuilt from ``papers`` by FTS5's
``rebuild`` whenever needed; the setting lives in ``papers_fts_config`` and survives that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiosqlite

if TYPE_CHECKING:
    from bot.db import Database

# Pages of merge work per step: a few milliseconds each at 1M papers, so a write that arrives waits little.
MERGE_PAGES = 64
# Merge a level once it holds this many segments (FTS5's ``usermerge`` default: the same shape automerge keeps).
MERGE_MIN_SEGMENTS = 4
_STRUCTURE_ROWID = 10  # FTS5 keeps its segment list in this row of the %_data table
_STRUCTURE_V2 = b"\xff\x00\x00\x01"


@dataclass(frozen=True)
class Structure:
    """The index's segments, counted per level (level 0 holds the newest, smallest ones)."""

    levels: tuple[int, ...]

    @property
    def segments(self) -> int:
        return sum(self.levels)


async def merge_step(conn: aiosqlite.Connection, pages: int = MERGE_PAGES) -> bool:
    """One bounded step of merging inside the caller's write transaction; False once there is nothing to merge.

    FTS5 reports work done only through the change counter: a step that merged changes at least two rows.
    """
    before = conn.total_changes
    await conn.execute("INSERT INTO papers_fts (papers_fts, rank) VALUES ('merge', ?)", (int(pages),))
    return conn.total_changes - before >= 2


async def structure(db: Database) -> Structure:
    """The segment counts, decoded from FTS5's structure record (for the bench, tests and logs)."""
    block = await db.fetchval("SELECT block FROM papers_fts_data WHERE id = ?", (_STRUCTURE_ROWID,))
    return Structure(()) if block is None else decode_structure(bytes(block))


def decode_structure(blob: bytes) -> Structure:
    """FTS5's record: a 4-byte cookie, then varints (levels, segments, write counter, then per level the
    merge state, its segment count and three varints per segment; five more per segment in the version-2
    record newer SQLite writes for tables that keep tombstones)."""
    version_2 = blob[4:8] == _STRUCTURE_V2
    position = 8 if version_2 else 4
    per_segment = 8 if version_2 else 3  # segment id, first and last page (+ origins, tombstones, entries)
    levels: list[int] = []

    def varint() -> int:
        nonlocal position
        value = 0
        for offset in range(8):
            byte = blob[position + offset]
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                position += offset + 1
                return value
        value = (value << 8) | blob[position + 8]
        position += 9
        return value

    count = varint()
    varint()  # total segments
    varint()  # write counter
    for _ in range(count):
        varint()  # segments of this level being merged
        segments = varint()
        for _ in range(segments * per_segment):
            varint()
        levels.append(segments)
    return Structure(tuple(levels))
