"""A deterministic synthetic corpus of ML papers, topic subscriptions and search queries, and its cache.

Why synthetic: the benchmarks need 10k–1M papers and there are a few hundred real ones in the fixtures.
Why not uniform random words: FTS cost depends on how skewed term frequencies are, on document length and
on phrases. So the text is stitched from short spans of real abstracts and titles (which keeps real phrases
such as "large language models") interleaved with single words drawn from a Zipf distribution over the real
vocabulary extended by a long tail of made-up words (method names, rare terms: at 1M papers a tail word is
in tens of papers, as real rare terms are). Lengths (abstract words, title words, authors per paper) are
drawn from the real papers' distributions.

Everything comes from ``random.Random`` seeded from the seed and a stream number, so a given seed and
``GENERATOR_VERSION`` give the same corpus on every machine. Bump ``GENERATOR_VERSION`` whenever the output
changes: it is part of the cache key.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import os
import random
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import fallback
from bench.aio import run_async
from bot.db import Database
from bot.db.fts import merge_step
from bot.db.migrations import MIGRATIONS, SCHEMA_VERSION
from bot.models import Paper, Source
from bot.query import parse_query
from testing.paths import DATA, SHARED_FIXTURES

GENERATOR_VERSION = 2

# The corpus ends here and runs backwards at about the rate the bot's default arXiv categories
# (cs.AI, cs.CL, cs.CV, cs.LG, new + cross-lists) announce papers: 1M papers is about four years.
ANCHOR = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
PAPERS_PER_DAY = 700
# Paper numbers at or above this are never used by the corpus (at most ~22k papers a month), so papers
# made for "new arrivals" (a poll batch, a matching run) can never collide with corpus ids.
FRESH_NUMBER_BASE = 90_000

# Real text is bursty: "unlearning" fills a few papers, not a few words of every paper. So most spans of a
# synthetic paper come from a couple of real "source" papers (its topic), the rest from the whole pool.
PRIMARY_SHARE = 0.7  # of a paper's spans, from its main source paper
SECONDARY_SHARE = 0.2  # from a second source paper; the rest from anywhere
HF_SHARE = 0.08  # papers also on Hugging Face Daily Papers (about 50 a day against ~700 on arXiv)
HF_ONLY_SHARE = 0.02
SYNTHETIC_TAIL = 200_000  # made-up words after the real vocabulary in the Zipf ranking
TAIL_SKIP = 5_000  # tail ranks used for camel-case method names, kept out of the word stream's head
# The single-word stream starts below the head: common words come only from (bursty) spans of real text.
HEAD_SKIP = 500

_WORD = re.compile(r"[^\W_]+")
# Function words: never chosen as topic or query terms (FTS5 keeps them, so they still take index space).
_STOPWORDS_TEXT = """
a about above after again against all also an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here hers how
i if in into is it its itself just may me might more most much must my no nor not now of off on once only or other
our ours out over own same she should so some such than that the their them then there these they this those
through to too under until up upon very via was we were what when where which while who whom why will with within
without would you your yet us one two three new use used using based show shows shown propose proposed present
introduce however across well thus often
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
_SYLLABLES_TEXT = """
ka ri to ne lu mo sa vi de zo ra fe ti no ba qu el an or ix ur ly ve co ma ge hu sy pe la xo dra tri flo gra ple sto
vor ken mir tas ben lor nex pha zen cor dal fin gal hal jor kel mun
"""
_SYLLABLES = _SYLLABLES_TEXT.split()
_CATEGORIES = ("cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML", "cs.RO", "cs.IR", "cs.SD", "eess.IV", "cs.NE")


def _default_fixture_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("BENCH_FIXTURES"):
        dirs.append(Path(os.environ["BENCH_FIXTURES"]))
    dirs += [SHARED_FIXTURES, DATA]
    return dirs


def _real_papers(dirs: list[Path]) -> tuple[list[Paper], list[str]]:
    """Every well-formed real paper in the fixture folders (HF JSON lists and arXiv RSS), one per id."""
    from bot.sources.arxiv import parse_feed
    from bot.sources.hf import parse_daily_papers

    papers: dict[str, Paper] = {}
    used: list[str] = []
    for folder in dirs:
        if not folder.is_dir():
            continue
        # Only real-text files: the seeds, the 2024 capture and the test data; edge/ is hand-made oddities.
        files = sorted(p for p in folder.rglob("*") if p.suffix in {".json", ".xml"} and "edge" not in p.parts)
        for path in files:
            try:
                if path.suffix == ".json":
                    data = json.loads(path.read_bytes())
                    if isinstance(data, dict):
                        data = [data]
                    found = parse_daily_papers(data).papers
                else:
                    found = parse_feed(path.read_bytes()).papers
            except Exception:  # noqa: S112 - a fixture we cannot read is just not used
                continue
            if found:
                used.append(str(path))
            for paper in found:  # the same paper in an RSS and an HF file: merge, keeping HF's keywords
                papers[paper.id] = papers[paper.id].merge(paper) if paper.id in papers else paper
    return [papers[key] for key in sorted(papers)], used


def _pseudo_words(count: int, taken: set[str], rng: random.Random) -> list[str]:
    words: dict[str, None] = {}
    while len(words) < count:
        word = "".join(rng.choices(_SYLLABLES, k=rng.choice((2, 3, 3, 4))))
        if word not in taken:
            words.setdefault(word, None)
    return list(words)


def _chunks(words: list[str], rng: random.Random, low: int, high: int) -> Iterator[str]:
    start = 0
    while start < len(words):
        size = rng.randint(low, high)
        yield " ".join(words[start : start + size])
        start += size


@dataclass
class Vocabulary:
    """Everything the generator draws from, derived once from real papers (or the built-in sample)."""

    source: str
    real_papers: int
    abstract_chunks: list[str]
    title_chunks: list[str]
    words: list[str]  # Zipf-ranked: real words by frequency, then the synthetic tail
    word_cum: list[float]  # cumulative Zipf weights of words[HEAD_SKIP:]
    real_words: int
    content_words: list[str]  # real, ranked, no stopwords, alphabetic, 3+ letters: topic and query terms
    phrases: list[str]  # frequent real two- and three-word sequences, lowercase
    abstract_lengths: list[int]
    title_lengths: list[int]
    author_counts: list[int]
    first_names: list[str]
    last_names: list[str]
    keywords: list[str]
    files: list[str] = field(default_factory=list)
    abstract_chunk_words: float = 4.0  # mean words per span, to hit the sampled lengths
    title_chunk_words: float = 2.5
    abstract_spans: list[tuple[int, int]] = field(default_factory=list)  # each real paper's chunk range
    title_spans: list[tuple[int, int]] = field(default_factory=list)

    @classmethod
    def load(cls, dirs: list[Path] | None = None) -> Vocabulary:
        papers, files = _real_papers(_default_fixture_dirs() if dirs is None else dirs)
        papers = [paper for paper in papers if paper.abstract and len(paper.abstract.split()) >= 20]
        if len(papers) >= 20:
            titles = [paper.title for paper in papers]
            abstracts = [paper.abstract for paper in papers]
            authors = [name for paper in papers for name in paper.authors]
            author_counts = [len(paper.authors) for paper in papers if paper.authors]
            keywords = sorted({kw for paper in papers for kw in paper.keywords})
            source = f"{len(papers)} real papers from {len(files)} fixture files"
        else:
            titles, abstracts = list(fallback.TITLES), list(fallback.ABSTRACTS)
            authors = [f"{first} {last}" for first in fallback.FIRST_NAMES for last in fallback.LAST_NAMES]
            author_counts = [1, 2, 3, 3, 4, 4, 5, 5, 5, 6, 6, 7, 8, 9, 11, 14]
            keywords = list(fallback.KEYWORDS)
            source, files = "built-in sample (no fixtures found)", []
        return cls._build(titles, abstracts, authors, author_counts, keywords, source, len(titles), files)

    @classmethod
    def _build(
        cls,
        titles: list[str],
        abstracts: list[str],
        authors: list[str],
        author_counts: list[int],
        keywords: list[str],
        source: str,
        real_papers: int,
        files: list[str],
    ) -> Vocabulary:
        rng = random.Random(1)  # the vocabulary is fixed; only the corpus depends on the seed
        abstract_words = [text.split() for text in abstracts]
        title_words = [text.split() for text in titles]
        abstract_chunks: list[str] = []
        abstract_spans: list[tuple[int, int]] = []
        for words in abstract_words:
            start = len(abstract_chunks)
            abstract_chunks += _chunks(words, rng, 2, 6)
            abstract_spans.append((start, len(abstract_chunks)))
        title_chunks: list[str] = []
        title_spans: list[tuple[int, int]] = []
        for words in title_words:
            start = len(title_chunks)
            title_chunks += _chunks(words, rng, 1, 4)
            title_spans.append((start, len(title_chunks)))
        counts: Counter[str] = Counter()
        bigrams: Counter[str] = Counter()
        trigrams: Counter[str] = Counter()
        for text in itertools.chain(titles, abstracts):
            tokens = [token.lower() for token in _WORD.findall(text)]
            counts.update(tokens)
            for a, b, c in itertools.zip_longest(tokens, tokens[1:], tokens[2:]):
                if b is None:
                    continue
                if _phrase_ok(a, b):
                    bigrams[f"{a} {b}"] += 1
                if c is not None and _phrase_ok(a, c) and b.isalpha():
                    trigrams[f"{a} {b} {c}"] += 1
        real = [word for word, _ in counts.most_common()]
        tail = _pseudo_words(SYNTHETIC_TAIL, set(real), rng)
        words = real + tail
        head = min(HEAD_SKIP, len(real) // 2)
        cum = list(itertools.accumulate(1.0 / (rank + 2.7) for rank in range(head + 1, len(words) + 1)))
        content = [w for w in real if w.isalpha() and len(w) >= 3 and w not in STOPWORDS]
        phrases = [p for p, n in bigrams.most_common(400) if n >= 2] + [
            p for p, n in trigrams.most_common(150) if n >= 2
        ]
        if len(phrases) < 20:
            phrases += [p for p, _ in bigrams.most_common(200)]
        firsts = sorted({name.split()[0] for name in authors if " " in name})
        lasts = sorted({name.split()[-1] for name in authors if " " in name})
        # Real author pools are small; made-up surnames keep a million papers from sharing a few hundred names.
        lasts += [w.capitalize() for w in tail[:3000]]
        return cls(
            source=source,
            real_papers=real_papers,
            abstract_chunks=abstract_chunks,
            title_chunks=title_chunks,
            words=words,
            word_cum=cum,
            real_words=len(real),
            content_words=content,
            phrases=list(dict.fromkeys(phrases)),
            abstract_lengths=sorted(len(words) for words in abstract_words),
            title_lengths=sorted(len(words) for words in title_words),
            author_counts=sorted(author_counts) or [3],
            first_names=firsts or list(fallback.FIRST_NAMES),
            last_names=lasts,
            keywords=keywords or list(fallback.KEYWORDS),
            files=files,
            abstract_chunk_words=_mean_words(abstract_chunks),
            title_chunk_words=_mean_words(title_chunks),
            abstract_spans=abstract_spans,
            title_spans=title_spans,
        )

    def fingerprint(self) -> str:
        """A short hash of the text the corpus is drawn from: the built-in sample and the shared fixtures (or a
        changed fixture set) give different corpora, so a cached corpus must never stand in for the other."""
        digest = hashlib.sha256()
        for chunk in itertools.chain(self.title_chunks, ["\0"], self.abstract_chunks, ["\0"], self.last_names):
            digest.update(chunk.encode())
            digest.update(b"\n")
        return digest.hexdigest()[:8]

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "real_words": self.real_words,
            "synthetic_tail_words": len(self.words) - self.real_words,
            "abstract_chunks": len(self.abstract_chunks),
            "title_chunks": len(self.title_chunks),
            "phrases": len(self.phrases),
            "abstract_words_median": self.abstract_lengths[len(self.abstract_lengths) // 2],
            "title_words_median": self.title_lengths[len(self.title_lengths) // 2],
        }


def _mean_words(chunks: list[str]) -> float:
    return sum(chunk.count(" ") + 1 for chunk in chunks) / max(1, len(chunks))


def _phrase_ok(a: str, b: str) -> bool:
    return a.isalpha() and b.isalpha() and len(a) >= 3 and len(b) >= 3 and a not in STOPWORDS and b not in STOPWORDS


class CorpusGenerator:
    """Papers in listing order, oldest first; ``stream`` separates independent sequences from one seed."""

    def __init__(self, vocabulary: Vocabulary, seed: int, stream: int = 0) -> None:
        self.vocab = vocabulary
        self.rng = random.Random(f"{seed}:{stream}")
        self._month_counters: dict[str, int] = {}
        self._stream = vocabulary.words[len(vocabulary.words) - len(vocabulary.word_cum) :]

    def _spans(self, chunks: list[str], spans: list[tuple[int, int]], origin: list[int], k: int) -> list[str]:
        """``k`` spans: most from the paper's source papers' text, the rest from anywhere."""
        rng = self.rng
        primary, secondary = (chunks[slice(*spans[source])] for source in origin)
        n_primary = round(k * PRIMARY_SHARE) if primary else 0
        n_secondary = round(k * SECONDARY_SHARE) if secondary else 0
        picked = rng.choices(primary, k=n_primary) if n_primary else []
        if n_secondary:
            picked += rng.choices(secondary, k=n_secondary)
        return picked + rng.choices(chunks, k=max(0, k - n_primary - n_secondary))

    def _text(self, chunks: list[str], length: int, ratio: int, origin: list[int]) -> str:
        """About ``length`` words: spans of real text interleaved with one Zipf word every ``ratio`` spans."""
        rng = self.rng
        n_chunks = max(1, round(length / (self.vocab.abstract_chunk_words + 1 / ratio)))
        picked = self._spans(chunks, self.vocab.abstract_spans, origin, n_chunks)
        rng.shuffle(picked)
        single = rng.choices(self._stream, cum_weights=self.vocab.word_cum, k=n_chunks)
        if ratio == 1:
            return " ".join(itertools.chain.from_iterable(zip(picked, single, strict=True)))
        return " ".join(
            f"{chunk} {word}" if index % ratio == ratio - 1 else chunk
            for index, (chunk, word) in enumerate(zip(picked, single, strict=True))
        )

    def paper(self, listed_at: datetime, *, fresh: bool = False) -> Paper:
        rng, vocab = self.rng, self.vocab
        yymm = listed_at.strftime("%y%m")
        number = self._month_counters.get(yymm, FRESH_NUMBER_BASE if fresh else 0) + 1
        self._month_counters[yymm] = number
        abstract_len = int(rng.choice(vocab.abstract_lengths) * rng.uniform(0.85, 1.15))
        title_len = max(3, rng.choice(vocab.title_lengths))
        origin = [rng.randrange(len(vocab.abstract_spans)) for _ in range(2)]
        title_chunks = self._spans(
            vocab.title_chunks, vocab.title_spans, origin, max(1, round(title_len / vocab.title_chunk_words))
        )
        rng.shuffle(title_chunks)
        if rng.random() < 0.3:  # "Name: what it does", as so many ML titles are
            name = vocab.words[vocab.real_words + rng.randrange(TAIL_SKIP)]
            title_chunks.insert(0, name.capitalize() + ":")
        title = " ".join(title_chunks)
        title = title[:1].upper() + title[1:]
        abstract = self._text(vocab.abstract_chunks, abstract_len, 1, origin)
        n_authors = rng.choice(vocab.author_counts)
        authors = [
            f"{first} {last}"
            for first, last in zip(
                rng.choices(vocab.first_names, k=n_authors), rng.choices(vocab.last_names, k=n_authors), strict=True
            )
        ]
        roll = rng.random()
        on_hf = roll < HF_SHARE
        sources = (Source.HF if roll < HF_ONLY_SHARE else Source.HF | Source.ARXIV) if on_hf else Source.ARXIV
        paper_id = f"{yymm}.{number:05d}"
        fields: dict[str, Any] = {}
        if on_hf:
            fields = {
                "keywords": rng.sample(vocab.keywords, k=min(len(vocab.keywords), rng.randint(3, 8))),
                "upvotes": min(int(rng.paretovariate(1.1)) - 1 + rng.randint(0, 3), 2_000),
                "num_comments": rng.choice((0, 0, 0, 1, 1, 2, 3, 5)),
                "thumbnail": f"https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/{paper_id}.png",
            }
            if rng.random() < 0.5:
                fields["ai_summary"] = self._text(vocab.abstract_chunks, rng.randint(18, 35), 2, origin)
            if rng.random() < 0.35:
                fields["github_repo"] = f"https://github.com/{rng.choice(vocab.words[:2000])}/{paper_id}"
                fields["github_stars"] = int(rng.paretovariate(0.9))
            if rng.random() < 0.2:
                fields["project_page"] = f"https://{rng.choice(vocab.content_words[:500])}.github.io/{paper_id}"
            if rng.random() < 0.15:
                fields["organization"] = rng.choice(vocab.last_names[:200])
        return Paper(
            id=paper_id,
            title=title,
            abstract=abstract,
            authors=authors,
            categories=rng.sample(_CATEGORIES, k=rng.choice((1, 1, 2, 2, 3))),
            published_at=listed_at - timedelta(hours=rng.randint(6, 72)),
            listed_at=listed_at,
            sources=sources,
            **fields,
        )

    def corpus(self, count: int, batch: int) -> Iterator[list[Paper]]:
        """``count`` papers ending at ANCHOR, oldest first, in lists of ``batch``."""
        start = ANCHOR - timedelta(days=count / PAPERS_PER_DAY)
        step = timedelta(days=1) / PAPERS_PER_DAY
        for offset in range(0, count, batch):
            yield [self.paper(start + step * index) for index in range(offset, min(count, offset + batch))]

    def fresh(self, count: int, *, after: datetime = ANCHOR) -> list[Paper]:
        """New papers listed after the corpus, with ids no corpus paper uses: what a poll brings in."""
        step = timedelta(days=1) / PAPERS_PER_DAY
        return [self.paper(after + step * (index + 1), fresh=True) for index in range(count)]


def _pick(rng: random.Random, words: list[str], low: int, high: int) -> str:
    return words[rng.randrange(low, min(high, len(words)))]


def _term(rng: random.Random, vocab: Vocabulary) -> str:
    """A topic word: mostly mid-frequency content words (what people follow), some common, some rare."""
    roll = rng.random()
    if roll < 0.2:
        return _pick(rng, vocab.content_words, 0, 100)
    if roll < 0.85:
        return _pick(rng, vocab.content_words, 100, 3000)
    return vocab.words[vocab.real_words + rng.randrange(TAIL_SKIP, TAIL_SKIP + 50_000)]


def _phrase(rng: random.Random, vocab: Vocabulary) -> str:
    return f'"{rng.choice(vocab.phrases)}"'


def topic_query(rng: random.Random, vocab: Vocabulary) -> str:
    """One subscription in the bot's language: 1–4 terms, some phrases, some OR, some -exclusions."""
    n_terms = rng.choices((1, 2, 3, 4), weights=(40, 35, 17, 8))[0]
    parts = [_phrase(rng, vocab) if rng.random() < 0.25 else _term(rng, vocab) for _ in range(n_terms)]
    if n_terms >= 2 and rng.random() < 0.25:
        joined = f"{parts[0]} OR {parts[1]}"
        parts = [joined, *parts[2:]]
    if rng.random() < 0.15:
        parts.append("-" + (_phrase(rng, vocab) if rng.random() < 0.2 else _term(rng, vocab)))
    return " ".join(parts)


def topics(vocab: Vocabulary, count: int, seed: int) -> list[tuple[int, str]]:
    """``count`` distinct (user_id, canonical query) subscriptions; users follow 1–8 topics each."""
    rng = random.Random(f"{seed}:topics")
    result: dict[tuple[int, str], None] = {}
    user = 0
    while len(result) < count:
        user += 1
        for _ in range(rng.randint(1, 8)):
            canonical = parse_query(topic_query(rng, vocab), strict=True).canonical()
            result.setdefault((10**17 + user, canonical), None)
            if len(result) == count:
                break
    return list(result)


def search_mix(vocab: Vocabulary, seed: int, per_kind: int = 8) -> list[tuple[str, str]]:
    """The fixed query mix for ``search``: (kind, query) in the bot's language, ``per_kind`` of each kind."""
    rng = random.Random(f"{seed}:search")
    content = vocab.content_words

    def common() -> str:
        return _pick(rng, content, 0, 40)

    def mid() -> str:
        return _pick(rng, content, 150, 2000)

    def rare() -> str:
        return vocab.words[vocab.real_words + rng.randrange(TAIL_SKIP, TAIL_SKIP + 100_000)]

    def phrase() -> str:
        return _phrase(rng, vocab)

    kinds: dict[str, Callable[[], str]] = {
        "common-1": lambda: common(),
        "mid-1": lambda: mid(),
        "rare-1": lambda: rare(),
        "2-words": lambda: f"{common()} {mid()}",
        "3-words": lambda: f"{mid()} {common()} {rng.choice((common, mid))()}",
        "phrase": lambda: phrase(),
        "phrase+word": lambda: f"{phrase()} {mid()}",
        "or": lambda: " OR ".join(mid() for _ in range(rng.choice((2, 3)))),
        "exclude": lambda: f"{rng.choice((common, mid))()} -{mid()}",
        "mixed": lambda: f"{phrase()} {common()} OR {mid()} -{rare()}",
    }
    return [(kind, make()) for kind, make in kinds.items() for _ in range(per_kind)]


@dataclass
class CorpusInfo:
    """A cached corpus database and how it was built (build figures come from the run that built it)."""

    path: Path
    papers: int
    topics: int
    key: str
    reused: bool
    build: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


@dataclass(frozen=True)
class CorpusSpec:
    """What a corpus holds (a ``--scale``'s sizes and the seed) and the papers per transaction it is built with."""

    scale: str
    papers: int
    topics: int
    seed: int
    build_batch: int


def cache_key(spec: CorpusSpec, vocabulary: Vocabulary) -> str:
    """Scale, seed, generator, vocabulary and schema: the vocabulary by a hash of its text (fallback sample vs
    fixtures), the schema by version *and* a hash of the migration SQL, so a migration edited in place before
    it ships also rebuilds the cache."""
    schema = hashlib.sha256("\n".join(MIGRATIONS).encode()).hexdigest()[:8]
    sizes = f"{spec.scale}-p{spec.papers}-t{spec.topics}-seed{spec.seed}"
    return f"corpus-{sizes}-gen{GENERATOR_VERSION}-vocab{vocabulary.fingerprint()}-schema{SCHEMA_VERSION}-{schema}"


def _quiet(message: str) -> None:
    pass


def ensure_corpus(
    spec: CorpusSpec,
    cache_dir: Path,
    vocabulary: Vocabulary,
    *,
    say: Callable[[str], None] = _quiet,
    loadavg: list[float] | None = None,
) -> CorpusInfo:
    """The corpus for ``spec``: reused from ``cache_dir`` when present, else built through the real upsert path.

    Built under a temporary name and renamed when complete, so an interrupted build is never reused. ``loadavg``
    (the machine's at the start of the run) is recorded with the build figures.
    """
    key = cache_key(spec, vocabulary)
    path = cache_dir / f"{key}.db"
    meta_path = cache_dir / f"{key}.json"
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        say(f"corpus: reusing {path}")
        return CorpusInfo(path, meta["papers"], meta["topics"], key, True, meta["build"])
    cache_dir.mkdir(parents=True, exist_ok=True)
    building = path.with_name(path.name + ".building")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{building}{suffix}").unlink(missing_ok=True)
    older = _older_schema(spec, vocabulary, cache_dir)
    if older is not None:
        return _migrate_older(older, path, meta_path, building, key, say)
    say(f"corpus: building {spec.papers:,} papers and {spec.topics:,} topics into {path} (cached afterwards)")
    build = run_async(_build(spec, vocabulary, building, say, loadavg))
    building.rename(path)
    count, topic_count = build["papers"], build.pop("topic_rows")
    meta_path.write_text(json.dumps({"papers": count, "topics": topic_count, "build": build}, indent=2))
    say(f"corpus: built in {build['total_s']}s")
    return CorpusInfo(path, count, topic_count, key, False, build)


def _schema_hash(version: int) -> str:
    return hashlib.sha256("\n".join(MIGRATIONS[:version]).encode()).hexdigest()[:8]


def _older_schema(spec: CorpusSpec, vocabulary: Vocabulary, cache_dir: Path) -> tuple[Path, Path] | None:
    """A cached corpus of the same sizes, generator and vocabulary built at an earlier schema whose migrations
    are an unchanged prefix of today's: migrating a copy takes seconds where a 1M-paper build takes most of an
    hour, and it is the same path a deployed archive takes on upgrade."""
    prefix = cache_key(spec, vocabulary).rsplit("-schema", 1)[0] + "-schema"
    best: tuple[int, Path, Path] | None = None
    for candidate in cache_dir.glob(f"{prefix}*.db"):
        version_text, _, digest = candidate.stem.removeprefix(prefix).partition("-")
        meta = candidate.with_suffix(".json")
        if not version_text.isdigit() or not meta.exists():
            continue
        version = int(version_text)
        if version < SCHEMA_VERSION and digest == _schema_hash(version) and (best is None or version > best[0]):
            best = (version, candidate, meta)
    return None if best is None else (best[1], best[2])


def _migrate_older(
    older: tuple[Path, Path], path: Path, meta_path: Path, building: Path, key: str, say: Callable[[str], None]
) -> CorpusInfo:
    source, source_meta = older
    say(f"corpus: migrating a copy of {source.name} to schema {SCHEMA_VERSION}")
    started = time.perf_counter()
    run_async(_copy_and_migrate(source, building))
    building.rename(path)
    meta = json.loads(source_meta.read_text())
    meta["build"]["migrated_from"] = source.name
    meta["build"]["migrate_s"] = round(time.perf_counter() - started, 2)
    meta_path.write_text(json.dumps(meta, indent=2))
    say(f"corpus: migrated in {meta['build']['migrate_s']}s")
    return CorpusInfo(path, meta["papers"], meta["topics"], key, True, meta["build"])


async def _copy_and_migrate(source: Path, target: Path) -> None:
    """SQLite's online backup (a copy taken while another run reads the cache is consistent), then the
    bot's own open, which runs the pending migrations."""

    def copy() -> None:
        with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
            src.backup(dst)

    await asyncio.to_thread(copy)
    db = await Database.open(target)
    await db.close()


async def _build(
    spec: CorpusSpec, vocabulary: Vocabulary, building: Path, say: Callable[[str], None], loadavg: list[float] | None
) -> dict[str, Any]:
    generator = CorpusGenerator(vocabulary, spec.seed)
    generate_s = upsert_s = 0.0
    batch_rates: list[float] = []
    started = time.perf_counter()
    db = await Database.open(building)
    try:
        papers = iter(generator.corpus(spec.papers, spec.build_batch))
        done = 0
        while True:
            t0 = time.perf_counter()
            batch = next(papers, None)
            t1 = time.perf_counter()
            if batch is None:
                break
            async with db.transaction() as conn:
                await db.papers.upsert(conn, batch)
            t2 = time.perf_counter()
            generate_s += t1 - t0
            upsert_s += t2 - t1
            batch_rates.append(len(batch) / (t2 - t1))
            done += len(batch)
            if done % (spec.build_batch * 10) == 0 or done == spec.papers:
                say(f"corpus: {done:,}/{spec.papers:,} papers ({done / upsert_s:,.0f}/s upsert)")
        merge_started = time.perf_counter()
        merged = True
        while merged:  # the merging a running bot does while idle (bot.db.fts): commits no longer merge
            async with db.transaction() as conn:
                merged = await merge_step(conn, 1_000)
        merge_s = time.perf_counter() - merge_started
        t0 = time.perf_counter()
        subscriptions = topics(vocabulary, spec.topics, spec.seed)
        t1 = time.perf_counter()
        for offset in range(0, len(subscriptions), 5_000):
            async with db.transaction() as conn:
                for user_id, query in subscriptions[offset : offset + 5_000]:
                    await db.topics.add(conn, user_id, query)
        t2 = time.perf_counter()
        count = await db.papers.count()
        topic_count = int(await db.fetchval("SELECT COUNT(*) FROM topics") or 0)
    finally:
        await db.close()  # the last connection to close checkpoints and removes the WAL
    return {
        "papers": count,
        "topic_rows": topic_count,
        "batch": spec.build_batch,
        "generate_s": round(generate_s, 2),
        "upsert_s": round(upsert_s, 2),
        "upsert_papers_per_s": round(count / upsert_s, 1) if upsert_s else None,
        "index_merge_s": round(merge_s, 2),
        "first_batch_papers_per_s": round(batch_rates[0], 1) if batch_rates else None,
        "last_batch_papers_per_s": round(batch_rates[-1], 1) if batch_rates else None,
        "topics_generate_s": round(t1 - t0, 2),
        "topics_insert_s": round(t2 - t1, 2),
        "total_s": round(time.perf_counter() - started, 2),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "loadavg_at_start": loadavg,
    }
