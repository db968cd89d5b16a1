"""How an embedding is stored: a float32 scale and 384 int8 codes (388 bytes instead of 1,536 for float32).

Unit vectors of this model have components well inside [-0.3, 0.3]; scaling each vector by its own largest
component keeps cosine similarities within ~1e-4 of float32 (measured in bench/semantic.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

SCALE_BYTES = 4


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes int8 (n, d), scales float32 (n,)) with vector ≈ codes * scale."""
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    scales = np.maximum(np.abs(vectors).max(axis=1), 1e-12) / 127.0
    codes = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
    return codes, scales.astype(np.float32)


def to_blob(vector: np.ndarray) -> bytes:
    codes, scales = quantise(vector)
    blob: bytes = scales.astype("<f4").tobytes() + codes[0].tobytes()
    return blob


def from_blob(blob: bytes) -> tuple[np.ndarray, float]:
    """(codes, scale) of one stored vector."""
    scale = float(np.frombuffer(blob[:SCALE_BYTES], dtype="<f4")[0])
    return np.frombuffer(blob[SCALE_BYTES:], dtype=np.int8), scale


def decode(blobs: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """(codes int8 (n, d), scales float32 (n,)) of many stored vectors at once."""
    if not blobs:
        return np.zeros((0, 0), dtype=np.int8), np.zeros(0, dtype=np.float32)
    raw = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), -1)
    scales = raw[:, :SCALE_BYTES].copy().view("<f4").reshape(-1).astype(np.float32)
    return raw[:, SCALE_BYTES:].view(np.int8), scales


def dequantise(blob: bytes) -> np.ndarray:
    codes, scale = from_blob(blob)
    return codes.astype(np.float32) * np.float32(scale)


def embedding_text(title: str, abstract: str) -> str:
    """What is encoded for a paper; the tokenizer keeps the first 256 tokens (the title and most abstracts)."""
    title, abstract = title.strip(), abstract.strip()
    return f"{title}. {abstract}" if abstract else title


def text_hash(model: str, text: str) -> bytes:
    return hashlib.blake2b(f"{model}\n{text}".encode(), digest_size=16).digest()
