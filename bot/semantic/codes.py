"""Every embedded paper's stored vector in a scratch file, read by position for the exact scoring of candidates.

Why: reading 2,000 candidates' vectors from SQLite cost 16-55 ms p50 and up to 156 ms p95 at 1M papers
(random rowid lookups in a 440 MiB table); reading them from this file by offset costs ~2.4 ms
(docs/benchmarks.md). SQLite stays the source of truth: the file is an unlinked temporary file beside the
database, filled while the index loads from ``paper_embeddings`` and by the embedder, and gone when the
process ends.

Why not a memory map (faster still, 0.7 ms): the mapped pages count in the bot's RSS. Even with
MADV_RANDOM and MADV_DONTNEED after each read, one read of 2,000 rows raised the peak RSS by 73 MiB at 1M
papers (313 MiB without MADV_RANDOM: each fault mapped a whole large folio), against a 300 MiB budget for the
whole bot. ``pread`` copies exactly the rows asked for and maps nothing.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from bot.semantic.vectors import SCALE_BYTES


class CodeFile:
    """Fixed-width rows (a float32 scale and the int8 codes, as stored in SQLite) addressed by slot."""

    def __init__(self, width: int, folder: Path | None = None) -> None:
        self.width = width
        self.folder = folder
        self._file: IO[bytes] | None = None  # created on first use: a bot with semantic search off writes nothing
        self._lock = threading.Lock()
        self.count = 0

    def _fd(self) -> int:
        if self._file is None:
            # Lives as long as the index; close() closes it, and the OS removes it (it is never linked).
            self._file = tempfile.TemporaryFile(dir=self.folder, prefix="paperbot-vectors-")  # noqa: SIM115
        return self._file.fileno()

    def _write(self, data: bytes, offset: int) -> None:
        fd = self._fd()
        while data:
            written = os.pwrite(fd, data, offset)
            data, offset = data[written:], offset + written

    def append(self, rows: np.ndarray) -> np.ndarray:
        """Store (n, width) uint8 rows at new slots; returns the slots."""
        with self._lock:
            start = self.count
            self._write(np.ascontiguousarray(rows, dtype=np.uint8).tobytes(), start * self.width)
            self.count += len(rows)
        return np.arange(start, start + len(rows), dtype=np.int32)

    def overwrite(self, slots: Sequence[int] | np.ndarray, rows: np.ndarray) -> None:
        with self._lock:
            for slot, row in zip(slots, rows, strict=True):
                self._write(np.ascontiguousarray(row, dtype=np.uint8).tobytes(), int(slot) * self.width)

    def read(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(codes int8 (n, d), scales float32 (n,)) of ``slots``, in their order; read in file order."""
        width = self.width
        out = np.empty(len(slots) * width, dtype=np.uint8)
        view = out.data
        with self._lock:
            if self._file is not None:
                fd = self._file.fileno()
                for i in np.argsort(slots, kind="stable").tolist():
                    got = os.preadv(fd, [view[i * width : (i + 1) * width]], int(slots[i]) * width)
                    if got != width:
                        raise OSError(f"the index's scratch file is short at slot {int(slots[i])}")
            elif len(slots):
                raise OSError("the index's scratch file is closed")
        rows = out.reshape(-1, width)
        scales = rows[:, :SCALE_BYTES].copy().view("<f4").reshape(-1).astype(np.float32)
        return rows[:, SCALE_BYTES:].view(np.int8), scales

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
            self.count = 0
