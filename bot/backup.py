"""``python -m bot backup PATH``: a consistent copy of the live database, safe while the bot runs.

Copying the file of a WAL database is not safe (recent commits live in the -wal file). SQLite's online
backup API copies a consistent snapshot while the bot keeps writing. The copy is written next to the target
and renamed over it only once complete and checked, so PATH is never a half-written file.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path


class BackupError(Exception):
    """Why no backup was made, in one line for the operator."""


def backup(source: Path, target: Path, *, force: bool = False) -> Path:
    """Copy ``source`` to ``target`` (a file, or a folder to put it in); returns the file written."""
    if not source.exists():
        raise BackupError(f"there is no database at {source} (DATABASE_PATH)")
    if target.exists() and target.is_dir():
        target = target / source.name
    if target.exists() and target.resolve() == source.resolve():
        raise BackupError("the backup must not be the live database itself")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists; pass --force to replace it")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(handle)
    try:
        live = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30.0)
        copy = sqlite3.connect(temporary)
        try:
            live.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError("the copy failed SQLite's integrity check; the database may be damaged")
        finally:
            copy.close()
            live.close()
        os.replace(temporary, target)
    except sqlite3.Error as error:
        raise BackupError(f"backup failed: {error}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target
