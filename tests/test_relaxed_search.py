"""The relaxed reading of questions: when it applies, what it ranks, filters, paging and bad input, on real SQLite."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

import pytest

from bot import relaxed, subscriptions
from bot.config import Settings
from bot.db import Database
from bot.models import Source
from bot.query import QueryError, parse_query
from bot.relaxed import RELAXED_NOTE, Evidence, RankingCache, fuse, keyword_form
from bot.render import topics as topics_text
from bot.render.help import help_embed
from bot.search import search
from testing.factories import make_paper
from testing.process import bot_env, run_bot, workdir

DAY = datetime(2026, 3, 1, tzinfo=UTC)

CORPUS = [
    make_paper(
        "2603.10001",
        "Machine Unlearning for Language Models",
        abstract="We erase the influence of a forget set of training examples without retraining.",
        upvotes=40,
        listed_at=DAY.replace(day=1),
    ),
    make_paper(
        "2603.10002",
        "Certified Data Removal",
        abstract="Deleting training examples from a classifier with a certificate that the data is forgotten.",
        upvotes=5,
        listed_at=DAY.replace(day=2),
        sources=Source.ARXIV,
    ),
    make_paper(
        "2603.10003",
        "Forget Sets and Influence",
        abstract="Influence functions estimate what a forget set contributed to training.",
        upvotes=90,
        listed_at=DAY.replace(day=3),
    ),
    make_paper(
        "2603.10004",
        "Diffusion Models for Images",
        abstract="Denoising diffusion generates images from noise.",
        upvotes=12,
        listed_at=DAY.replace(day=4),
    ),
    make_paper(
        "2603.10005",
        "Robots Walk",
        abstract="Reinforcement learning teaches a robot locomotion with privileged simulator state.",
        upvotes=7,
        listed_at=DAY.replace(day=5),
    ),
]
# Filler so that "diffusion" alone finds a full page and keeps the strict reading.
CORPUS += [
    make_paper(f"2603.2{n:04d}", f"Diffusion Study {n}", abstract="Diffusion sampling.", listed_at=DAY)
    for n in range(6)
]

QUESTION = "how do I erase training examples from a forget set"


@pytest.fixture
async def corpus_db(db: Database) -> Database:
    async with db.transaction() as conn:
        await db.papers.upsert(conn, CORPUS)
    return db


class StubSemantic:
    """A stand-in for bot.semantic with fixed neighbours (the real encoder is another helper's; see the report)."""

    def __init__(self, db: Database, neighbours: dict[str, float], available: bool = True) -> None:
        self.db = db
        self.neighbours = neighbours
        self.available = available
        self.encoded: list[str] = []

    async def encode_query(self, text: str) -> Any:
        self.encoded.append(text)
        return [1.0]

    async def nearest(
        self, vector: Any, k: int, *, within: Collection[int] | None = None, exclude: Collection[int] = ()
    ) -> list[tuple[int, float]]:
        rows = await self.db.fetchall("SELECT pk, arxiv_id FROM papers")
        pk = {row["arxiv_id"]: int(row["pk"]) for row in rows}
        ranked = sorted(self.neighbours.items(), key=lambda item: -item[1])
        return [(pk[paper_id], cosine) for paper_id, cosine in ranked][:k]


async def ids(db: Database, query: str, **kwargs: Any) -> list[str]:
    return [paper.id for paper in (await search(db, query, **kwargs)).papers]


async def test_a_page_of_strict_matches_keeps_the_strict_reading(corpus_db: Database) -> None:
    page = await search(corpus_db, "diffusion", per_page=5)
    assert not page.relaxed and RELAXED_NOTE not in page.notes
    assert all("diffusion" in paper.title.lower() for paper in page.papers)


async def test_operators_are_never_relaxed(corpus_db: Database) -> None:
    for query in ['"forget set" erase', "erase OR nothing", "erase training -robot"]:
        page = await search(corpus_db, query, per_page=5)
        assert not page.relaxed, query


async def test_a_hyphen_or_apostrophe_is_not_an_operator(corpus_db: Database) -> None:
    # "person's" and "re-training" tokenize as two-word phrases, but nobody typed quotes: the question still
    # relaxes (the evaluation with the real model found questions like these answered by nothing).
    for question in ["how do I erase a person's training examples from a forget set", "erase re-training forget set"]:
        page = await search(corpus_db, question, per_page=5)
        assert page.relaxed, question
        assert {paper.id for paper in page.papers} >= {"2603.10001", "2603.10003"}, question
    assert relaxed.uses_operators(parse_query('"forget set" erase'))  # typed quotes still mean a phrase
    assert parse_query("person's") == parse_query('"person s"')  # same matching, so same topic


async def test_a_question_relaxes_and_says_so(corpus_db: Database) -> None:
    page = await search(corpus_db, QUESTION, per_page=5)
    assert page.relaxed and page.notes[-1] == RELAXED_NOTE
    found = [paper.id for paper in page.papers]
    # Two or more of the rare words: the unlearning papers; the robot and diffusion papers have none.
    assert set(found) == {"2603.10001", "2603.10002", "2603.10003"}
    again = await search(corpus_db, QUESTION, per_page=5)  # from the cache this time
    assert [paper.id for paper in again.papers] == found and again.relaxed


async def test_one_shared_word_is_not_lexical_support(corpus_db: Database) -> None:
    # "images" is in one paper; "medieval" and "poetry" in none: not a match, so nothing is shown.
    assert await ids(corpus_db, "medieval poetry images", per_page=5) == []
    assert await ids(corpus_db, "xqzv blorf wibble", per_page=5) == []
    assert await ids(corpus_db, "¿cómo olvidan los modelos lo aprendido?", per_page=5) == []


async def test_without_the_model_the_search_is_lexical_only(corpus_db: Database) -> None:
    off = StubSemantic(corpus_db, {"2603.10005": 0.9}, available=False)
    assert await ids(corpus_db, QUESTION, per_page=5, semantic=off) == await ids(corpus_db, QUESTION, per_page=5)
    assert off.encoded == []


async def test_semantic_neighbours_join_and_the_floor_keeps_weak_ones_out(corpus_db: Database) -> None:
    model = StubSemantic(corpus_db, {"2603.10005": 0.62, "2603.10004": relaxed.SIMILARITY_FLOOR - 0.01})
    found = await ids(corpus_db, QUESTION, per_page=10, semantic=model)
    assert "2603.10005" in found  # near in meaning, no shared rare words
    assert "2603.10004" not in found  # below the floor and no lexical support
    assert model.encoded == [QUESTION.lower()]  # the question's words, once


def test_rrf_rewards_agreement_and_blend_uses_scores() -> None:
    evidence = Evidence(lexical=[(1, -9.0), (2, -3.0)], semantic=[(3, 0.9), (2, 0.8)], rare_words=["x"])
    assert fuse(evidence, "rrf")[0] == 2  # in both lists
    # 0.4 * 1/3 + 0.6 * 0.8 for the paper in both lists; 0.6 * 0.9 and 0.4 * 1.0 for the others.
    assert fuse(evidence, "blend") == [2, 3, 1]


async def test_search_ranks_with_the_fusion_chosen_on_the_evaluation_set(corpus_db: Database) -> None:
    # RRF: equal or better than the best blend weight on both held-out halves (docs/benchmarks.md, part 4).
    assert relaxed.FUSION == "rrf"
    model = StubSemantic(corpus_db, {"2603.10005": 0.9, "2603.10004": 0.3, "2603.10002": 0.26})
    evidence = await relaxed.gather(corpus_db, parse_query(QUESTION), model)
    pk = {row["pk"]: row["arxiv_id"] for row in await corpus_db.fetchall("SELECT pk, arxiv_id FROM papers")}
    methods: tuple[relaxed.Fusion, ...] = ("rrf", "blend")
    rrf, blend = ([pk[n] for n in fuse(evidence, method)] for method in methods)
    assert rrf != blend  # so the assertion below can tell them apart
    assert await ids(corpus_db, QUESTION, per_page=10, semantic=model) == rrf


async def test_filters_and_sorts_apply_to_the_fused_results(corpus_db: Database) -> None:
    assert await ids(corpus_db, QUESTION, per_page=5, source=Source.ARXIV) == ["2603.10002"]
    assert set(await ids(corpus_db, QUESTION, per_page=5, min_upvotes=30)) == {"2603.10001", "2603.10003"}
    newest = await ids(corpus_db, QUESTION, per_page=5, sort="newest")
    assert newest == ["2603.10003", "2603.10002", "2603.10001"]
    upvoted = await ids(corpus_db, QUESTION, per_page=5, sort="upvotes")
    assert upvoted == ["2603.10003", "2603.10001", "2603.10002"]


async def test_pages_neither_repeat_nor_reorder_even_when_papers_arrive(corpus_db: Database) -> None:
    first = await search(corpus_db, QUESTION, per_page=2, page=0)
    # A new, strongly matching paper arrives between Next presses: the open search keeps its ranking.
    async with corpus_db.transaction() as conn:
        await corpus_db.papers.upsert(
            conn, [make_paper("2603.10009", "Erase a Forget Set", abstract="Forget set erase training examples.")]
        )
    second = await search(corpus_db, QUESTION, per_page=2, page=1)
    again = await search(corpus_db, QUESTION, per_page=2, page=0)
    shown = [paper.id for paper in first.papers + second.papers]
    assert len(shown) == len(set(shown)) == 3
    assert [paper.id for paper in again.papers] == [paper.id for paper in first.papers]
    assert first.has_more and not second.has_more


def test_the_ranking_cache_is_bounded_and_expires() -> None:
    cache = RankingCache(entries=2, ttl=60)
    for n in range(3):
        cache.put(("q", n), (0, [n]))
    assert cache.get(("q", 0)) is None and cache.get(("q", 2)) == (0, [2])
    stale = RankingCache(entries=2, ttl=-1)  # every entry already older than its time to live
    stale.put(("q",), (0, [1]))
    assert stale.get(("q",)) is None


@pytest.mark.parametrize(
    "raw",
    [
        "word " * 1000,
        "OR OR OR | NOT -",
        "🧠🤖 " * 200,
        "كيف تنسى النماذج بيانات التدريب",
        "'; DROP TABLE papers; -- SELECT * FROM papers_fts WHERE 1=1",
        "erase" * 50,
    ],
)
async def test_hostile_questions_get_an_answer_quickly(corpus_db: Database, raw: str) -> None:
    start = time.perf_counter()
    try:
        answer = f"{len((await search(corpus_db, raw, per_page=5)).papers)} papers"
    except QueryError as error:  # a clear sentence for the user, never a traceback
        answer = str(error)
    assert answer
    assert time.perf_counter() - start < 5
    assert await corpus_db.papers.count() == len(CORPUS)


async def test_keyword_form_uses_the_rarest_known_words(corpus_db: Database) -> None:
    query = parse_query("how to erase training examples from a forget set")
    frequencies = await relaxed.frequencies(corpus_db, query)
    form = keyword_form(query, frequencies)
    assert form.split(" OR ")[0] == "erase"
    assert parse_query(form).groups[0]  # it parses back as one OR group
    assert keyword_form(parse_query("qwzx blorf"), {}) == "qwzx OR blorf"


async def test_subscribe_keeps_the_question_exact_and_suggests_its_keyword_form(corpus_db: Database) -> None:
    now = DAY.replace(day=6)
    result = await subscriptions.subscribe(corpus_db, 1, "how do I erase examples from a forget set", now=now)
    assert result.topic.query == "how do i erase examples from a forget set"  # what was typed, matched exactly
    assert result.recent_matches == 0
    assert result.suggestion is not None and result.suggestion.split(" OR ")[0] == "erase"
    answer = topics_text.subscribed(result)
    assert f"`/subscribe topic:{result.suggestion}`" in answer
    # Keywords that match, one unknown word, and operators get no suggestion.
    assert (await subscriptions.subscribe(corpus_db, 1, "forget set", now=now)).suggestion is None
    assert (await subscriptions.subscribe(corpus_db, 1, "zzyzx", now=now)).suggestion is None
    assert (await subscriptions.subscribe(corpus_db, 1, "erase OR qwerty", now=now)).suggestion is None


def test_help_mentions_questions_and_the_related_button() -> None:
    embed = help_embed()
    text = " ".join(f"{field.name} {field.value}" for field in embed.fields) + (embed.footer.text or "")
    assert "question" in text and "Related" in text


async def test_the_command_line_answers_a_question(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    target = await Database.open(settings.database_path)
    try:
        async with target.transaction() as conn:
            await target.papers.upsert(conn, CORPUS)
    finally:
        await target.close()
    env = bot_env(settings, COLUMNS="100")
    code, out, err = await run_bot("search", QUESTION, "--json", env=env, cwd=workdir(settings))
    assert code == 0, err
    data = json.loads(out)
    assert data["notes"] == [RELAXED_NOTE]
    assert {item["id"] for item in data["results"]} == {"2603.10001", "2603.10002", "2603.10003"}
    code, out, err = await run_bot("search", QUESTION, env=env, cwd=workdir(settings))
    assert code == 0 and "2603.10001" in out and f"note: {RELAXED_NOTE}" in err and "Traceback" not in err


async def test_relevance_ranks_within_the_newest_window_of_a_common_word(
    corpus_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    everything = await ids(corpus_db, "diffusion", per_page=5)
    assert len(everything) == 5
    monkeypatch.setattr("bot.db.papers.RELEVANCE_WINDOW", 3)
    # Only the three papers stored last are ranked, however well older ones would score.
    assert set(await ids(corpus_db, "diffusion", per_page=5)) == {"2603.20003", "2603.20004", "2603.20005"}
    # With filters the window is the newest matches that pass them, so it never hides every paper that does.
    assert "2603.10004" in await ids(corpus_db, "diffusion", per_page=5, min_upvotes=10)


def test_the_relaxed_reading_uses_the_semantic_index_floor() -> None:
    # The floor is measured with the model (bot/semantic); the search must not drift from it.
    from bot import relaxed
    from bot.semantic import SIMILARITY_FLOOR

    assert relaxed.SIMILARITY_FLOOR == SIMILARITY_FLOOR
