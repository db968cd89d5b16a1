"""Nearest-neighbour search over int8-quantised unit vectors held in memory.

Up to EXACT_LIMIT vectors every one is scored. Beyond that, scoring every int8 vector in float32 costs
~100+ ms at 100k papers, so one bit per dimension (the sign, 48 bytes a paper) picks CANDIDATES papers by
Hamming distance and only those are scored exactly; recall against the exact answer is in
docs/benchmarks.md. Thread-safe: the embedder adds rows while searches run on a worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Collection

import numpy as np

from bot.semantic.vectors import quantise

CHUNK_ROWS = 32_768
EXACT_LIMIT = 20_000
CANDIDATES = 2_000
_WORDS = 6  # 384 sign bits in uint64 words


def sign_bits(codes: np.ndarray) -> np.ndarray:
    return np.packbits(np.atleast_2d(codes) > 0, axis=1).view(np.uint64).reshape(-1, _WORDS)


class VectorIndex:
    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._lock = threading.Lock()
        self._pks = np.zeros(0, dtype=np.int64)
        self._codes = np.zeros((0, dimensions), dtype=np.int8)
        self._scales = np.zeros(0, dtype=np.float32)
        self._bits = np.zeros((0, _WORDS), dtype=np.uint64)
        self._size = 0
        self._row: dict[int, int] = {}

    def __len__(self) -> int:
        return self._size

    def __contains__(self, pk: object) -> bool:
        return pk in self._row

    def _grow(self, needed: int) -> None:
        capacity = len(self._pks)
        if needed <= capacity:
            return
        capacity = max(needed, capacity * 3 // 2, 1024)
        for name in ("_pks", "_codes", "_scales", "_bits"):
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            new[: self._size] = old[: self._size]
            setattr(self, name, new)

    def add(self, pks: list[int], codes: np.ndarray, scales: np.ndarray) -> None:
        """Insert or replace rows (codes int8, scales float32, as bot.semantic.vectors stores them)."""
        with self._lock:
            self._grow(self._size + len(pks))
            for pk, code, scale in zip(pks, codes, scales, strict=True):
                row = self._row.get(pk)
                if row is None:
                    row = self._size
                    self._size += 1
                    self._row[pk] = row
                    self._pks[row] = pk
                self._codes[row] = code
                self._scales[row] = scale
                self._bits[row] = sign_bits(code)[0]

    def add_vectors(self, pks: list[int], vectors: np.ndarray) -> None:
        codes, scales = quantise(vectors)
        self.add(pks, codes, scales)

    def vector(self, pk: int) -> np.ndarray | None:
        with self._lock:
            row = self._row.get(pk)
            if row is None:
                return None
            vector: np.ndarray = self._codes[row].astype(np.float32) * self._scales[row]
            return vector

    def search(
        self,
        query: np.ndarray,
        k: int,
        *,
        within: Collection[int] | None = None,
        exclude: Collection[int] = (),
    ) -> list[tuple[int, float]]:
        """(pk, cosine) best first. ``within`` scores only those pks (a lexical candidate set)."""
        if k <= 0:
            return []
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        with self._lock:
            rows = None
            if within is not None:
                rows = np.fromiter((self._row[pk] for pk in within if pk in self._row), dtype=np.int64)
            elif self._size > EXACT_LIMIT:
                wanted = min(self._size, max(CANDIDATES, 20 * k) + len(exclude))
                distance = np.bitwise_count(self._bits[: self._size] ^ sign_bits(query)).sum(axis=1, dtype=np.uint16)
                rows = np.argpartition(distance, wanted - 1)[:wanted]
            if rows is not None:
                scores = (self._codes[rows].astype(np.float32) @ query) * self._scales[rows]
                pks = self._pks[rows]
            else:
                scores = np.empty(self._size, dtype=np.float32)
                for start in range(0, self._size, CHUNK_ROWS):
                    stop = min(start + CHUNK_ROWS, self._size)
                    scores[start:stop] = (self._codes[start:stop].astype(np.float32) @ query) * self._scales[start:stop]
                pks = self._pks[: self._size]
            pks = pks.copy()
        if exclude:
            keep = ~np.isin(pks, np.fromiter(exclude, dtype=np.int64))
            pks, scores = pks[keep], scores[keep]
        top = np.argpartition(-scores, k - 1)[:k] if len(scores) > k else np.arange(len(scores))
        order = top[np.lexsort((-pks[top], -scores[top]))]  # ties: the newer paper first
        return [(int(pks[i]), float(scores[i])) for i in order]
