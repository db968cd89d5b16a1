"""``python -m bot fetch`` embeds what it stored; ``python -m bot related``: real subprocesses, model and SQLite."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.db import Database
from bot.semantic import MODEL_NAME
from testing.paper_server import PaperServer
from testing.paths import DATA, data_json
from testing.process import Finished, bot_env, run_bot, workdir

pytestmark = pytest.mark.slow  # each run loads the model in a fresh process


async def run_cli(settings: Settings, *args: str) -> Finished:
    return await run_bot(*args, env=bot_env(settings, COLUMNS="100"), cwd=workdir(settings))


@pytest.fixture
def semantic_settings(paper_server: PaperServer, make_settings: Callable[..., Settings]) -> Settings:
    today = datetime.now(UTC).date().isoformat()
    paper_server.hf_days[today] = data_json("hf_daily_2026-03-04.json")
    paper_server.arxiv_feed = (DATA / "arxiv_2026-03-04.xml").read_bytes()
    return make_settings(semantic_enabled=True)


async def test_fetch_leaves_every_paper_embedded_and_related_answers(semantic_settings: Settings) -> None:
    code, out, err = await run_cli(semantic_settings, "fetch", "--json")
    assert code == 0, err
    stored = json.loads(out)["new"]  # stdout stays pure JSON: progress goes to stderr
    assert "embedding: 7 / 7 papers" in err  # not a terminal: plain lines
    db = await Database.open(semantic_settings.database_path)
    try:
        assert await db.embeddings.count(MODEL_NAME) == len(stored) == await db.papers.count()
    finally:
        await db.close()

    code, out, err = await run_cli(semantic_settings, "related", "2603.01001", "--limit", "3", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["paper"] == "2603.01001"
    assert len(data["results"]) == 3
    assert "2603.01001" not in [item["id"] for item in data["results"]]
    scores = [item["similarity"] for item in data["results"]]
    assert scores == sorted(scores, reverse=True)

    code, out, err = await run_cli(semantic_settings, "related", "https://arxiv.org/abs/2603.01001")
    assert code == 0, err
    assert out.splitlines()[0].split() == ["id", "upvotes", "title"]
    assert len(out.strip().splitlines()) == 6


async def test_related_says_clearly_what_is_wrong(semantic_settings: Settings, tmp_path: Path) -> None:
    assert (await run_cli(semantic_settings, "fetch"))[0] == 0
    code, _, err = await run_cli(semantic_settings, "related", "not an id")
    assert code == 2
    assert err.startswith("error: That doesn't look like an arXiv id")
    code, _, err = await run_cli(semantic_settings, "related", "2609.99999")
    assert code == 2
    assert "not in the local database" in err
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "model.safetensors").write_bytes(b"\x00" * 10)
    broken = semantic_settings.model_copy(update={"semantic_model_dir": damaged})
    code, _, err = await run_cli(broken, "related", "2603.01001")
    assert code == 1
    assert "error: semantic search off: cannot read the model" in err
    assert "Traceback" not in err
    code, _out, err = await run_cli(broken, "fetch")  # lexical-only: fetch still works, says so once
    assert code == 0
    assert err.count("semantic search off") == 1
