"""The bench corpus cache never hands back a corpus drawn from another vocabulary."""

from __future__ import annotations

from pathlib import Path

from bench.corpus import CorpusSpec, Vocabulary, cache_key
from bot.db.migrations import SCHEMA_VERSION


def test_cache_key_differs_between_fallback_and_fixture_vocabularies(tmp_path: Path) -> None:
    spec = CorpusSpec(scale="small", papers=10, topics=1, seed=1, build_batch=10)
    fallback = Vocabulary.load([tmp_path / "no-fixtures-here"])
    fixtures = Vocabulary.load()
    assert fallback.source.startswith("built-in")
    assert not fixtures.source.startswith("built-in")
    assert cache_key(spec, fallback) != cache_key(spec, fixtures)
    assert cache_key(spec, fallback) == cache_key(spec, Vocabulary.load([tmp_path / "no-fixtures-here"]))


def _older_name(key: str, version: int, digest: str) -> str:
    return f"{key.rsplit('-schema', 1)[0]}-schema{version}-{digest}"


def test_a_corpus_from_an_earlier_schema_is_migrated_not_rebuilt(tmp_path: Path) -> None:
    from bench import corpus

    spec = CorpusSpec(scale="small", papers=30, topics=3, seed=7, build_batch=10)
    vocabulary = Vocabulary.load()
    built = corpus.ensure_corpus(spec, tmp_path / "a", vocabulary)
    assert not built.reused
    # Pose as the same corpus saved one schema ago with the then-unchanged migrations.
    older = SCHEMA_VERSION - 1
    name = _older_name(built.key, older, corpus._schema_hash(older))
    cache = tmp_path / "b"
    cache.mkdir()
    built.path.rename(cache / f"{name}.db")
    (tmp_path / "a" / f"{built.key}.json").rename(cache / f"{name}.json")

    migrated = corpus.ensure_corpus(spec, cache, vocabulary)
    assert migrated.reused
    assert migrated.papers == built.papers
    assert migrated.build["migrated_from"] == f"{name}.db"
    assert migrated.path.exists() and (cache / f"{name}.db").exists()  # the older copy is left for other branches


def test_a_corpus_whose_old_migrations_were_edited_is_rebuilt(tmp_path: Path) -> None:
    from bench import corpus

    spec = CorpusSpec(scale="small", papers=30, topics=3, seed=7, build_batch=10)
    vocabulary = Vocabulary.load()
    built = corpus.ensure_corpus(spec, tmp_path / "a", vocabulary)
    name = _older_name(built.key, SCHEMA_VERSION - 1, "00000000")
    cache = tmp_path / "b"
    cache.mkdir()
    built.path.rename(cache / f"{name}.db")
    (tmp_path / "a" / f"{built.key}.json").rename(cache / f"{name}.json")

    rebuilt = corpus.ensure_corpus(spec, cache, vocabulary)
    assert not rebuilt.reused
    assert "migrated_from" not in rebuilt.build
