"""The benchmark suite at its small scale runs end to end (figures are reported, never asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bench

pytestmark = pytest.mark.slow


def test_small_benchmarks_run_and_write_results(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    results = bench.run("small", out=out, cache_dir=tmp_path / "cache", log=False, print_table=False)
    written = json.loads(out.read_text())
    assert written["benchmarks"].keys() == results["benchmarks"].keys() == set(bench.REGISTRY)
    for name, result in results["benchmarks"].items():
        assert result["status"] in ("ok", "not-implemented"), (name, result.get("error"))
        if result["status"] == "ok":
            assert result["table"], name
    assert results["benchmarks"]["search"]["status"] == "ok"
    assert results["machine"]["cpu_count"] >= 1


def test_the_library_bench_filters_only_by_words_that_are_searches() -> None:
    """A saved title starting with "Or" made the library bench fail (a QueryError) in one run out of many."""
    from bench.library import _searchable

    assert not _searchable("Or") and not _searchable("AND")
    assert _searchable("Diffusion") and _searchable("Not")
