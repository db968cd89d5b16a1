"""The renderer keeps every Discord limit by construction, for any paper however long or strange."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import discord
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import render
from bot.models import Paper, Source
from tests.helpers.factories import make_paper

URL = re.compile(r"^https?://\S+$")


def check_embed(data: dict[str, Any]) -> None:
    assert len(data.get("title", "")) <= render.TITLE_MAX
    assert len(data.get("description", "")) <= render.DESCRIPTION_MAX
    fields = data.get("fields", [])
    assert len(fields) <= render.FIELDS_MAX
    for item in fields:
        assert 0 < len(item["name"]) <= render.FIELD_NAME_MAX
        assert 0 < len(item["value"]) <= render.FIELD_VALUE_MAX
    assert len(data.get("footer", {}).get("text", "")) <= render.FOOTER_MAX
    assert len(data.get("author", {}).get("name", "")) <= render.AUTHOR_MAX
    for key in ("url",):
        if key in data:
            assert URL.match(data[key])
    for key in ("thumbnail", "image"):
        if key in data:
            assert URL.match(data[key]["url"])


def check_message(embeds: list[discord.Embed]) -> None:
    assert len(embeds) <= render.MESSAGE_EMBEDS
    dicts = [embed.to_dict() for embed in embeds]
    for data in dicts:
        check_embed(data)
    assert sum(render.embed_chars(data) for data in dicts) <= render.MESSAGE_EMBED_CHARS


wild_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from("*_~`|>#[]()<@!&\\\n "),
    max_size=6000,
)
urls = st.one_of(st.none(), st.from_regex(r"https://[a-z]{1,20}\.org/[a-z0-9/]{0,3000}", fullmatch=True))

papers = st.builds(
    Paper,
    id=st.from_regex(r"\d{2}(0[1-9]|1[0-2])\.\d{5}", fullmatch=True),
    title=wild_text.filter(lambda value: value.strip() != ""),
    abstract=wild_text,
    authors=st.lists(wild_text, max_size=300),
    keywords=st.lists(wild_text, max_size=60),
    ai_summary=st.none() | wild_text,
    upvotes=st.none() | st.integers(min_value=0, max_value=10**9),
    num_comments=st.none() | st.integers(min_value=0, max_value=10**9),
    github_repo=urls,
    github_stars=st.none() | st.integers(min_value=0, max_value=10**9),
    project_page=urls,
    organization=st.none() | wild_text,
    thumbnail=urls,
    categories=st.lists(st.from_regex(r"[a-z]{2}\.[A-Z]{2}", fullmatch=True), max_size=20),
    listed_at=st.none() | st.datetimes(timezones=st.just(UTC), min_value=datetime(2000, 1, 1)),
    published_at=st.none() | st.datetimes(timezones=st.just(UTC), min_value=datetime(2000, 1, 1)),
    sources=st.sampled_from([Source.HF, Source.ARXIV, Source.HF | Source.ARXIV]),
)


@settings(max_examples=150, deadline=None)
@given(papers, st.booleans())
def test_any_paper_card_is_within_limits(paper: Paper, full: bool) -> None:
    check_message([render.paper_card(paper, full=full)])


@settings(max_examples=60, deadline=None)
@given(st.lists(papers, min_size=1, max_size=14))
def test_any_batch_fits_one_message(batch: list[Paper]) -> None:
    check_message(render.paper_embeds(batch))


@settings(max_examples=60, deadline=None)
@given(st.lists(papers, max_size=10), st.lists(wild_text, max_size=3), wild_text)
def test_any_list_embed_is_within_limits(batch: list[Paper], notes: list[str], title: str) -> None:
    check_message([render.paper_list(title or "x", batch, notes=notes, footer=title)])


@given(wild_text)
def test_thread_and_choice_names_fit(value: str) -> None:
    paper = make_paper(title=value or "x")
    assert 0 < len(render.thread_name(paper)) <= render.THREAD_NAME_MAX
    assert 0 < len(render.choice_name(value)) <= render.CHOICE_NAME_MAX


def test_markdown_and_mentions_render_as_text() -> None:
    paper = make_paper(
        title="@everyone **Bold** [click](https://evil.example) <@&123456789012345678> # Heading ||spoiler||",
        authors=["@here", "_Ada_"],
    )
    data = render.paper_card(paper).to_dict()
    assert "@\u200beveryone" in data["title"]
    assert "\\*\\*Bold\\*\\*" in data["title"]
    assert "\\[click\\](https://evil.example)" in data["title"]
    assert "\\<@&123456789012345678\\>" in data["title"]
    assert "\\|\\|spoiler\\|\\|" in data["title"]
    authors = next(item for item in data["fields"] if item["name"] == "Authors")["value"]
    assert authors == "@\u200bhere, \\_Ada\\_"


def test_latex_backslashes_survive_escaping() -> None:
    paper = make_paper(title="$\\mathcal{O}(n)$ in 30\\% of cases")
    assert render.paper_card(paper).title == "$\\\\mathcal{O}(n)$ in 30\\\\% of cases"


def test_card_content() -> None:
    paper = make_paper(
        "2603.01001",
        "Sparse Experts",
        abstract="Long abstract. " * 10,
        ai_summary="The short version.",
        authors=["A", "B", "C", "D", "E"],
        upvotes=87,
        github_repo="https://github.com/x/y",
        github_stars=1200,
        project_page="https://p.org",
        keywords=["moe"],
        thumbnail="https://t.org/x.png",
        organization="Lab",
        categories=["cs.LG"],
        sources=Source.HF | Source.ARXIV,
    )
    data = render.paper_card(paper).to_dict()
    assert data["url"] == "https://huggingface.co/papers/2603.01001"
    assert data["description"].startswith("The short version.")
    fields = {item["name"]: item["value"] for item in data["fields"]}
    assert fields["Authors"] == "A, B, C +2 more"
    assert fields["Upvotes"] == "▲ 87"
    assert "[GitHub](https://github.com/x/y) ★1,200" in fields["Links"]
    assert "[PDF](https://arxiv.org/pdf/2603.01001)" in fields["Links"]
    assert data["footer"]["text"] == "arXiv:2603.01001 · cs.LG · Lab"
    assert data["thumbnail"]["url"] == "https://t.org/x.png"
    full = render.paper_card(paper, full=True).to_dict()
    assert "**Abstract**" in full["description"]
    assert any(item["name"] == "Keywords" for item in full["fields"])


def test_arxiv_only_paper_links_to_arxiv() -> None:
    paper = make_paper("2603.01101", "Only on arXiv", sources=Source.ARXIV, upvotes=None)
    data = render.paper_card(paper).to_dict()
    assert data["url"] == "https://arxiv.org/abs/2603.01101"
    assert all(item["name"] != "Upvotes" for item in data["fields"])
    assert "Hugging Face" not in next(item["value"] for item in data["fields"] if item["name"] == "Links")


def test_ten_long_papers_share_the_6000_budget() -> None:
    batch = [make_paper(f"2603.{i:05d}", "T" * 300, abstract="word " * 3000) for i in range(10)]
    embeds = render.paper_embeds(batch)
    assert len(embeds) == 10
    check_message(embeds)
