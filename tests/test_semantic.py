"""The semantic index: storage and migration, the background embedder, unchanged text, the lexical-only fallback."""

from __future__ import annotations

import asyncio
import io
import sqlite3
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from bot import archive
from bot.db import Database
from bot.db.migrations import MIGRATIONS, SCHEMA_VERSION
from bot.models import Paper
from bot.render.status import semantic_line
from bot.search import search
from bot.semantic import DIMENSIONS, MODEL_NAME, SIMILARITY_FLOOR, Semantic
from bot.semantic import index as index_module
from bot.semantic.encoder import Encoder
from bot.semantic.index import VectorIndex
from bot.semantic.inference import BACKGROUND
from bot.semantic.progress import ProgressPrinter
from bot.semantic.service import BATCH, Progress
from bot.semantic.vectors import quantise, to_blob
from bot.semantic.worker import Embedder
from bot.status import collect
from testing.factories import make_paper

TOPICS = {
    "2601.00001": ("Machine unlearning for language models", "We remove the influence of training examples."),
    "2601.00002": ("Forgetting data on request", "Erasing what a trained network learned from a subset of data."),
    "2601.00003": ("Diffusion models for image synthesis", "A latent diffusion model makes high-resolution images."),
    "2601.00004": ("Robot grasping from images", "A robot arm learns to pick objects with a camera."),
}


def _papers(**overrides: tuple[str, str]) -> list[Paper]:
    texts = TOPICS | overrides
    return [make_paper(paper_id, title=title, abstract=abstract) for paper_id, (title, abstract) in texts.items()]


async def wait_for(condition: Callable[[], bool], limit: float = 60.0) -> None:
    """Check ``condition`` every 20 ms until it holds; fail after ``limit`` seconds (a busy 2-core machine)."""
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110 - the embedder has no event to await; a bounded poll
            await asyncio.sleep(0.02)


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder.load()


@pytest.fixture
async def semantic(db: Database, encoder: Encoder) -> AsyncIterator[Semantic]:
    service = Semantic(db, encoder=encoder)
    assert await service.load()
    try:
        yield service
    finally:
        service.close()


class CountingSemantic(Semantic):
    """Counts the texts sent to the model, to prove unchanged text is never re-encoded."""

    encoded = 0

    async def encode(self, texts: list[str], *, priority: int = BACKGROUND) -> np.ndarray:
        self.encoded += len(texts)
        return await super().encode(texts, priority=priority)


async def test_migration_from_the_previous_schema_keeps_papers(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:-1]:
        conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    conn.execute(
        "INSERT INTO papers (arxiv_id, title, first_seen_at, updated_at) VALUES ('2601.00001', 'Old paper', 1, 1)"
    )
    conn.commit()
    conn.close()
    db = await Database.open(path)
    try:
        assert await db.fetchval("PRAGMA user_version") == SCHEMA_VERSION
        assert await db.papers.count() == 1
        assert await db.embeddings.count(MODEL_NAME) == 0
        assert [item.pk for item in await db.embeddings.pending(MODEL_NAME, 10)] == [1]
    finally:
        await db.close()


async def test_embed_pending_stores_vectors_and_related_finds_the_neighbour(db: Database, semantic: Semantic) -> None:
    await archive.store(db, _papers())
    assert semantic.progress() == (0, 0)
    assert await semantic.embed_pending() == 4
    assert semantic.progress() == (4, 4)
    assert await db.embeddings.count(MODEL_NAME) == 4
    related = await semantic.related("2601.00001", k=3)
    pks = {row["arxiv_id"]: row["pk"] for row in await db.fetchall("SELECT pk, arxiv_id FROM papers")}
    assert related[0][0] == pks["2601.00002"]
    assert pks["2601.00001"] not in [pk for pk, _ in related]
    assert related[0][1] > related[-1][1]
    assert await semantic.related("2601.99999") == []
    query = await semantic.encode_query("how do I make a model forget some of its training data")
    assert query is not None
    best = await semantic.nearest(query, 2)
    assert {pk for pk, _ in best} == {pks["2601.00001"], pks["2601.00002"]}
    assert all(score >= SIMILARITY_FLOOR for _, score in best)
    within = await semantic.nearest(query, 5, within=[pks["2601.00003"], pks["2601.00004"]])
    assert {pk for pk, _ in within} == {pks["2601.00003"], pks["2601.00004"]}
    assert all(score < SIMILARITY_FLOOR for _, score in within)  # off-topic papers are not matches
    assert await semantic.nearest(query, 5, within=[]) == []


async def test_a_restarted_service_rebuilds_the_index_from_sqlite(
    db: Database, semantic: Semantic, encoder: Encoder
) -> None:
    await archive.store(db, _papers())
    await semantic.embed_pending()
    again = Semantic(db, encoder=encoder)
    try:
        assert await again.load()
        assert again.progress() == (4, 4)
        assert await again.related("2601.00001", k=1) == await semantic.related("2601.00001", k=1)
        assert await again.embed_pending() == 0
    finally:
        again.close()


async def test_unchanged_text_is_never_re_encoded(db: Database, encoder: Encoder) -> None:
    semantic = CountingSemantic(db, encoder=encoder)
    assert await semantic.load()
    try:
        await archive.store(db, _papers())
        await semantic.embed_pending()
        assert semantic.encoded == 4
        # An upvote refresh rewrites the row but not the text.
        await archive.store(db, [paper.model_copy(update={"upvotes": 99}) for paper in _papers()])
        assert await semantic.embed_pending() == 0
        # Edited and edited back before the embedder ran: the stored vector is right, nothing is encoded.
        await archive.store(db, _papers(**{"2601.00003": ("A new title", "x")}))
        await archive.store(db, _papers())
        assert await semantic.embed_pending() == 0
        assert semantic.encoded == 4
        assert await db.embeddings.pending(MODEL_NAME, 10) == []
        # A real edit is re-encoded, once.
        await archive.store(db, _papers(**{"2601.00004": ("Robot grasping, revised", "Now with touch sensors.")}))
        assert await semantic.embed_pending() == 1
        assert semantic.encoded == 5
    finally:
        semantic.close()


async def test_background_embedder_catches_up_after_each_poll(db: Database, encoder: Encoder) -> None:
    semantic = Semantic(db, encoder=encoder)
    embedder = Embedder(semantic, idle=3600)
    await archive.store(db, _papers()[:2])
    embedder.start()
    try:
        await wait_for(lambda: semantic.progress() == (2, 2))
        await archive.store(db, _papers())
        embedder.wake()
        await wait_for(lambda: semantic.progress() == (4, 4))
        assert await db.embeddings.count(MODEL_NAME) == 4
    finally:
        await embedder.stop()


async def test_background_embedder_survives_a_failing_round(
    db: Database, encoder: Encoder, caplog: pytest.LogCaptureFixture
) -> None:
    class Failing(Semantic):
        failures = 1

        async def embed_pending(self, *, batch: int = BATCH, progress: Progress | None = None) -> int:
            if self.failures:
                self.failures -= 1
                raise sqlite3.OperationalError("disk I/O error")
            return await super().embed_pending(batch=batch, progress=progress)

    semantic = Failing(db, encoder=encoder)
    embedder = Embedder(semantic, idle=3600, retry=0.01)
    await archive.store(db, _papers())
    embedder.start()
    try:
        await wait_for(lambda: semantic.progress() == (4, 4))
        assert "embedding papers failed" in caplog.text
    finally:
        await embedder.stop()


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({}, "cannot read the model"),
        ({"model.safetensors": b"not a model", "tokenizer.json": b"{}"}, "damaged"),
    ],
)
async def test_a_missing_or_damaged_model_means_lexical_only(
    db: Database, tmp_path: Path, files: dict[str, bytes], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_bytes(content)
    await archive.store(db, _papers())
    semantic = Semantic(db, model_dir=folder)
    embedder = Embedder(semantic)
    embedder.start()
    try:
        assert not await semantic.ready()
        assert semantic.reason is not None
        assert reason in semantic.reason
        assert caplog.text.count("semantic search off") == 1
        assert await semantic.encode_query("machine unlearning") is None
        assert await semantic.related("2601.00001") == []
        assert await semantic.embed_pending() == 0
        report = await collect(
            db,
            started_at=datetime.now(UTC),
            enabled_sources=[],
            next_poll_at=None,
            poll_interval=60,
            guild_id=None,
            semantic=semantic,
        )
        line = semantic_line(report)
        assert line is not None
        assert line.startswith("semantic search off: ")
    finally:
        await embedder.stop()


async def test_turned_off_by_setting(db: Database) -> None:
    semantic = Semantic(db, enabled=False)
    assert not await semantic.load()
    assert semantic.reason == "turned off (SEMANTIC_ENABLED=false)"


async def test_status_line_shows_progress(db: Database, semantic: Semantic) -> None:
    await archive.store(db, _papers())
    await semantic.embed_pending()
    report = await collect(
        db,
        started_at=datetime.now(UTC),
        enabled_sources=[],
        next_poll_at=None,
        poll_interval=60,
        guild_id=None,
        semantic=semantic,
    )
    assert semantic_line(report) == "semantic index: 4 / 4 papers"
    report.semantic_progress = (41_210, 100_000)
    assert semantic_line(report) == "semantic index: 41,210 / 100,000 papers"


def test_progress_is_a_bar_on_a_terminal_and_lines_otherwise() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    printer = ProgressPrinter(terminal)
    printer(3, 12)
    printer(12, 12)
    printer.finish()
    assert terminal.getvalue() == (
        "\rembedding [#######.......................] 3 / 12 papers"
        "\rembedding [##############################] 12 / 12 papers\n"
    )
    plain = io.StringIO()
    printer = ProgressPrinter(plain)
    printer(3, 12)
    printer(4, 12)  # within 5 s of the last line: not repeated
    printer(12, 12)  # the end is always shown
    assert plain.getvalue() == "embedding: 3 / 12 papers\nembedding: 12 / 12 papers\n"


def _search(index: VectorIndex, query: np.ndarray, k: int, wanted: int, **kw: Any) -> list[tuple[int, float]]:
    """``index.search`` with ``wanted`` sign-bit candidates."""
    original = index_module.CANDIDATES
    index_module.CANDIDATES = wanted
    try:
        return index.search(query, k, **kw)
    finally:
        index_module.CANDIDATES = original


def test_sign_bit_candidates_find_the_true_neighbours(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(index_module, "TAIL_LIMIT", 1000)
    rng = np.random.default_rng(5)
    centres = rng.standard_normal((40, DIMENSIONS)).astype(np.float32)
    vectors = centres[rng.integers(0, 40, 4000)] + 0.3 * rng.standard_normal((4000, DIMENSIONS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    codes, scales = quantise(vectors)
    index = VectorIndex(DIMENSIONS, tmp_path)
    # Back-fill order (newest first, descending pks) in uneven batches: exercises the unsorted tail and merges.
    order = np.arange(4000, 0, -1)
    for start in range(0, 4000, 700):
        batch = order[start : start + 700]
        index.add(batch.tolist(), codes[batch - 1], scales[batch - 1])
    assert len(index) == 4000 and 1 in index and 4000 in index and 4001 not in index
    exact = [_search(index, vectors[i], 5, 4000, exclude=(i + 1,)) for i in range(20)]
    approximate = [_search(index, vectors[i], 5, 400, exclude=(i + 1,)) for i in range(20)]
    found = sum(len({pk for pk, _ in a} & {pk for pk, _ in e}) for a, e in zip(approximate, exact, strict=True))
    assert found >= 0.9 * 100
    assert all(pk != i + 1 for i, rows in enumerate(approximate) for pk, _ in rows)
    assert [score for _, score in approximate[0]] == sorted((score for _, score in approximate[0]), reverse=True)
    # Restricted to some pks: the nearest among those only, a full answer when they hold enough papers.
    allowed = set(range(2, 4001, 7))
    within = _search(index, vectors[0], 10, 400, within=allowed)
    assert len(within) == 10 and {pk for pk, _ in within} <= allowed
    truth = sorted(allowed, key=lambda pk: -float(vectors[pk - 1] @ vectors[0]))[:10]
    assert len({pk for pk, _ in within} & set(truth)) >= 9


def test_replacing_a_row_keeps_one_row_per_paper(tmp_path: Path) -> None:
    index = VectorIndex(DIMENSIONS, tmp_path)
    first = np.full((1, DIMENSIONS), 1 / np.sqrt(DIMENSIONS), dtype=np.float32)
    second = -first
    index.add_vectors([5, 3, 9], np.vstack([first, first, first]))
    index.add_vectors([3, 3], np.vstack([first, second]))  # the later vector of a batch wins
    assert len(index) == 3
    assert index.candidates(second[0], 1)[0].tolist() == [3]
    assert index.search(second[0], 3)[0][0] == 3  # the code file holds the replacement too
    assert index.search(second[0], 1)[0][1] == pytest.approx(1.0, abs=1e-3)


class GatedEncoder:
    """The real encoder, except that a background batch (several texts) holds the model's thread until the
    test opens the gate, calling ``pause`` meanwhile as the real encoder does between layers."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.batches = 0

    def encode(self, texts: list[str], pause: Callable[[], None] | None = None) -> np.ndarray:
        if len(texts) > 1:
            self.entered.set()
            while not self.gate.wait(0.01):
                if pause is not None:
                    pause()
            self.batches += 1
        return self.encoder.encode(texts, pause)


async def test_a_query_is_answered_while_the_backfill_is_busy(db: Database, encoder: Encoder) -> None:
    async with db.transaction() as conn:
        await db.papers.upsert(conn, _papers())
    gated = GatedEncoder(encoder)
    service = Semantic(db, encoder=cast(Encoder, gated))
    assert await service.load()
    try:
        backfill = asyncio.create_task(service.embed_pending(batch=2))
        assert await asyncio.to_thread(gated.entered.wait, 60)  # the model is busy with a background batch
        vector = await asyncio.wait_for(service.encode_query("forgetting training data"), 60)
        assert vector is not None and vector.shape == (DIMENSIONS,)
        assert not backfill.done() and gated.batches == 0  # answered while that batch is still running
        gated.gate.set()
        assert await asyncio.wait_for(backfill, 120) == len(TOPICS)
    finally:
        gated.gate.set()
        service.close()


class FixedQuery(Semantic):
    """The real service and index, with the question's vector chosen by the test."""

    query = np.zeros(DIMENSIONS, dtype=np.float32)

    async def encode_query(self, text: str) -> np.ndarray | None:
        return self.query


async def test_a_filtered_question_gets_a_full_page_of_matching_papers(db: Database, encoder: Encoder) -> None:
    # 120 papers very near the question without upvotes, 12 farther ones with upvotes: an unfiltered top 100
    # holds none of the 12, so filtering after it answered nothing.
    rng = np.random.default_rng(3)
    query = np.zeros(DIMENSIONS, dtype=np.float32)
    query[0] = 1.0
    near = [make_paper(f"2602.{n:05d}", title=f"Filler {n}", abstract="Plain text.", upvotes=None) for n in range(120)]
    upvoted = [
        make_paper(f"2602.{n:05d}", title=f"Filler {n}", abstract="Plain text.", upvotes=20) for n in range(120, 132)
    ]
    async with db.transaction() as conn:
        await db.papers.upsert(conn, near + upvoted)
    rows = {row["arxiv_id"]: int(row["pk"]) for row in await db.fetchall("SELECT pk, arxiv_id FROM papers")}
    async with db.transaction() as conn:
        for paper in near + upvoted:
            noise = rng.standard_normal(DIMENSIONS).astype(np.float32)
            noise[0] = 0.0
            noise /= np.linalg.norm(noise)
            weight = 0.9 if paper.upvotes is None else 0.5
            vector = weight * query + np.sqrt(1 - weight**2) * noise
            await conn.execute(
                "INSERT INTO paper_embeddings (paper_pk, model, text_hash, vector) VALUES (?, ?, ?, ?)",
                (rows[paper.id], MODEL_NAME, b"x", to_blob(vector)),
            )
    service = FixedQuery(db, encoder=encoder)
    service.query = query
    assert await service.load()
    try:
        wanted = {paper.id for paper in upvoted}
        seen: list[str] = []
        for page in range(3):
            found = await search(db, "zqx vorpal", per_page=5, page=page, min_upvotes=10, semantic=service)
            assert found.relaxed and {paper.id for paper in found.papers} <= wanted
            seen += [paper.id for paper in found.papers]
            assert len(found.papers) == (5 if page < 2 else 2) and found.has_more == (page < 2)
        assert sorted(seen) == sorted(wanted)
        unfiltered = await search(db, "zqx vorpal", per_page=5, semantic=service)
        assert not {paper.id for paper in unfiltered.papers} & wanted  # the near ones lead without the filter
    finally:
        service.close()


async def test_no_room_for_the_index_file_means_lexical_only(
    db: Database, encoder: Encoder, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    first = Semantic(db, encoder=encoder)
    assert await first.load()
    await archive.store(db, _papers())
    assert await first.embed_pending() == len(TOPICS)
    first.close()

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", no_space)
    second = Semantic(db, encoder=encoder)
    assert not await second.load()
    assert second.reason is not None and "scratch file" in second.reason
    assert caplog.text.count("semantic search off") == 1
    assert await second.related("2601.00001") == []
    second.close()
