"""Search quality on real papers: precision@10 and nDCG@10 of each reading over the evaluation questions.

    python -m bench.search_eval [--json]

The corpus is the three visible seed lists (../shared/fixtures/seeds); the questions are the shared starting set
(``search-eval/questions.json``, stems graded 2) plus ours (``bench/data/search_questions.json``, graded 1-2).
Readings: ``strict`` (every word, today's search), ``search`` (what ``bot.search.search`` answers now), and the
two fusions of the relaxed reading when a semantic index is passed in (``rrf``, ``blend``).

    python -m bench.search_eval --model [--json]

loads the real MiniLM model (``bot.semantic``), embeds the seed papers, scores every reading with it, and sweeps
the blend's lexical weight (0 to 1), choosing it on one half of the questions and scoring it on the other.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.archive import store
from bot.db import Database
from bot.db.papers import SearchFilters
from bot.models import Paper
from bot.query import QueryError, parse_query
from bot.relaxed import Fusion, SemanticSearch, arrange, gather, uses_operators
from bot.search import search
from bot.semantic import Semantic
from bot.semantic.encoder import Encoder
from bot.sources.hf import parse_daily_papers

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "fixtures"
OURS = Path(__file__).resolve().parent / "data" / "search_questions.json"
K = 10
WEIGHTS = tuple(round(step / 10, 1) for step in range(11))  # the blend's lexical weight, swept


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
    if semantic is not None and semantic.available:
        out["search-lexical"] = (await search(db, parsed, per_page=K)).papers
        evidence = await gather(db, parsed, semantic)  # one encode; every fusion below ranks the same evidence
        out["lexical"] = await db.papers.in_order([pk for pk, _ in evidence.lexical][:K])
        out["semantic"] = await db.papers.in_order([pk for pk, _ in evidence.semantic][:K])
        fusions: list[tuple[str, Fusion, float]] = [("rrf", "rrf", 0.0)]
        fusions += [(f"blend@{weight:.1f}", "blend", weight) for weight in WEIGHTS]
        strict = await db.papers.strict_pks(parsed.fts(), SearchFilters(), K)
        for name, method, weight in fusions:
            if uses_operators(parsed) or len(strict) >= K:  # the strict reading stands, whatever the fusion
                out[name] = out["strict"]
                continue
            pks = await arrange(
                db,
                evidence,
                strict_first=strict,
                filters=SearchFilters(),
                sort="relevance",
                fusion=method,
                lexical_weight=weight,
            )
            out[name] = await db.papers.in_order(pks[:K])
    return out


async def real_semantic(db: Database) -> Semantic:
    """The real model over ``db``, every paper embedded (minutes on a busy 2-core machine)."""
    semantic = Semantic(db, encoder=Encoder.load())
    if not await semantic.load():
        raise SystemExit(f"the model is not available: {semantic.reason}")
    await semantic.embed_pending()
    return semantic


async def evaluate(
    semantic: SemanticSearch | None = None,
    db_path: Path | None = None,
    *,
    model: Callable[[Database], Awaitable[Semantic]] | None = None,
) -> dict[str, Any]:
    """Per reading: mean precision@10 and nDCG@10 over on-topic questions, and what off-topic ones showed.

    ``model`` builds a semantic index over the evaluation database once the papers are stored (``real_semantic``).
    """
    with tempfile.TemporaryDirectory() as folder:
        db = await Database.open(db_path or Path(folder) / "eval.db")
        built: Semantic | None = None
        try:
            papers = seed_papers()
            await store(db, papers)
            if model is not None:
                built = await model(db)
                semantic = built
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
            if built is not None:
                built.close()
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
    return {
        "corpus_papers": len(seed_papers()),
        "summary": summary,
        "questions": per_question,
        "blend_split": blend_split(per_question) if "blend@0.0" in names else {},
    }


def _mean(rows: list[dict[str, Any]], name: str, metric: str) -> float:
    return sum(row[name][metric] for row in rows) / len(rows) if rows else 0.0


def blend_split(per_question: list[dict[str, Any]]) -> dict[str, Any]:
    """Two-fold choice of the blend weight: pick it by nDCG@10 on one set of questions, score it on the other.

    Ties go to the weight nearest the middle (0.5): with 7-12 questions a flat stretch says nothing.
    """
    with_fusion = [row for row in per_question if "rrf" in row]
    folds = {name: [row for row in with_fusion if row["set"] == name] for name in ("shared", "ours")}
    out: dict[str, Any] = {}
    for tune, test in (("ours", "shared"), ("shared", "ours")):
        best = max(WEIGHTS, key=lambda w: (round(_mean(folds[tune], f"blend@{w:.1f}", "ndcg10"), 6), -abs(w - 0.5)))
        name = f"blend@{best:.1f}"
        out[f"tuned on {tune}, scored on {test}"] = {
            "weight": best,
            "blend": {"p10": _mean(folds[test], name, "p10"), "ndcg10": _mean(folds[test], name, "ndcg10")},
            "rrf": {"p10": _mean(folds[test], "rrf", "p10"), "ndcg10": _mean(folds[test], "rrf", "ndcg10")},
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search_eval", description=__doc__)
    parser.add_argument("--json", action="store_true", help="every question's figures as JSON")
    parser.add_argument("--model", action="store_true", help="with the real MiniLM model (hybrid readings)")
    parser.add_argument("--db", type=Path, help="keep the evaluation database here (embeddings are reused)")
    args = parser.parse_args(argv)
    result = asyncio.run(evaluate(db_path=args.db, model=real_semantic if args.model else None))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['corpus_papers']} papers; {len(result['questions'])} queries")
    for name, data in result["summary"].items():
        print(
            f"{name:7} P@10 {data['p10']:.3f}  nDCG@10 {data['ndcg10']:.3f}  "
            f"answered {data['answered']}/{data['questions']}  off-topic shown {data['off_topic_shown']}"
        )
    for fold, data in result["blend_split"].items():
        print(
            f"blend {fold}: weight {data['weight']:.1f}  P@10 {data['blend']['p10']:.3f} "
            f"nDCG@10 {data['blend']['ndcg10']:.3f}  "
            f"(rrf P@10 {data['rrf']['p10']:.3f} nDCG@10 {data['rrf']['ndcg10']:.3f})"
        )
    for row in result["questions"]:
        cells = "  ".join(f"{name} {row[name]['p10']:.1f}" for name in result["summary"] if name in row)
        print(f"  [{row['set']}] {row['q'][:70]:70}  {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
