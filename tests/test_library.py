"""The library repository and service against a real SQLite file and the fixture paper server."""

from __future__ import annotations

import asyncio

import pytest

from bot import archive, library
from bot import related as related_module
from bot.db import Database
from bot.errors import UserError
from bot.library import Outcome
from bot.related import related, title_query
from testing.factories import make_paper

USER = 111


class NoHF:
    async def fetch_paper(self, paper_id: str) -> None:
        raise AssertionError(f"unexpected Hugging Face lookup of {paper_id}")


async def test_save_counts_and_a_second_save_is_already(db: Database) -> None:
    await archive.store(db, [make_paper("2603.00001", "First"), make_paper("2603.00002", "Second")])
    first = await library.save(db, NoHF(), USER, "2603.00001")  # type: ignore[arg-type]  # a stand-in HF client that is never asked
    assert (first.outcome, first.count) == (Outcome.SAVED, 1)
    again = await library.save(db, NoHF(), USER, "2603.00001")  # type: ignore[arg-type]  # a stand-in HF client that is never asked
    assert (again.outcome, again.count) == (Outcome.ALREADY, 1)
    second = await library.save(db, NoHF(), USER, "2603.00002")  # type: ignore[arg-type]  # a stand-in HF client that is never asked
    assert second.count == 2
    assert await library.is_saved(db, USER, "2603.00002")
    assert not await library.is_saved(db, USER + 1, "2603.00002")


async def test_concurrent_saves_of_one_paper_make_one_row(db: Database) -> None:
    await archive.store(db, [make_paper("2603.00001", "First")])
    results = await asyncio.gather(*(library.save(db, NoHF(), USER, "2603.00001") for _ in range(5)))  # type: ignore[arg-type]  # a stand-in HF client that is never asked
    assert sorted(result.outcome.value for result in results) == ["already"] * 4 + ["saved"]
    assert await db.library.count(USER) == 1


async def test_the_limit_refuses_new_papers_but_not_saved_ones(db: Database) -> None:
    await archive.store(db, [make_paper(f"2603.0000{n}", f"Paper {n}") for n in range(1, 4)])
    await library.save(db, NoHF(), USER, "2603.00001", limit=2)  # type: ignore[arg-type]  # a stand-in HF client that is never asked
    await library.save(db, NoHF(), USER, "2603.00002", limit=2)  # type: ignore[arg-type]  # a stand-in HF client that is never asked
    full = await library.save(db, NoHF(), USER, "2603.00003", limit=2)  # type: ignore[arg-type]  # a stand-in HF client that is never asked
    assert (full.outcome, full.count) == (Outcome.FULL, 2)
    again = await library.save(db, NoHF(), USER, "2603.00001", limit=2)  # type: ignore[arg-type]  # a stand-in HF client that is never asked
    assert again.outcome is Outcome.ALREADY
    assert await db.library.count(USER) == 2


async def test_list_is_newest_first_filtered_by_words_and_paged(db: Database) -> None:
    papers = [
        make_paper(f"2603.0000{n}", title) for n, title in enumerate(["Graph networks", "Diffusion", "Graphs again"], 1)
    ]
    await archive.store(db, papers)
    async with db.transaction() as conn:
        for saved_at, paper in enumerate(papers, 1):
            pk = await db.library.paper_pk(paper.id)
            assert pk is not None
            await db.library.add(conn, USER, pk, saved_at)
    page = await library.list_page(db, USER, per_page=2)
    assert [saved.paper.id for saved in page.papers] == ["2603.00003", "2603.00002"]
    assert page.has_more and page.total == 3
    graphs = await library.list_page(db, USER, query="graph")
    assert [saved.paper.id for saved in graphs.papers] == ["2603.00003", "2603.00001"]
    hostile = await library.list_page(db, USER, query='title:"x" OR NEAR(a b) *')
    assert hostile.papers == []
    with pytest.raises(UserError):
        await library.list_page(db, USER, query="x" * 5000)


async def test_remove_and_autocomplete(db: Database) -> None:
    await archive.store(db, [make_paper("2603.00001", "100% Sparse_attention")])
    await library.save(db, NoHF(), USER, "2603.00001")  # type: ignore[arg-type]  # a stand-in HF client that is never asked
    assert await db.library.complete(USER, "sparse_att") == [("2603.00001", "100% Sparse_attention")]
    assert await db.library.complete(USER, "_x") == []
    assert await db.library.complete(USER + 1, "") == []
    removed, paper, left = await library.remove(db, USER, "2603.00001")
    assert removed and paper is not None and left == 0
    assert (await library.remove(db, USER, "2603.00001"))[0] is False
    assert (await library.remove(db, USER, "2699.99999"))[0] is False


async def test_deleting_a_member_and_a_paper_empties_the_rows(db: Database) -> None:
    await archive.store(db, [make_paper("2603.00001", "One"), make_paper("2603.00002", "Two")])
    for paper_id in ("2603.00001", "2603.00002"):
        await library.save(db, NoHF(), USER, paper_id)  # type: ignore[arg-type]  # a stand-in HF client that is never asked
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM papers WHERE arxiv_id = '2603.00001'")
    assert [saved.paper.id for saved in await db.library.all_saved(USER)] == ["2603.00002"]
    async with db.transaction() as conn:
        assert await db.library.delete_user(conn, USER) == 1
    assert await db.library.count(USER) == 0


async def test_related_without_the_index_uses_title_words_safely(db: Database) -> None:
    hostile = make_paper("2603.00001", 'NEAR("graph" x) AND title:* OR -diffusion {col}: ^ "')
    await archive.store(
        db, [hostile, make_paper("2603.00002", "Diffusion on a graph"), make_paper("2603.00003", "Unrelated")]
    )
    result = await related(db, None, hostile)
    assert result.method == "lexical" and result.semantic_off
    assert [paper.id for paper in result.papers] == ["2603.00002"]
    assert title_query(make_paper("2603.00004", "a of the")) is None


class BrokenIndex:
    available = True

    async def related(self, arxiv_id: str, k: int = 5) -> list[tuple[int, float]]:
        raise RuntimeError("index damaged")


async def test_a_failing_semantic_index_falls_back_to_title_words(db: Database) -> None:
    paper = make_paper("2603.00001", "Graph diffusion")
    await archive.store(db, [paper, make_paper("2603.00002", "Diffusion on a graph")])
    result = await related(db, BrokenIndex(), paper)
    assert result.method == "lexical" and not result.semantic_off
    assert [found.id for found in result.papers] == ["2603.00002"]


async def test_mydata_exports_and_deletes_the_library(db: Database) -> None:
    from bot import mydata
    from bot.render import mydata as mydata_text

    await archive.store(db, [make_paper("2603.00001", "First"), make_paper("2603.00002", "Second")])
    await library.save(db, NoHF(), USER, "2603.00001")  # type: ignore[arg-type]  # never asked: in the archive
    await library.save(db, NoHF(), USER + 1, "2603.00002")  # type: ignore[arg-type]  # never asked: in the archive
    document = await mydata.export(db, USER)
    assert [item["paper_id"] for item in document["library"]] == ["2603.00001"]
    removed = await mydata.delete(db, USER)
    assert removed.library == 1 and removed.anything
    assert "1 saved paper" in mydata_text.removed(removed)
    assert await db.library.count(USER) == 0
    assert await db.library.count(USER + 1) == 1  # another member's library is untouched


async def test_related_without_the_index_leaves_common_title_words_out(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "graphs" is in more papers than the cut-off: sharing it alone does not make a paper related.
    monkeypatch.setattr(related_module, "DF_CUTOFF", 3)
    paper = make_paper("2603.00001", "Zebrafish graphs")
    common = [make_paper(f"2603.0010{n}", f"Graphs study {n}") for n in range(6)]
    await archive.store(db, [paper, *common, make_paper("2603.00002", "Zebrafish swimming")])
    result = await related(db, None, paper)
    assert [found.id for found in result.papers] == ["2603.00002"]
