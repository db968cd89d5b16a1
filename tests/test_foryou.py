"""Recommendation scoring (bot.foryou.rank) on synthetic vectors, and the /foryou cards' Discord limits."""

from __future__ import annotations

import numpy as np
import pytest

from bot import foryou
from bot.foryou import Pick, rank
from bot.render.base import CONTENT_MAX, DESCRIPTION_MAX, MESSAGE_EMBED_CHARS, embed_chars
from bot.render.foryou import pick_embeds
from bot.render.weekly import weekly_header
from bot.semantic import DIMENSIONS
from bot.semantic.vectors import to_blob
from testing.factories import make_paper


def unit(*values: float) -> np.ndarray:
    vector = np.zeros(DIMENSIONS, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def rows(pks: list[int], *vectors: np.ndarray) -> list[tuple[int, bytes]]:
    """(pk, stored vector) as bot.db.embeddings returns them."""
    return [(pk, to_blob(vector)) for pk, vector in zip(pks, vectors, strict=True)]


def test_rank_takes_the_closest_saved_paper_not_the_centroid() -> None:
    # Two interests, far apart; their centroid sits between them, close to neither.
    seeds = rows([1, 2], unit(1, 0), unit(0, 1))
    candidates = rows([10, 11, 12, 13], unit(1, 0.05), unit(0.05, 1), unit(1, 1), unit(0, 0, 1))
    ranked = rank(candidates, seeds, k=10, floor=0.25)
    # 10 and 11 tie exactly (mirror images): the newer (higher key) first.
    assert [(pk, seed) for pk, seed, _ in ranked] == [(11, 2), (10, 1), (12, 1)]
    assert ranked[0][2] > 0.99 and 0.7 < ranked[2][2] < 0.71  # the centroid-like paper comes last
    assert 13 not in [pk for pk, _, _ in ranked]  # orthogonal: below the floor
    assert rank(candidates, seeds, k=1, floor=0.25)[0][0] == 11
    assert rank(candidates, [], k=5, floor=0.0) == []  # no saved paper indexed
    assert rank([], seeds, k=5, floor=0.0) == []


def test_rank_scores_across_chunks_like_one_product(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((50, DIMENSIONS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    candidates, seeds = rows(list(range(40)), *vectors[:40]), rows(list(range(40, 50)), *vectors[40:])
    whole = rank(candidates, seeds, k=10, floor=-1.0)
    monkeypatch.setattr(foryou, "_CHUNK", 7)
    chunked = rank(candidates, seeds, k=10, floor=-1.0)
    assert [(pk, seed) for pk, seed, _ in chunked] == [(pk, seed) for pk, seed, _ in whole]
    assert [score for _, _, score in chunked] == pytest.approx([score for _, _, score in whole], abs=1e-6)
    _, decoded = foryou.decode(candidates)
    truth = (decoded @ foryou.decode(seeds)[1].T).max(axis=1)
    assert [pk for pk, _, _ in whole] == list(np.argsort(-truth, kind="stable")[:10])


def test_ten_long_picks_fit_one_message() -> None:
    long = "Ünïcode & [markdown] *stars* " * 40
    picks = [
        Pick(
            make_paper(f"2603.{n:05d}", title=long, ai_summary=long * 3, abstract=long * 5),
            make_paper(f"2601.{n:05d}", title=long),
            0.5,
        )
        for n in range(10)
    ]
    embeds = pick_embeds(picks)
    assert len(embeds) == 10
    assert sum(embed_chars(embed) for embed in embeds) <= MESSAGE_EMBED_CHARS
    for embed in embeds:
        assert embed.description is not None and len(embed.description) <= DESCRIPTION_MAX
        assert embed.description.startswith("-# 🔗 close to your saved **")


def test_weekly_header_fits_a_message_with_ten_long_titles() -> None:
    long = "A *very* long title about [things] " * 10
    header = weekly_header([(long, long)] * 10, note="That makes 50 papers today, your daily limit.")
    assert len(header) <= CONTENT_MAX
    assert header.startswith("✨ **Your weekly picks**: 10 recent papers close to your library")
    assert "is close to your saved" in header
