"""bot.db.rows: one row-to-dataclass mapper for the repositories, on real SQLite rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.db.rows import field_names, row_mapper, times


@dataclass(frozen=True)
class Thing:
    id: int
    name: str | None
    active: bool
    seen_at: datetime | None = None


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    connection.row_factory = sqlite3.Row
    connection.execute("CREATE TABLE things (id INTEGER, name TEXT, active INTEGER, seen_at INTEGER, extra TEXT)")
    connection.executemany(
        "INSERT INTO things VALUES (?, ?, ?, ?, ?)", [(1, "a", 1, 1_700_000_000, "x"), (2, None, 0, None, "y")]
    )
    yield connection
    connection.close()


def test_each_field_takes_its_column_through_its_converter(conn: sqlite3.Connection) -> None:
    build = row_mapper(Thing, {"active": bool, **times("seen_at")})
    rows = conn.execute("SELECT * FROM things ORDER BY id").fetchall()  # extra columns are ignored
    assert [build(row) for row in rows] == [
        Thing(1, "a", True, datetime.fromtimestamp(1_700_000_000, UTC)),
        Thing(2, None, False, None),
    ]


def test_a_missing_column_is_an_error_not_a_default(conn: sqlite3.Connection) -> None:
    build = row_mapper(Thing)
    row = conn.execute("SELECT id, name, active FROM things").fetchone()
    with pytest.raises(IndexError):
        build(row)


def test_a_converter_for_no_field_is_refused() -> None:
    with pytest.raises(ValueError, match="Thing has no field seen"):
        row_mapper(Thing, times("seen"))


def test_field_names_are_the_select_list() -> None:
    assert field_names(Thing) == ["id", "name", "active", "seen_at"]
