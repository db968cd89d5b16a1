"""Search by meaning: a sentence encoder, stored embeddings, and nearest-neighbour search over the archive."""

import os

# One BLAS thread: inference already has its own thread, and BLAS spawning a thread per core on a busy
# 2-core machine made one query 30x slower (docs/benchmarks.md). Must be set before numpy is imported.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from bot.semantic.encoder import DIMENSIONS, MODEL_NAME  # noqa: E402
from bot.semantic.service import SIMILARITY_FLOOR, Semantic  # noqa: E402

__all__ = ["DIMENSIONS", "MODEL_NAME", "SIMILARITY_FLOOR", "Semantic"]
