"""The bench corpus cache never hands back a corpus drawn from another vocabulary."""

from __future__ import annotations

from pathlib import Path

from bench.corpus import CorpusSpec, Vocabulary, cache_key


def test_cache_key_differs_between_fallback_and_fixture_vocabularies(tmp_path: Path) -> None:
    spec = CorpusSpec(scale="small", papers=10, topics=1, seed=1, build_batch=10)
    fallback = Vocabulary.load([tmp_path / "no-fixtures-here"])
    fixtures = Vocabulary.load()
    assert fallback.source.startswith("built-in")
    assert not fixtures.source.startswith("built-in")
    assert cache_key(spec, fallback) != cache_key(spec, fixtures)
    assert cache_key(spec, fallback) == cache_key(spec, Vocabulary.load([tmp_path / "no-fixtures-here"]))
