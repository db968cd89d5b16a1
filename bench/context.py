"""What every benchmark receives: the scale, the seed, where to cache and scratch, and timing helpers.

``bench.corpus`` is imported only when a benchmark first asks for the vocabulary or the corpus: ``import bench``
stays light (``python -m bench.idle`` measures what the interpreter costs before the bot's imports).
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.aio import run_async as run_async  # benchmarks import it from here, with the other helpers

if TYPE_CHECKING:
    from bench.corpus import CorpusInfo, Vocabulary

DEFAULT_SEED = 20260306
DEFAULT_RESULTS_DIR = Path("bench-results")


@dataclass(frozen=True)
class Scale:
    """Sizes for one ``--scale``; the corpus and topic counts are the issue's 10k/100k/1M and 1k/10k/100k."""

    name: str
    papers: int  # corpus size: what search and resources run over, what a poll lands in
    topics: int  # topic subscriptions stored beside the corpus
    bulk: int  # papers bulk-loaded into an empty database by the ingest benchmark
    bulk_batch: int  # papers per transaction in the bulk load
    poll_batches: int  # how many ~150-paper poll batches the ingest benchmark times
    search_reps: int  # timed repetitions of every query in the mix
    baseline_reps: int  # repetitions of the LIKE baseline (it is slow, so fewer)
    baseline_every: int  # run the baseline on every Nth query of the mix (1 = all of them)
    build_batch: int  # papers per transaction when building the cached corpus


SCALES: dict[str, Scale] = {
    "small": Scale("small", 10_000, 1_000, 10_000, 5_000, 20, 5, 3, 1, 10_000),
    "medium": Scale("medium", 100_000, 10_000, 100_000, 5_000, 30, 5, 2, 1, 10_000),
    "large": Scale("large", 1_000_000, 100_000, 100_000, 5_000, 30, 5, 1, 4, 20_000),
}


def machine_info() -> dict[str, Any]:
    """The facts a reader needs to compare figures between machines (and to see how busy this one was)."""
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    memory_gib: float | None = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    versions: dict[str, str] = {}
    for package in ("aiosqlite", "pydantic", "discord.py"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": memory_gib,
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "packages": versions,
        "loadavg_at_start": _loadavg(),
    }


def _loadavg() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation; NaN for no samples."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(samples_ms: Sequence[float]) -> dict[str, float | int]:
    """p50/p95/p99 plus mean and max, rounded for reading; the raw samples stay out of the JSON."""
    if not samples_ms:
        return {"n": 0}
    return {
        "n": len(samples_ms),
        "p50_ms": round(percentile(samples_ms, 50), 3),
        "p95_ms": round(percentile(samples_ms, 95), 3),
        "p99_ms": round(percentile(samples_ms, 99), 3),
        "mean_ms": round(sum(samples_ms) / len(samples_ms), 3),
        "max_ms": round(max(samples_ms), 3),
    }


def ratio(baseline: float, measured: float) -> float | None:
    """How many times better the real path is than the baseline (None when undefined)."""
    if not measured or math.isnan(measured) or math.isnan(baseline):
        return None
    return round(baseline / measured, 2)


def target(name: str, goal: str, value: float | None, met: bool | None) -> dict[str, Any]:
    return {"name": name, "goal": goal, "value": value, "met": met}


@dataclass
class Context:
    """Handed to every benchmark's ``run(ctx)``; the corpus is built (or taken from the cache) on first use."""

    scale: Scale
    seed: int = DEFAULT_SEED
    cache_dir: Path = DEFAULT_RESULTS_DIR / "cache"
    work_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="paperbot-bench-")))
    machine: dict[str, Any] = field(default_factory=machine_info)
    log: bool = True
    options: dict[str, Any] = field(default_factory=dict)  # e.g. {"what_if": True} from --what-if
    _vocabulary: Vocabulary | None = None
    _corpus: CorpusInfo | None = None

    def say(self, message: str) -> None:
        """Progress on stderr, so a long run shows it is alive and stdout stays the table."""
        if self.log:
            print(f"[bench] {message}", file=sys.stderr, flush=True)

    @property
    def vocabulary(self) -> Vocabulary:
        if self._vocabulary is None:
            from bench.corpus import Vocabulary

            self._vocabulary = Vocabulary.load()
        return self._vocabulary

    def corpus(self) -> CorpusInfo:
        """The cached corpus database for this scale and seed (papers + topics), built if missing."""
        if self._corpus is None:
            from bench.corpus import CorpusSpec, ensure_corpus

            scale = self.scale
            spec = CorpusSpec(scale.name, scale.papers, scale.topics, self.seed, scale.build_batch)
            loadavg = self.machine.get("loadavg_at_start")
            self._corpus = ensure_corpus(spec, self.cache_dir, self.vocabulary, say=self.say, loadavg=loadavg)
        return self._corpus

    def scratch(self, name: str) -> Path:
        """A fresh path in this run's scratch folder (removed when the run ends)."""
        path = self.work_dir / name
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def describe(self) -> dict[str, Any]:
        return {
            "scale": asdict(self.scale),
            "seed": self.seed,
            "cache_dir": str(self.cache_dir),
            "options": self.options,
        }


@contextlib.contextmanager
def timer() -> Iterator[list[float]]:
    """``with timer() as t: ...`` then ``t[0]`` is the elapsed seconds."""
    import time

    holder: list[float] = []
    start = time.perf_counter()
    try:
        yield holder
    finally:
        holder.append(time.perf_counter() - start)
