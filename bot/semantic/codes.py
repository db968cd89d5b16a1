"""Every embedded paper's stored vector in a memory-mapped scratch file, for the exact scoring of candidates.

Why: reading 2,000 candidates' vectors from SQLite cost 55 ms p50 / 118 ms p95 at 1M papers (random rowid
lookups in a 440 MiB table), a mapped file 2 / 18 ms (docs/benchmarks.md). SQLite stays the source of truth:
the file is an unlinked temporary file beside the database, filled at start-up from ``paper_embeddings`` and
by the embedder, and gone when the process ends. After every access the mapping's pages are dropped from the
process (``MADV_DONTNEED``): they stay in the OS page cache, so the next read is cheap, but do not count in
the bot's RSS (the file is 370 MiB at 1M papers; the budget is 300 MiB for everything).
"""

from __future__ import annotations

import mmap
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from bot.semantic.vectors import SCALE_BYTES

_GROW_ROWS = 65_536


class CodeFile:
    """Fixed-width rows (a float32 scale and the int8 codes, as stored in SQLite) addressed by slot."""

    def __init__(self, width: int, folder: Path | None = None) -> None:
        self.width = width
        self.folder = folder
        self._file: IO[bytes] | None = None  # created on first use: a bot with semantic search off writes nothing
        self._map: mmap.mmap | None = None
        self._capacity = 0
        self._lock = threading.Lock()
        self.count = 0

    def reserve(self, rows: int) -> None:
        with self._lock:
            self._ensure(rows)

    def _ensure(self, rows: int) -> None:
        if rows <= self._capacity:
            return
        capacity = max(rows, self._capacity + self._capacity // 4, _GROW_ROWS)
        if self._file is None:
            # Lives as long as the index; close() closes it, and the OS removes it (it is never linked).
            self._file = tempfile.TemporaryFile(dir=self.folder, prefix="paperbot-vectors-")  # noqa: SIM115
        if self._map is not None:
            self._map.close()
        self._file.truncate(capacity * self.width)
        self._map = mmap.mmap(self._file.fileno(), capacity * self.width)
        self._capacity = capacity

    def _release(self) -> None:
        if self._map is not None:
            self._map.madvise(mmap.MADV_DONTNEED)

    def append(self, rows: np.ndarray) -> np.ndarray:
        """Store (n, width) uint8 rows at new slots; returns the slots."""
        with self._lock:
            start = self.count
            self._ensure(start + len(rows))
            assert self._map is not None
            self._map[start * self.width : (start + len(rows)) * self.width] = np.ascontiguousarray(rows).tobytes()
            self.count += len(rows)
            self._release()
        return np.arange(start, start + len(rows), dtype=np.int32)

    def overwrite(self, slots: Sequence[int] | np.ndarray, rows: np.ndarray) -> None:
        with self._lock:
            if self._map is None:
                return
            for slot, row in zip(slots, rows, strict=True):
                self._map[int(slot) * self.width : (int(slot) + 1) * self.width] = row.tobytes()
            self._release()

    def read(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(codes int8 (n, d), scales float32 (n,)) of ``slots``, in their order."""
        with self._lock:
            if self._map is None or len(slots) == 0:
                return np.zeros((0, self.width - SCALE_BYTES), dtype=np.int8), np.zeros(0, dtype=np.float32)
            view = np.frombuffer(self._map, dtype=np.uint8, count=self.count * self.width).reshape(-1, self.width)
            rows = view[slots]  # a copy: nothing keeps the mapping exported
            del view
            self._release()
        scales = rows[:, :SCALE_BYTES].copy().view("<f4").reshape(-1).astype(np.float32)
        return rows[:, SCALE_BYTES:].view(np.int8), scales

    def close(self) -> None:
        with self._lock:
            if self._map is not None:
                self._map.close()
                self._map = None
            if self._file is not None:
                self._file.close()
                self._file = None
            self._capacity = self.count = 0
