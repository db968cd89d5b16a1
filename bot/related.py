"""Related papers: the nearest papers to one paper, for the Related button and ``/related``.

With the semantic index (``bot.semantic``, when the bot has it and it is available) these are the nearest
papers by embedding. Without it, or before the paper is embedded, the answer falls back to a lexical
reading: papers sharing the paper's rarest-looking title words, ranked by BM25 through the search core
(``bot.query`` terms, so no text reaches FTS5 as syntax), and the answer says which reading it used.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from bot.models import Paper
from bot.query import Query, Term

if TYPE_CHECKING:
    from bot.db import Database

log = logging.getLogger(__name__)

COUNT = 5
_WORD = re.compile(r"[^\W_]+")
_TITLE_TERMS = 8
RARE_WORDS = 4  # of those, the rarest few carry the topic
# A title word in more papers than this is too common to relate two papers (and to rank cheaply): counting
# stops there, and the OR of at most RARE_WORDS words ranks at most 4,000 matches.
DF_CUTOFF = 1_000
# Words that say nothing about a paper's subject; without them the fallback OR is about the topic.
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "the",
        "their",
        "to",
        "towards",
        "toward",
        "using",
        "via",
        "what",
        "when",
        "which",
        "who",
        "why",
        "with",
        "without",
        "we",
        "you",
        "your",
        "new",
        "learning",
        "model",
        "models",
        "based",
        "approach",
        "method",
        "methods",
        "study",
        "analysis",
        "data",
        "towards",
        "large",
        "via",
        "efficient",
    ]
)


class SemanticIndex(Protocol):
    """What ``bot.semantic`` offers (helper s-semantic); only this much is used here."""

    available: bool

    async def related(self, arxiv_id: str, k: int = 5) -> list[tuple[int, float]]: ...


@dataclass(frozen=True)
class Related:
    paper: Paper
    papers: list[Paper]
    method: Literal["semantic", "lexical"]
    semantic_off: bool  # True when semantic search is not available at all (not just this paper)


def title_query(paper: Paper) -> Query | None:
    """An OR of the title's longest content words (the rarest-looking ones), or None if nothing is left."""
    words = [word.lower() for word in _WORD.findall(paper.title)]
    content = [word for word in dict.fromkeys(words) if len(word) > 2 and word not in _STOPWORDS]
    chosen = sorted(content, key=len, reverse=True)[:_TITLE_TERMS]
    if not chosen:
        return None
    return Query(groups=(tuple(Term((word[:40],)) for word in chosen),))


async def related(db: Database, semantic: SemanticIndex | None, paper: Paper, *, k: int = COUNT) -> Related:
    available = semantic is not None and bool(getattr(semantic, "available", False))
    if semantic is not None and available:
        try:
            nearest = await semantic.related(paper.id, k=k)
        except Exception:  # the index is an optional helper: a fault there must not fail the button
            log.exception("semantic related papers failed for %s; falling back to title words", paper.id)
            nearest = []
        if nearest:
            by_pk = await db.papers.by_pks([pk for pk, _ in nearest])
            papers = [by_pk[pk] for pk, _ in nearest if pk in by_pk and by_pk[pk].id != paper.id]
            if papers:
                return Related(paper, papers[:k], "semantic", semantic_off=False)
    return Related(paper, await lexical(db, paper, k), "lexical", semantic_off=not available)


async def lexical(db: Database, paper: Paper, k: int) -> list[Paper]:
    """Papers sharing the title's rarest words, best BM25 first.

    Words in more than ``DF_CUTOFF`` papers are left out when the title has rarer ones: they say little about
    the topic, and an OR holding a common word made BM25 score every paper with it (295 ms p95 at 100k papers
    before keyword relevance was windowed; docs/benchmarks.md). A title made only of common words still gets
    an answer: the OR of its words through the keyword search, whose relevance window bounds the work.
    """
    query = title_query(paper)
    if query is None:
        return []
    words = [term.tokens[0] for term in query.groups[0]]
    counts = dict(zip(words, await db.papers.frequencies([Term((w,)).fts() for w in words], DF_CUTOFF), strict=True))
    rare = sorted((word for word in words if 0 < counts[word] <= DF_CUTOFF), key=counts.__getitem__)[:RARE_WORDS]
    found: list[Paper] = []
    if rare:
        ranked = await db.papers.rank_any(" OR ".join(Term((word,)).fts() for word in rare), k + 1)
        found = [other for other in await db.papers.in_order([pk for pk, _ in ranked]) if other.id != paper.id]
    if not found:  # no rare word, or none shared with another paper
        found = [other for other in await db.papers.search(query.fts(), limit=k + 1) if other.id != paper.id]
    return found[:k]
