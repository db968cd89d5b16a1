"""The evaluation set as a guard: questions over real papers are answered on topic, gibberish is not."""

from __future__ import annotations

from bench.search_eval import evaluate, questions
from tests.conftest import shared_fixture


async def test_questions_are_answered_and_off_topic_shows_nothing() -> None:
    shared_fixture("search-eval/questions.json")
    result = await evaluate()
    summary = result["summary"]
    # Every-word-required answers almost no question; the relaxed reading answers most (docs/benchmarks.md).
    assert summary["search"]["p10"] >= 0.5 > summary["strict"]["p10"]
    assert summary["search"]["answered"] >= 15
    assert summary["search"]["off_topic_shown"] == [0]
    keyword = [row for row in result["questions"] if row["q"] in {"machine unlearning", '"privileged information"'}]
    assert all(row["search"]["p10"] == row["strict"]["p10"] == 1.0 for row in keyword)
    assert len(questions()) == len(result["questions"])
