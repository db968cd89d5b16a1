"""The relaxed reading of a query: when no page of papers has all its words, rank by lexical and semantic evidence.

Why bounded: a question is mostly common words, and FTS5's ``bm25()`` scores every paper an OR touches (190-250 ms
at 100k papers). Here every content word first costs at most ``DF_CUTOFF + 1`` row ids; only words rarer than
that generate lexical candidates, so the work depends on the cut-off, not on the archive.

Why a floor: a question in another language or gibberish is near *something* semantically; nearest neighbours
below ``SIMILARITY_FLOOR`` with no lexical support are not presented as matches.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from bot.db.papers import SearchFilters, SortOrder
from bot.query import Query, Term

if TYPE_CHECKING:
    from bot.db import Database

DF_CUTOFF = 5_000  # a word in more papers than this is too common to generate candidates
MAX_RARE_WORDS = 6  # the rarest words of a question carry its topic
LEXICAL_CANDIDATES = 200
SEMANTIC_CANDIDATES = 100
RANKING_LIMIT = 100  # the most results a relaxed search pages over (20 pages of 5)
# Filtered questions: semantic neighbours are searched among the papers the filters allow when they number
# at most ALLOWED_CAP; a looser filter (more papers pass) takes LOOSE_FILTER_CANDIDATES neighbours instead.
ALLOWED_CAP = 50_000
LOOSE_FILTER_CANDIDATES = 400
SIMILARITY_FLOOR = 0.25  # cosine below which a neighbour alone is no match (bot.semantic.SIMILARITY_FLOOR)
RRF_K = 60  # the usual reciprocal-rank constant (Cormack et al. 2009)
BLEND_LEXICAL_WEIGHT = 0.4
CACHE_ENTRIES = 128
CACHE_TTL_SECONDS = 900.0  # longer than the pager's life, so Previous/Next never re-rank

Fusion = Literal["rrf", "blend"]
FUSION: Fusion = "rrf"  # chosen on the evaluation set: see docs/benchmarks.md, "Search that understands questions"

RELAXED_NOTE = "No paper has all of your words; showing the closest matches."

# Function words that say nothing about a paper's topic; a question is full of them.
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "get",
        "getting",
        "make",
        "making",
        "use",
        "using",
        "way",
        "ways",
        "new",
        "paper",
        "papers",
        "model",
        "models",
        "method",
        "methods",
        "approach",
        "better",
        "best",
        "good",
        "specific",
        "s",  # person's -> person s
        "t",  # don't -> don t
    ]
)


class SemanticSearch(Protocol):
    """What the relaxed reading needs from ``bot.semantic`` (same names, so plugging it in is one line)."""

    @property
    def available(self) -> bool: ...

    async def encode_query(self, text: str) -> Any: ...

    async def nearest(
        self, vector: Any, k: int, *, within: Collection[int] | None = None, exclude: Collection[int] = ()
    ) -> list[tuple[int, float]]: ...


def uses_operators(query: Query) -> bool:
    """Quoted phrases, OR and exclusions ask for the strict reading whatever it finds (a hyphen does not)."""
    return bool(query.excluded) or any(
        len(group) > 1 or (group[0].is_phrase and group[0].quoted) for group in query.groups
    )


def content_words(query: Query) -> list[str]:
    words = [token for term in query.terms for token in term.tokens]
    return list(dict.fromkeys(word for word in words if word not in STOPWORDS))


def question_text(query: Query) -> str:
    return " ".join(" ".join(term.tokens) for term in query.terms)


@dataclass
class Evidence:
    """The candidates of one question, before filters: what fusion and the benchmarks look at."""

    lexical: list[tuple[int, float]]  # (pk, bm25), best first, lexically supported only
    semantic: list[tuple[int, float]]  # (pk, cosine), best first, at or above the floor
    rare_words: list[str]


async def gather(
    db: Database, query: Query, semantic: SemanticSearch | None, filters: SearchFilters | None = None
) -> Evidence:
    """Lexical candidates from the rarest words, plus semantic neighbours when the model is there.

    With ``filters``, the neighbours are the nearest papers the filters allow (``within``), not the survivors of
    an unfiltered top k, which a filter can empty.
    """
    words = content_words(query)
    postings: dict[str, set[int]] = {}
    frequencies: dict[str, int] = {}
    for word in words:
        frequencies[word] = await db.papers.frequency(Term((word,)).fts(), DF_CUTOFF)
    rare = sorted((word for word in words if 0 < frequencies[word] <= DF_CUTOFF), key=lambda word: frequencies[word])[
        :MAX_RARE_WORDS
    ]
    for word in rare:
        postings[word] = set(await db.papers.postings(Term((word,)).fts(), DF_CUTOFF))
    lexical: list[tuple[int, float]] = []
    if rare:
        # A paper must carry two of the words (one for a one-word query) to count as lexical support:
        # "translation" alone does not make a paper about medieval poetry translation.
        needed = min(2, len(words))
        ranked = await db.papers.rank_any(" OR ".join(Term((word,)).fts() for word in rare), LEXICAL_CANDIDATES)
        for pk, score in ranked:
            if sum(pk in postings[word] for word in rare) >= needed:
                lexical.append((pk, score))
    neighbours: list[tuple[int, float]] = []
    if semantic is not None and semantic.available:
        vector = await semantic.encode_query(question_text(query))
        if vector is not None:
            within, k = None, SEMANTIC_CANDIDATES
            if filters is not None and filters != SearchFilters():
                # Period and upvotes have indexes; a source alone would scan the papers table, so it over-fetches.
                if filters.since is not None or filters.min_upvotes is not None:
                    within = await db.papers.allowed_pks(filters, ALLOWED_CAP)
                k = SEMANTIC_CANDIDATES if within is not None else LOOSE_FILTER_CANDIDATES
            found = await semantic.nearest(vector, k, within=within)
            neighbours = [(pk, cosine) for pk, cosine in found if cosine >= SIMILARITY_FLOOR]
    return Evidence(lexical=lexical, semantic=neighbours, rare_words=rare)


def fuse(evidence: Evidence, method: Fusion = FUSION, *, lexical_weight: float = BLEND_LEXICAL_WEIGHT) -> list[int]:
    """One ranking from both lists: reciprocal-rank fusion, or a blend of normalised scores."""
    scores: dict[int, float] = {}
    if method == "rrf":
        for ranking in (evidence.lexical, evidence.semantic):
            for rank, (pk, _score) in enumerate(ranking):
                scores[pk] = scores.get(pk, 0.0) + 1.0 / (RRF_K + rank + 1)
    else:
        best = min((score for _pk, score in evidence.lexical), default=-1.0) or -1.0  # bm25: lower is better
        for pk, score in evidence.lexical:
            scores[pk] = lexical_weight * (score / best)
        for pk, cosine in evidence.semantic:
            scores[pk] = scores.get(pk, 0.0) + (1 - lexical_weight) * cosine
    return sorted(scores, key=lambda pk: (-scores[pk], -pk))


async def ranking(
    db: Database,
    query: Query,
    *,
    strict_first: Sequence[int],
    semantic: SemanticSearch | None,
    filters: SearchFilters,
    sort: SortOrder,
    fusion: Fusion = FUSION,
) -> list[int]:
    """Every result of the relaxed reading, in display order; papers with all the words come first."""
    evidence = await gather(db, query, semantic, filters)
    return await arrange(db, evidence, strict_first=strict_first, filters=filters, sort=sort, fusion=fusion)


async def arrange(
    db: Database,
    evidence: Evidence,
    *,
    strict_first: Sequence[int],
    filters: SearchFilters,
    sort: SortOrder,
    fusion: Fusion = FUSION,
    lexical_weight: float = BLEND_LEXICAL_WEIGHT,
) -> list[int]:
    """``ranking`` from gathered evidence (the evaluation fuses one question's evidence several ways)."""
    strict = set(strict_first)
    fused = [*strict_first, *(pk for pk in fuse(evidence, fusion, lexical_weight=lexical_weight) if pk not in strict)]
    keys = await db.papers.filter_keys(fused, filters)
    kept = [pk for pk in fused if pk in keys][:RANKING_LIMIT]  # filtered first, so the limit counts matches
    if sort == "newest":
        kept.sort(key=lambda pk: -keys[pk][0])  # stable: fused order breaks ties
    elif sort == "upvotes":
        kept.sort(key=lambda pk: -keys[pk][1])
    return kept


class RankingCache:
    """Fused rankings by query, filters and sort, so every page of one search comes from one ranking.

    An entry is (papers with all the words, ranking): at most ``RANKING_LIMIT`` ints, so ``CACHE_ENTRIES``
    entries stay well under a megabyte.
    """

    def __init__(self, entries: int = CACHE_ENTRIES, ttl: float = CACHE_TTL_SECONDS) -> None:
        self.entries = entries
        self.ttl = ttl
        self._items: OrderedDict[tuple[Any, ...], tuple[float, tuple[int, list[int]]]] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> tuple[int, list[int]] | None:
        item = self._items.get(key)
        if item is None or time.monotonic() - item[0] > self.ttl:
            self._items.pop(key, None)
            return None
        self._items.move_to_end(key)
        return item[1]

    def put(self, key: tuple[Any, ...], value: tuple[int, list[int]]) -> None:
        self._items[key] = (time.monotonic(), value)
        self._items.move_to_end(key)
        while len(self._items) > self.entries:
            self._items.popitem(last=False)


def keyword_form(query: Query, frequencies: dict[str, int], words: int = 3) -> str:
    """A question as a topic: its rarest known words joined with OR (what /subscribe suggests)."""
    known = [word for word in content_words(query) if frequencies.get(word, 0) > 0]
    unknown = [word for word in content_words(query) if frequencies.get(word, 0) == 0]
    chosen = sorted(known, key=lambda word: frequencies[word])[:words] or unknown[:words]
    return " OR ".join(chosen)


async def frequencies(db: Database, query: Query) -> dict[str, int]:
    return {word: len(await db.papers.postings(Term((word,)).fts(), DF_CUTOFF)) for word in content_words(query)}
