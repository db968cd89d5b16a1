"""/foryou end to end: the real MiniLM model, the real bot and database, the Discord stand-in.

Only the handful of papers a test publishes is embedded (the fixture days' papers stay unindexed), so the
model encodes a dozen short texts per test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from bot import foryou
from bot.db.embeddings import Encoded
from bot.semantic import MODEL_NAME, Semantic
from bot.semantic.encoder import Encoder
from bot.semantic.vectors import dequantise, embedding_text, text_hash, to_blob
from testing.bot_harness import World
from tests.test_e2e_delivery import new_item, publish
from tests.test_e2e_library import buttons, only

pytestmark = pytest.mark.e2e

SAVED = [
    ("Machine unlearning for large language models", "We remove the influence of chosen training examples."),
    ("Robot grasping from camera images", "A robot arm learns to pick up unseen objects using a wrist camera."),
    ("Speech recognition for low-resource languages", "An acoustic model transcribes speech in rare languages."),
]
CANDIDATES = [
    ("Forgetting training data on request", "Erasing what a trained network learned from a subset of its data."),
    ("Dexterous robotic picking with vision", "A manipulator grasps cluttered objects from RGB images."),
    ("Automatic transcription of spoken dialects", "Speech to text for languages with little labelled audio."),
    ("Medieval tax records of Burgundy", "Archival study of fourteenth-century fiscal ledgers and tithes."),
]


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder.load()


@pytest.fixture
async def semantic(world: World, encoder: Encoder) -> AsyncIterator[Semantic]:
    """The bot's semantic service with the shared model (settings turn it off to spare each bot the load)."""
    service = Semantic(world.bot.db, encoder=encoder)
    assert await service.load()
    world.bot.semantic = service
    try:
        yield service
    finally:
        service.close()


async def publish_and_embed(world: World, semantic: Semantic, texts: list[tuple[str, str]]) -> list[str]:
    """Publish papers, poll, and store just these papers' embeddings as the background embedder does."""
    ids = publish(world, *(new_item(title, abstract=abstract) for title, abstract in texts))
    await world.bot.poller.poll_once()
    db = world.bot.db
    rows = [
        await db.fetchone("SELECT pk, title, abstract, updated_at FROM papers WHERE arxiv_id = ?", (i,)) for i in ids
    ]
    found = [row for row in rows if row is not None]
    assert len(found) == len(ids)
    encoded = [embedding_text(row["title"], row["abstract"]) for row in found]
    vectors = await semantic.encode(encoded)
    items = [
        Encoded(row["pk"], row["updated_at"], text_hash(MODEL_NAME, text), to_blob(vector))
        for row, text, vector in zip(found, encoded, vectors, strict=True)
    ]
    async with db.transaction() as conn:
        assert len(await db.embeddings.save(conn, MODEL_NAME, items)) == len(items)
    return ids


async def save_all(world: World, ids: list[str]) -> None:
    for paper_id in ids:
        assert "Saved:" in only(await world.run("library add", {"paper": paper_id})).content


def card_ids(message: Any) -> list[str]:
    return [embed["footer"]["text"].removeprefix("arXiv:") for embed in message.embeds]


async def test_foryou_ranks_recent_papers_by_the_closest_saved_one(world: World, semantic: Semantic) -> None:
    saved = await publish_and_embed(world, semantic, SAVED)
    candidates = await publish_and_embed(world, semantic, CANDIDATES)
    await save_all(world, saved)

    answer = only(await world.run("foryou"))
    assert answer.ephemeral
    assert answer.allowed_mentions == {"parse": []}
    shown = card_ids(answer)
    assert not set(shown) & set(saved), "saved papers are never recommended"
    # Each on-topic candidate is found, named after the saved paper on the same subject.
    assert set(candidates[:3]) <= set(shown)
    assert candidates[3] not in shown, "an off-topic paper stays below the similarity floor"
    for candidate, (saved_title, _) in zip(candidates[:3], SAVED, strict=True):
        (card,) = [embed for embed in answer.embeds if embed["footer"]["text"] == f"arXiv:{candidate}"]
        assert f"close to your saved **{saved_title}**" in card["description"]
    # Ranked: best first, by the highest cosine to any saved paper, computed here independently.
    pks = {row["arxiv_id"]: row["pk"] for row in await world.bot.db.fetchall("SELECT pk, arxiv_id FROM papers")}
    stored = dict(await world.bot.db.embeddings.vectors(MODEL_NAME, list(pks.values())))
    seeds = np.stack([dequantise(stored[pks[paper_id]]) for paper_id in saved])
    best = {paper_id: float((seeds @ dequantise(stored[pks[paper_id]])).max()) for paper_id in shown}
    assert [best[paper_id] for paper_id in shown] == sorted(best.values(), reverse=True)
    # Every card carries Save and Related.
    labels = buttons(answer)
    assert {f"Save {paper_id}" for paper_id in shown} | {f"Related {paper_id}" for paper_id in shown} <= set(labels)
    press = await world.fake.click(answer, labels[f"Save {shown[0]}"], user=world.member)
    assert "Saved:" in only(await press.wait_done(timeout=10)).content
    again = only(await world.run("foryou"))
    assert shown[0] not in card_ids(again), "a paper saved from /foryou leaves the recommendations"
    # Papers the index has not reached yet are said to be waiting, not silently ignored.
    assert "not indexed by meaning yet" in answer.content
    public = only(await world.run("foryou", {"public": True}))
    assert not public.ephemeral and public.embeds and public.allowed_mentions == {"parse": []}


async def test_fewer_than_three_saved_papers_explains_how_it_works(world: World, semantic: Semantic) -> None:
    saved = await publish_and_embed(world, semantic, SAVED[:2])
    await save_all(world, saved)
    answer = only(await world.run("foryou"))
    assert answer.ephemeral and not answer.embeds
    assert "Recommendations come from your library" in answer.content
    assert "You have saved 2 papers; save at least 3" in answer.content


async def test_without_the_model_says_so_plainly(world: World) -> None:
    rows = await world.bot.db.fetchall("SELECT arxiv_id FROM papers ORDER BY pk LIMIT 3")
    await save_all(world, [row["arxiv_id"] for row in rows])
    answer = only(await world.run("foryou", {"public": True}))
    assert answer.ephemeral and not answer.embeds
    assert "Recommendations need semantic search, which is not available" in answer.content
    assert "right now: turned off (SEMANTIC\\_ENABLED=false)." in answer.content  # Markdown-escaped


async def test_saved_papers_not_yet_indexed_are_explained(world: World, semantic: Semantic) -> None:
    rows = await world.bot.db.fetchall("SELECT arxiv_id FROM papers ORDER BY pk LIMIT 3")
    await save_all(world, [row["arxiv_id"] for row in rows])
    answer = only(await world.run("foryou", {"period": "month"}))
    assert answer.ephemeral and "None of your saved papers is indexed by meaning yet (3 papers waiting)" in (
        answer.content
    )


async def test_nothing_close_enough_says_so(world: World, semantic: Semantic) -> None:
    saved = await publish_and_embed(world, semantic, SAVED)
    await publish_and_embed(world, semantic, CANDIDATES[3:])
    await save_all(world, saved)
    result = await foryou.recommend(world.bot.db, semantic, world.member.id, period="today")
    assert result.status is foryou.Status.NOTHING_CLOSE
    answer = only(await world.run("foryou", {"period": "today"}))
    assert "No paper listed in the last 24 hours is close enough" in answer.content
    assert "period:Last 30 days" in answer.content
