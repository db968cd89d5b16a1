"""Search quality on real papers: precision@10 and nDCG@10 of each reading over the evaluation questions.

    python -m bench.search_eval [--json]

The corpus is the three visible seed lists (../shared/fixtures/seeds); the questions are the shared starting set
(``search-eval/questions.json``, stems graded 2) plus ours (``bench/data/search_questions.json``, graded 1-2).
Readings: ``strict`` (every word, today's search), ``search`` (what ``bot.search.search`` answers now), and the
two fusions of the relaxed reading when a semantic index is passed in (``rrf``, ``blend``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import tempfile
from pathlib import Path
from typing import Any

from bot.archive import store
from bot.db import Database
from bot.db.papers import SearchFilters
from bot.models import Paper
from bot.query import QueryError, parse_query
from bot.relaxed import SemanticSearch, ranking, uses_operators
from bot.search import search
from bot.sources.hf import parse_daily_papers

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "fixtures"
OURS = Path(__file__).resolve().parent / "data" / "search_questions.json"
K = 10


def questions() -> list[dict[str, Any]]:
    """Both sets with graded stems; an empty grade map means "nothing should be shown"."""
    shared = json.loads((SHARED / "search-eval" / "questions.json").read_text(encoding="utf-8"))["questions"]
    out = [{"q": item["q"], "grades": dict.fromkeys(item["stems"], 2), "set": "shared"} for item in shared]
    ours = json.loads(OURS.read_text(encoding="utf-8"))["questions"]
    return out + [{"q": item["q"], "grades": item["grades"], "set": "ours"} for item in ours]


def seed_papers() -> list[Paper]:
    papers: dict[str, Paper] = {}
    for n in range(3):
        data = json.loads((SHARED / "seeds" / f"hf_daily_papers_{n:03d}.json").read_bytes())
        for paper in parse_daily_papers(data).papers:
            papers[paper.id] = paper
    return list(papers.values())


def gain(paper: Paper, grades: dict[str, int]) -> int:
    text = f"{paper.title}\n{paper.abstract or ''}".lower()
    return max((grade for stem, grade in grades.items() if stem in text), default=0)


def ndcg(gains: list[int], ideal: list[int]) -> float:
    def dcg(values: list[int]) -> float:
        return float(sum((2**value - 1) / math.log2(rank + 2) for rank, value in enumerate(values[:K])))

    best = dcg(sorted(ideal, reverse=True))
    return dcg(gains) / best if best else 0.0


async def _readings(db: Database, text: str, semantic: SemanticSearch | None) -> dict[str, list[Paper]]:
    try:
        parsed = parse_query(text)
    except QueryError:
        return {}
    out = {
        "strict": await db.papers.search(parsed.fts(), limit=K),
        "search": (await search(db, parsed, per_page=K, semantic=semantic)).papers,
    }
    if semantic is not None and semantic.available and not uses_operators(parsed):
        strict = await db.papers.strict_pks(parsed.fts(), SearchFilters(), K)
        for method in ("rrf", "blend"):
            pks = await ranking(
                db,
                parsed,
                strict_first=strict,
                semantic=semantic,
                filters=SearchFilters(),
                sort="relevance",
                fusion=method,
            )
            out[method] = await db.papers.in_order(pks[:K])
    return out


async def evaluate(semantic: SemanticSearch | None = None, db_path: Path | None = None) -> dict[str, Any]:
    """Per reading: mean precision@10 and nDCG@10 over on-topic questions, and what off-topic ones showed."""
    with tempfile.TemporaryDirectory() as folder:
        db = await Database.open(db_path or Path(folder) / "eval.db")
        try:
            papers = seed_papers()
            await store(db, papers)
            per_question = []
            for item in questions():
                ideal = sorted((gain(paper, item["grades"]) for paper in papers), reverse=True)
                row: dict[str, Any] = {"q": item["q"], "set": item["set"]}
                for name, found in (await _readings(db, item["q"], semantic)).items():
                    gains = [gain(paper, item["grades"]) for paper in found]
                    row[name] = {
                        "shown": len(found),
                        "p10": sum(value > 0 for value in gains) / K,
                        "ndcg10": ndcg(gains, ideal),
                    }
                per_question.append(row)
        finally:
            await db.close()
    names = sorted({key for row in per_question for key in row if key not in {"q", "set"}})
    on_topic = [row for row, item in zip(per_question, questions(), strict=True) if item["grades"]]
    off_topic = [row for row, item in zip(per_question, questions(), strict=True) if not item["grades"]]
    summary = {
        name: {
            "questions": len(on_topic),
            "p10": round(sum(row[name]["p10"] for row in on_topic if name in row) / len(on_topic), 3),
            "ndcg10": round(sum(row[name]["ndcg10"] for row in on_topic if name in row) / len(on_topic), 3),
            "answered": sum(1 for row in on_topic if name in row and row[name]["p10"] > 0),
            "off_topic_shown": [row[name]["shown"] for row in off_topic if name in row],
        }
        for name in names
    }
    return {"corpus_papers": len(seed_papers()), "summary": summary, "questions": per_question}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search_eval", description=__doc__)
    parser.add_argument("--json", action="store_true", help="every question's figures as JSON")
    args = parser.parse_args(argv)
    result = asyncio.run(evaluate())
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['corpus_papers']} papers; {len(result['questions'])} queries")
    for name, data in result["summary"].items():
        print(
            f"{name:7} P@10 {data['p10']:.3f}  nDCG@10 {data['ndcg10']:.3f}  "
            f"answered {data['answered']}/{data['questions']}  off-topic shown {data['off_topic_shown']}"
        )
    for row in result["questions"]:
        cells = "  ".join(f"{name} {row[name]['p10']:.1f}" for name in result["summary"] if name in row)
        print(f"  [{row['set']}] {row['q'][:70]:70}  {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
