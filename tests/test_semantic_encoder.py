"""The numpy encoder computes all-MiniLM-L6-v2: compared with sentence-transformers + PyTorch's output.

tests/data/minilm_reference.json comes from bench/make_minilm_reference.py. The model package is a
dependency, so a missing package fails here (it is not skipped).
"""

from __future__ import annotations

import numpy as np
import pytest

from bot.semantic.encoder import DIMENSIONS, Encoder
from testing.paths import data_json


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder.load()


def test_matches_sentence_transformers(encoder: Encoder) -> None:
    reference = data_json("minilm_reference.json")
    expected = np.array(reference["embeddings"], dtype=np.float64)
    # Batched with padding (every text at once) and one by one must both agree with the reference.
    batched = encoder.encode(reference["texts"]).astype(np.float64)
    single = np.vstack([encoder.encode([text]) for text in reference["texts"]]).astype(np.float64)
    for ours in (batched, single):
        assert ours.shape == (len(reference["texts"]), DIMENSIONS)
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
        cosines = (ours * expected).sum(axis=1) / np.linalg.norm(expected, axis=1)
        assert cosines.min() > 0.9999, cosines
        # The similarity order between texts is the model's, not just close vectors.
        ours_sim, expected_sim = ours @ ours.T, expected @ expected.T
        for row in range(len(ours)):
            assert list(np.argsort(-ours_sim[row])[:5]) == list(np.argsort(-expected_sim[row])[:5])


def test_model_card_similarity(encoder: Encoder) -> None:
    a, b, c = encoder.encode(["A man is eating food.", "A man is eating a piece of bread.", "A man is riding a horse."])
    assert float(a @ b) == pytest.approx(0.7553, abs=1e-3)
    assert float(a @ b) > float(a @ c)


def test_empty_batch(encoder: Encoder) -> None:
    assert encoder.encode([]).shape == (0, DIMENSIONS)
