"""Nearest neighbours with only sign bits in memory; the exact scores come from the candidates' stored codes.

Why: at 1M papers the int8 codes are 384 MiB and a pk -> row dict ~100 MiB, far over the bot's 300 MiB
budget (issue 13). Memory holds one sign bit per dimension (48 bytes a paper) and each row's pk (8 bytes).
A search ranks rows by Hamming distance to the query's sign bits; the best ``CANDIDATES`` are then scored
exactly from their int8 codes, read by offset from a scratch file (``bot.semantic.codes``; SQLite stays the
source of truth). Recall against exact scoring is in
docs/benchmarks.md.

Rows hold pks sorted ascending up to ``_sorted``, then an unsorted tail of recent additions (the back-fill
goes newest first, so its pks arrive in descending order); the tail is merged in past ``TAIL_LIMIT`` rows,
so a pk lookup is a binary search plus a small sort. Thread-safe: the embedder adds rows while searches run
on worker threads.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from bot.semantic.codes import CodeFile
from bot.semantic.vectors import SCALE_BYTES, quantise

CANDIDATES = 2_000
TAIL_LIMIT = 4_096
CHUNK_ROWS = 65_536  # Hamming distances a chunk at a time: no 1M-row temporaries
_WORDS = 6  # 384 sign bits in uint64 words


def sign_bits(values: np.ndarray) -> np.ndarray:
    """Sign bits of int8 codes or float vectors, (n, 6) uint64."""
    packed: np.ndarray = np.packbits(np.atleast_2d(values) > 0, axis=1).view(np.uint64).reshape(-1, _WORDS)
    return packed


def _hamming(columns: np.ndarray, query_bits: np.ndarray) -> np.ndarray:
    """Hamming distances of (6, n) bit columns to one query, a chunk at a time (no n x 6 temporaries).

    Column-major, one contiguous pass per word: 4x faster than popcounting (n, 6) rows and summing each row.
    """
    count = columns.shape[1]
    distance = np.zeros(count, dtype=np.uint16)
    scratch = np.empty(min(count, CHUNK_ROWS), dtype=np.uint64)
    for start in range(0, count, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, count)
        part, total = scratch[: stop - start], distance[start:stop]
        for word in range(_WORDS):
            np.bitwise_xor(columns[word, start:stop], query_bits[word], out=part)
            total += np.bitwise_count(part)
    return distance


def _nearest_rows(distance: np.ndarray, wanted: int) -> np.ndarray:
    """Positions of the ``wanted`` smallest distances: a histogram of the 385 possible values finds the cut,
    3x faster than argpartition over 1M; ties at the cut go to the earlier rows."""
    counts = np.cumsum(np.bincount(distance, minlength=_WORDS * 64 + 1))
    cut = int(np.searchsorted(counts, wanted))
    inside = np.flatnonzero(distance < cut)
    return np.concatenate([inside, np.flatnonzero(distance == cut)[: wanted - len(inside)]])


def rows_of(codes: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """(n, 4 + d) uint8 rows as stored (bot.semantic.vectors): the float32 scale, then the int8 codes."""
    return np.hstack([np.asarray(scales, dtype="<f4").reshape(-1, 1).view(np.uint8), codes.view(np.uint8)])


class VectorIndex:
    def __init__(self, dimensions: int, folder: Path | None = None) -> None:
        self.dimensions = dimensions
        self._lock = threading.Lock()
        self._codes = CodeFile(SCALE_BYTES + dimensions, folder)
        self._slots = np.zeros(0, dtype=np.int32)  # row -> slot in the code file
        self._pks = np.zeros(0, dtype=np.int64)
        self._bits = np.zeros((_WORDS, 0), dtype=np.uint64)  # column-major: one row of words per bit word
        self._size = 0
        self._sorted = 0  # rows [0, _sorted) are in ascending pk order

    def __len__(self) -> int:
        return self._size

    def __contains__(self, pk: object) -> bool:
        if not isinstance(pk, int):
            return False
        with self._lock:
            return bool(self._rows(np.array([pk], dtype=np.int64))[0] >= 0)

    def nbytes(self) -> int:
        """Bytes held in memory, capacity included (the code file's pages are not held)."""
        return int(self._pks.nbytes + self._bits.nbytes + self._slots.nbytes)

    def reserve(self, rows: int) -> None:
        """Allocate room for ``rows`` at once (a start-up load), so growth never copies the arrays."""
        with self._lock:
            self._grow(rows, exact=True)

    def close(self) -> None:
        self._codes.close()

    def _grow(self, needed: int, *, exact: bool = False) -> None:
        capacity = len(self._pks)
        if needed <= capacity:
            return
        capacity = needed if exact else max(needed, capacity * 5 // 4, 1024)
        pks = np.zeros(capacity, dtype=np.int64)
        pks[: self._size] = self._pks[: self._size]
        slots = np.zeros(capacity, dtype=np.int32)
        slots[: self._size] = self._slots[: self._size]
        bits = np.zeros((_WORDS, capacity), dtype=np.uint64)
        bits[:, : self._size] = self._bits[:, : self._size]
        self._pks, self._slots, self._bits = pks, slots, bits

    def _rows(self, pks: np.ndarray) -> np.ndarray:
        """Row of each pk, -1 where absent. Caller holds the lock."""
        rows = np.full(len(pks), -1, dtype=np.int64)
        if self._sorted:
            ordered = self._pks[: self._sorted]
            at = np.minimum(np.searchsorted(ordered, pks), self._sorted - 1)
            hit = ordered[at] == pks
            rows[hit] = at[hit]
        tail = self._size - self._sorted
        if tail:
            tail_pks = self._pks[self._sorted : self._size]
            order = np.argsort(tail_pks, kind="stable")
            at = np.minimum(np.searchsorted(tail_pks[order], pks), tail - 1)
            hit = tail_pks[order[at]] == pks
            rows[hit] = self._sorted + order[at[hit]]
        return rows

    def add_rows(self, pks: Sequence[int] | np.ndarray, rows: np.ndarray) -> None:
        """Insert or replace papers by pk, from their stored vectors as (n, 4 + d) uint8 rows."""
        pks = np.asarray(pks, dtype=np.int64).reshape(-1)
        if len(pks) == 0:
            return
        _, last = np.unique(pks[::-1], return_index=True)  # a pk twice in one batch: the later row wins
        if len(last) != len(pks):
            keep = np.sort(len(pks) - 1 - last)
            pks, rows = pks[keep], rows[keep]
        bits = sign_bits(rows[:, SCALE_BYTES:].view(np.int8))
        with self._lock:
            at = self._rows(pks)
            known = at >= 0
            self._bits[:, at[known]] = bits[known].T
            self._codes.overwrite(self._slots[at[known]], rows[known])
            new_pks = pks[~known]
            count = len(new_pks)
            if not count:
                return
            start = self._size
            self._grow(start + count)
            self._pks[start : start + count] = new_pks
            self._bits[:, start : start + count] = bits[~known].T
            self._slots[start : start + count] = self._codes.append(rows[~known])
            self._size += count
            ascending = count == 1 or bool(np.all(np.diff(new_pks) > 0))
            if self._sorted == start and ascending and (start == 0 or new_pks[0] > self._pks[start - 1]):
                self._sorted = self._size  # the usual start-up load and new polls: pks only grow
            elif self._size - self._sorted > TAIL_LIMIT:
                order = np.argsort(self._pks[: self._size], kind="stable")
                self._pks[: self._size] = self._pks[: self._size][order]
                self._slots[: self._size] = self._slots[: self._size][order]
                self._bits[:, : self._size] = self._bits[:, : self._size][:, order]
                self._sorted = self._size

    def add(self, pks: Sequence[int], codes: np.ndarray, scales: np.ndarray) -> None:
        self.add_rows(pks, rows_of(codes, scales))

    def add_vectors(self, pks: Sequence[int], vectors: np.ndarray) -> None:
        self.add(pks, *quantise(vectors))

    def search(
        self, query: np.ndarray, k: int, *, within: Collection[int] | None = None, exclude: Collection[int] = ()
    ) -> list[tuple[int, float]]:
        """(pk, cosine) of the ``k`` nearest papers, best first: sign-bit candidates, scored exactly."""
        if k <= 0:
            return []
        pks, slots = self.candidates(query, max(CANDIDATES, 20 * k) + len(exclude), within=within)
        codes, scales = self._codes.read(slots)
        return best(query, pks, codes, scales, k, exclude)

    def candidates(
        self, query: np.ndarray, wanted: int, *, within: Collection[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(pks, code slots) of the ``wanted`` rows nearest to ``query`` by Hamming distance (every row if fewer).

        ``within`` restricts the search to those pks (the papers a search's filters allow, or lexical
        candidates), so a filtered search gets its own nearest papers rather than the survivors of a top k.
        """
        query_bits = sign_bits(np.asarray(query, dtype=np.float32).reshape(1, -1))[0]
        with self._lock:
            if within is not None:
                asked = np.sort(np.fromiter(within, dtype=np.int64, count=len(within)))  # sorted: 10x faster lookups
                if len(asked) > 1:
                    asked = asked[np.concatenate(([True], asked[1:] != asked[:-1]))]  # each pk once
                rows = self._rows(asked)
                rows = rows[rows >= 0]
                if len(rows) > wanted:
                    rows = rows[_nearest_rows(_hamming(self._bits[:, rows], query_bits), wanted)]
            elif self._size <= wanted:
                rows = np.arange(self._size)
            else:
                rows = _nearest_rows(_hamming(self._bits[:, : self._size], query_bits), wanted)
            return self._pks[rows], self._slots[rows]


def best(
    query: np.ndarray, pks: np.ndarray, codes: np.ndarray, scales: np.ndarray, k: int, exclude: Collection[int] = ()
) -> list[tuple[int, float]]:
    """(pk, cosine) of the ``k`` best candidates by their exact int8 scores, best first; ties: the newer paper."""
    if k <= 0 or len(pks) == 0:
        return []
    query = np.asarray(query, dtype=np.float32).reshape(-1)
    pks = np.asarray(pks, dtype=np.int64)
    scores = (codes.astype(np.float32) @ query) * scales
    if exclude:
        keep = ~np.isin(pks, np.fromiter(exclude, dtype=np.int64))
        pks, scores = pks[keep], scores[keep]
    top = np.argpartition(-scores, k - 1)[:k] if len(scores) > k else np.arange(len(scores))
    order = top[np.lexsort((-pks[top], -scores[top]))]
    return [(int(pks[i]), float(scores[i])) for i in order]
