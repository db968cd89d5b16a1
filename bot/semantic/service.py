"""Semantic search and related papers: the model, the stored embeddings and the in-memory index together.

Without the model (package missing, files damaged, or SEMANTIC_ENABLED=false) ``available`` is False,
``reason`` says why in one line, and every method answers "nothing" so callers fall back to lexical search.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from pathlib import Path

import numpy as np

from bot.db import Database
from bot.db.embeddings import Encoded
from bot.models import Paper
from bot.semantic.encoder import DIMENSIONS, MODEL_NAME, Encoder, ModelUnavailableError
from bot.semantic.index import VectorIndex
from bot.semantic.inference import BACKGROUND, QUERY, InferenceThread
from bot.semantic.vectors import dequantise, embedding_text, text_hash, to_blob

log = logging.getLogger(__name__)

# Cosine below which a paper is not shown as a match for a question. Measured on the 174 seed papers
# (docs/benchmarks.md): on-topic answers score 0.34 and up; off-topic, gibberish, German, Chinese, SQL and
# emoji queries 0.19 at most.
SIMILARITY_FLOOR = 0.25
QUERY_CHARS = 2_000  # far beyond 256 tokens; keeps tokenizing hostile input cheap
BATCH = 4  # papers per background batch and transaction; a query waits for one layer of one batch at most
_INDEX_CHUNK = 5_000  # rows per read at start-up: bigger chunks raised the peak RSS at 1M papers

Progress = Callable[[int, int], None]


def _folder(db: Database) -> Path | None:
    """Where the index's scratch file goes: beside the database (on disk, not a RAM-backed /tmp)."""
    path = Path(str(db.path))
    return path.parent if path.parent.is_dir() else None


class Semantic:
    available: bool
    reason: str | None

    def __init__(
        self, db: Database, *, model_dir: Path | None = None, enabled: bool = True, encoder: Encoder | None = None
    ) -> None:
        self.db = db
        self.model_dir = model_dir
        self.enabled = enabled
        self.available = False
        self.reason = "loading the model" if enabled else "turned off (SEMANTIC_ENABLED=false)"
        self.index = VectorIndex(DIMENSIONS, _folder(db))
        self._encoder = encoder  # an already loaded model (tests and benchmarks share one)
        self._thread: InferenceThread | None = None
        self._loaded = asyncio.Event()
        self._total = 0

    async def load(self) -> bool:
        """Load the model and build the index from SQLite; True when semantic search is on. Logs once why not."""
        if self._loaded.is_set():
            return self.available
        try:
            if not self.enabled:
                log.info("semantic search off: %s", self.reason)
                return False
            self._thread = InferenceThread()
            try:
                if self._encoder is None:
                    self._encoder = await self._thread.run(BACKGROUND, Encoder.load, self.model_dir)
            except ModelUnavailableError as error:
                self.reason = str(error)
            except (MemoryError, OSError) as error:
                self.reason = f"the model could not be loaded: {error}"
            if self._encoder is None:
                log.warning("semantic search off, searching by words only: %s", self.reason)
                self._thread.stop()
                self._thread = None
                return False
            try:
                await self._load_index()
            except OSError as error:  # the scratch file beside the database: disk full, read-only folder
                self.reason = f"the index's scratch file could not be written: {str(error)[:200]}"
                log.warning("semantic search off, searching by words only: %s", self.reason)
                self.close()
                return False
            self._total = await self.db.papers.count()
            self.available, self.reason = True, None
            log.info("semantic index: %d / %d papers embedded", len(self.index), self._total)
            return True
        finally:
            self._loaded.set()

    async def ready(self) -> bool:
        await self._loaded.wait()
        return self.available

    async def _load_index(self) -> None:
        """Sign bits of every stored vector, in pk order (so the index needs no sorting), room reserved once."""
        self.index.reserve(await self.db.embeddings.count(MODEL_NAME))
        after = 0
        while rows := await self.db.embeddings.chunk(MODEL_NAME, after, _INDEX_CHUNK):
            raw = np.frombuffer(b"".join(blob for _, blob in rows), dtype=np.uint8).reshape(len(rows), -1)
            self.index.add_rows([pk for pk, _ in rows], raw)
            after = rows[-1][0]

    def close(self) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None
        self.available = False
        self.index.close()

    def progress(self) -> tuple[int, int]:
        """(embedded, total papers) as of the embedder's last round."""
        return len(self.index), max(self._total, len(self.index))

    async def encode(self, texts: list[str], *, priority: int = BACKGROUND) -> np.ndarray:
        if self._encoder is None or self._thread is None:
            raise ModelUnavailableError(self.reason or "the model is not loaded")
        pause = self._thread.yield_to_queries if priority == BACKGROUND else None
        return await self._thread.run(priority, self._encoder.encode, texts, pause)

    async def encode_query(self, text: str) -> np.ndarray | None:
        """The query's unit vector, or None when semantic search is off or the text is blank."""
        text = " ".join(text.split())[:QUERY_CHARS]
        if not self.available or not text:
            return None
        vector: np.ndarray = (await self.encode([text], priority=QUERY))[0]
        return vector

    async def nearest(
        self, vector: np.ndarray, k: int, *, within: Collection[int] | None = None, exclude: Collection[int] = ()
    ) -> list[tuple[int, float]]:
        """(paper pk, cosine) best first, on a worker thread: ranking 1M papers' sign bits is CPU work."""
        if not self.available or k <= 0 or (within is not None and not within):
            return []
        return await asyncio.to_thread(self.index.search, vector, k, within=within, exclude=exclude)

    async def related(self, arxiv_id: str, k: int = 5) -> list[tuple[int, float]]:
        """The papers nearest to a stored paper, itself excluded; [] until it has been embedded."""
        if not self.available:
            return []
        found = await self.db.embeddings.for_paper(arxiv_id, MODEL_NAME)
        if found is None:
            return []
        pk, blob = found
        return await self.nearest(dequantise(blob), k, exclude=(pk,))

    async def related_papers(self, arxiv_id: str, k: int = 5) -> list[tuple[Paper, float]]:
        """``related`` with the papers themselves, best first."""
        hits = await self.related(arxiv_id, k)
        papers = await self.db.papers.by_pks([pk for pk, _ in hits])
        return [(papers[pk], score) for pk, score in hits if pk in papers]

    async def embed_pending(self, *, batch: int = BATCH, progress: Progress | None = None) -> int:
        """Encode every paper whose embedding is missing or stale, newest first, one short transaction per batch.

        Returns how many vectors were written. ``progress(done, total)`` is called after each batch.
        """
        if not self.available:
            return 0
        written = 0
        self._total = await self.db.papers.count()
        while pending := await self.db.embeddings.pending(MODEL_NAME, batch):
            texts = [embedding_text(item.title, item.abstract) for item in pending]
            hashes = [text_hash(MODEL_NAME, text) for text in texts]
            same = [item.pk for item, digest in zip(pending, hashes, strict=True) if item.text_hash == digest]
            todo = [i for i, (item, digest) in enumerate(zip(pending, hashes, strict=True)) if item.text_hash != digest]
            vectors = await self.encode([texts[i] for i in todo]) if todo else np.zeros((0, DIMENSIONS))
            items = [
                Encoded(pending[i].pk, pending[i].updated_at, hashes[i], to_blob(vector))
                for i, vector in zip(todo, vectors, strict=True)
            ]
            async with self.db.transaction() as conn:
                if same:
                    await self.db.embeddings.mark_fresh(conn, MODEL_NAME, same)
                stored = set(await self.db.embeddings.save(conn, MODEL_NAME, items))
            keep = [i for i, item in enumerate(items) if item.pk in stored]
            if keep:
                self.index.add_vectors([items[i].pk for i in keep], vectors[keep])
            written += len(keep)
            if progress is not None:
                progress(len(self.index), self._total)
            if len(pending) < batch:
                break
        self._total = await self.db.papers.count()
        return written
