"""The SQLite database: one file, WAL mode, one writer connection and one read-only connection.

All SQL lives in this package. Writes go through :meth:`Database.transaction`, which serialises writers
with a lock so a command's write can never slip into the middle of a poll's batch. Work too long for one
transaction (deciding a poll's deliveries) takes a :meth:`Database.session`: a connection of its own whose
temporary tables outlive its read snapshot and its short write transactions.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.db.decisions import DecisionRepository
from bot.db.deliveries import DeliveryRepository
from bot.db.embeddings import EmbeddingRepository
from bot.db.feeds import FeedRepository
from bot.db.foryou import ForYouRepository
from bot.db.leases import LeaseRepository
from bot.db.library import LibraryRepository
from bot.db.meta import MetaRepository
from bot.db.migrations import MIGRATIONS, SCHEMA_VERSION
from bot.db.papers import PaperRepository
from bot.db.queries import QueryRepository
from bot.db.sources import SourceStateRepository
from bot.db.topics import TopicRepository
from bot.db.users import UserRepository

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000


class DatabaseError(Exception):
    """The database cannot be used; the message is meant for the operator."""


async def _configure(conn: aiosqlite.Connection) -> None:
    conn.row_factory = sqlite3.Row
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA foreign_keys = ON")


class Database:
    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self._session_lock = asyncio.Lock()
        self.last_write_at = time.monotonic()  # when the last write transaction ended (the checkpointer's clock)
        self.papers = PaperRepository(self)
        self.sources = SourceStateRepository(self)
        self.meta = MetaRepository(self)
        self.topics = TopicRepository(self)
        self.feeds = FeedRepository(self)
        self.queries = QueryRepository(self)
        self.users = UserRepository(self)
        self.deliveries = DeliveryRepository(self)
        self.embeddings = EmbeddingRepository(self)
        self.library = LibraryRepository(self)
        self.leases = LeaseRepository(self)
        self.foryou = ForYouRepository(self)
        self.decisions = DecisionRepository(self)

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        path = Path(path)
        if str(path) != ":memory:":
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise DatabaseError(f"cannot create the folder for database {path}: {error.strerror}") from None
        try:
            writer = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as error:
            raise DatabaseError(f"cannot open database {path}: {error}") from None
        try:
            try:
                await _configure(writer)
                mode = await _wal(writer)
                if mode is None or str(mode[0]).lower() != "wal":
                    log.warning("database %s is not in WAL mode (%s); reads may wait for writes", path, mode)
                await writer.execute("PRAGMA synchronous = NORMAL")
                await _migrate(writer, path)
                reader = await aiosqlite.connect(path, isolation_level=None)
                await _configure(reader)
                await reader.execute("PRAGMA query_only = 1")
            except sqlite3.DatabaseError as error:
                raise DatabaseError(f"cannot use {path} as a database: {error}") from None
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader)

    async def close(self) -> None:
        async with self._session_lock, self._write_lock:
            for conn in (self._reader, self._writer):
                try:
                    await conn.close()
                except sqlite3.Error as error:  # closing must not hide the reason we are closing
                    log.warning("closing database: %s", error)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One atomic write: everything inside commits together or not at all."""
        async with self.write_on(self._writer) as conn:
            yield conn

    @asynccontextmanager
    async def write_on(self, conn: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
        """One atomic write on ``conn`` (the writer, or a session's connection), queued behind this process's
        other writers by the one write lock."""
        async with self._write_lock:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")
            finally:
                self.last_write_at = time.monotonic()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        """A connection of its own for one long piece of work, closed at the end: its temporary tables (millions of
        rows when deciding a large poll) go with it at once, instead of being deleted row by row."""
        async with self._session_lock:
            conn = await aiosqlite.connect(self.path, isolation_level=None)
            try:
                await _configure(conn)
                yield Session(self, conn)
            finally:
                await conn.close()

    async def set_autocheckpoint(self, pages: int) -> None:
        """SQLite's own checkpoint inside COMMIT once the WAL passes ``pages`` (0: never; bot.db.checkpoints)."""
        async with self._write_lock:
            await self._writer.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")

    @asynccontextmanager
    async def write_lock(self) -> AsyncIterator[None]:
        """Hold off this process's writers (a TRUNCATE checkpoint would otherwise make them wait on SQLite)."""
        async with self._write_lock:
            yield

    # Every read runs and drains its statement in one call on aiosqlite's thread. All reads share one
    # connection, and while any statement on it is open SQLite keeps that connection's read snapshot: a read
    # split into execute and fetch lets other coroutines' reads run in between and miss the latest commit
    # (the dispatcher would read back a batch it had just claimed as empty).

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return list(await self._reader.execute_fetchall(sql, tuple(params)))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


class Session:
    """One connection for one long piece of work: reads on a snapshot, then short writes, temp tables across."""

    def __init__(self, db: Database, conn: aiosqlite.Connection) -> None:
        self.db = db
        self.conn = conn

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[aiosqlite.Connection]:
        """A read transaction: every read inside sees the database as at its first read; writers go on meanwhile.

        Only temporary tables may be written inside (they take no lock on the database file).
        """
        await self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
            await self.conn.execute("COMMIT")  # ends the read; temporary tables keep what was written to them

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One atomic write on this connection, like :meth:`Database.transaction`."""
        async with self.db.write_on(self.conn) as conn:
            yield conn


async def _wal(conn: aiosqlite.Connection) -> Any:
    """Switch to WAL, retried while another process holds the fresh file's lock.

    Processes starting together on a new file race here: the switch needs the file to itself while it is still
    in rollback-journal mode, and SQLite can answer "database is locked" at once, without its busy handler
    (tests/test_shards.py::test_processes_starting_together_migrate_once failed so, now and then).
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return await (await conn.execute("PRAGMA journal_mode = WAL")).fetchone()
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.02)  # another opener holds the lock for a moment: try again


async def _migrate(conn: aiosqlite.Connection, path: Path) -> None:
    options = await (await conn.execute("PRAGMA compile_options")).fetchall()
    if not any(str(row[0]) == "ENABLE_FTS5" for row in options):
        raise DatabaseError(f"this Python's SQLite ({sqlite3.sqlite_version}) was built without FTS5")
    row = await (await conn.execute("PRAGMA user_version")).fetchone()
    version = row[0] if row is not None else 0
    if version > SCHEMA_VERSION:
        raise DatabaseError(
            f"database {path} has schema version {version}, newer than this paperbot understands "
            f"({SCHEMA_VERSION}); upgrade paperbot or point DATABASE_PATH at another file"
        )
    for number in range(version + 1, SCHEMA_VERSION + 1):
        log.info("migrating database %s to schema version %d", path, number)
        # Several processes may start together on one file: under the write lock, the guard row fails the
        # script unless the file is still at the version before this one, so a migration runs exactly once.
        script = (
            f"BEGIN IMMEDIATE;\n"
            f"CREATE TEMP TABLE migration_guard (version INTEGER CHECK (version = {number - 1}));\n"
            f"INSERT INTO temp.migration_guard SELECT user_version FROM pragma_user_version;\n"
            f"DROP TABLE temp.migration_guard;\n"
            f"{MIGRATIONS[number - 1]}\nPRAGMA user_version = {number};\nCOMMIT;"
        )
        try:
            await conn.executescript(script)
        except sqlite3.Error as error:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            await conn.execute("DROP TABLE IF EXISTS temp.migration_guard")
            version_row = await (await conn.execute("PRAGMA user_version")).fetchone()
            current = 0 if version_row is None else int(version_row[0])
            if current >= number:
                log.info("another process migrated %s to schema version %d first", path, current)
                continue
            raise DatabaseError(f"migration {number} of {path} failed: {error}") from None
