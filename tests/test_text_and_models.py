from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import text
from bot.models import Paper, Source, is_bare_arxiv_id, normalise_arxiv_id
from testing.factories import make_paper

# ---- ids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2410.17243", "2410.17243"),
        ("2410.17243v3", "2410.17243"),
        (" 2603.90052v12 ", "2603.90052"),
        ("https://arxiv.org/abs/2410.17243v2", "2410.17243"),
        ("https://arxiv.org/pdf/2410.17243v1.pdf", "2410.17243"),
        ("https://huggingface.co/papers/2410.17243", "2410.17243"),
        ("oai:arXiv.org:2603.90101v1", "2603.90101"),
        ("arXiv:1412.6980", "1412.6980"),
        ("hep-th/9901001v2", "hep-th/9901001"),
        ("https://arxiv.org/abs/math.GT/0309136", "math.GT/0309136"),
        ("not-an-id", None),
        ("9999.99999", None),  # month 99 does not exist
        ("1412.12345", None),  # five-digit numbers began in 2015
        ("", None),
        ("12345.6789", None),
    ],
)
def test_normalise_arxiv_id(raw: str, expected: str | None) -> None:
    assert normalise_arxiv_id(raw) == expected
    if expected:
        assert is_bare_arxiv_id(expected)


# ---- merging -----------------------------------------------------------------------------------


def test_merge_keeps_known_facts_and_takes_newer_ones() -> None:
    hf = make_paper(
        "2603.00001",
        "Title",
        upvotes=10,
        ai_summary="AI summary.",
        github_repo="https://github.com/a/b",
        sources=Source.HF,
        listed_at=datetime(2026, 3, 4, 9, tzinfo=UTC),
    )
    arxiv = Paper(
        id="2603.00001",
        title="Title",
        abstract="The abstract.",
        categories=["cs.LG"],
        sources=Source.ARXIV,
        listed_at=datetime(2026, 3, 4, 5, tzinfo=UTC),
    )
    merged = hf.merge(arxiv)
    assert merged.upvotes == 10  # arXiv knows nothing about upvotes: the gap does not erase them
    assert merged.ai_summary == "AI summary."
    assert merged.github_repo == "https://github.com/a/b"
    assert merged.abstract == "The abstract."
    assert merged.categories == ["cs.LG"]
    assert merged.sources == Source.HF | Source.ARXIV
    assert merged.listed_at == datetime(2026, 3, 4, 5, tzinfo=UTC)  # the first listing wins
    later = merged.merge(make_paper("2603.00001", "Title", upvotes=25, sources=Source.HF))
    assert later.upvotes == 25
    assert later.abstract == "The abstract."


def test_merge_max_counts_for_repeats_within_one_response() -> None:
    a = make_paper(upvotes=30)
    b = make_paper(upvotes=12)
    assert a.merge(b).upvotes == 12
    assert a.merge(b, counts="max").upvotes == 30


def test_merge_refuses_different_papers() -> None:
    with pytest.raises(ValueError, match="cannot merge"):
        make_paper("2603.00001").merge(make_paper("2603.00002"))


def test_datetimes_are_utc_whole_seconds() -> None:
    paper = make_paper(listed_at=datetime(2026, 3, 4, 9, 30, 1, 123456))
    assert paper.listed_at == datetime(2026, 3, 4, 9, 30, 1, tzinfo=UTC)


def test_summary_prefers_ai_summary_then_abstract() -> None:
    assert make_paper(ai_summary="Short.", abstract="Long abstract.").summary == "Short."
    assert make_paper(abstract="Only the abstract.").summary == "Only the abstract."


# ---- text ----------------------------------------------------------------------------------------


def test_clean_collapses_whitespace_and_drops_invisible_characters() -> None:
    assert text.clean("A Title Broken\n  Over\tTwo\r\nLines\u00a0 ") == "A Title Broken Over Two Lines"
    assert text.clean("evil\u202etxt.exe\u200b") == "eviltxt.exe"
    assert text.clean("nul\x00byte") == "nul byte"
    assert text.clean("lone \ud800 surrogate") == "lone surrogate"


def test_html_to_text_keeps_latex_comparisons() -> None:
    value = (
        'We prove $x<y$ and $a>b$ for <b>bold</b> <a href="https://e.org">a link</a><script>alert(1)</script> R&amp;D'
    )
    assert text.html_to_text(value) == "We prove $x<y$ and $a>b$ for bold a link R&D"


def test_truncate_never_cuts_a_word() -> None:
    assert text.truncate("short", 10) == "short"
    assert text.truncate("the quick brown fox jumps", 16) == "the quick brown…"
    assert len(text.truncate("a" * 50, 10)) == 10


@given(st.text(), st.integers(min_value=0, max_value=300))
def test_truncate_respects_the_limit(value: str, limit: int) -> None:
    result = text.truncate(value, limit)
    assert len(result) <= limit
    if len(value) <= limit:
        assert result == value


def test_extractive_summary_takes_whole_sentences() -> None:
    abstract = (
        "Large language models (LLMs) are strong, e.g. on math. "
        "We propose a method that improves them by 5.3 points on GSM8K and MATH. "
        "It relies on verifier feedback and a curriculum that orders tasks by difficulty. "
        "Extensive experiments across twelve benchmarks, four model sizes and three languages confirm the gains. "
        "Code is released."
    )
    summary = text.extractive_summary(abstract)
    assert summary.startswith("Large language models (LLMs) are strong, e.g. on math. We propose")
    assert summary.endswith(".")
    assert len(summary) <= 300
    assert abstract.startswith(summary)


def test_extractive_summary_shortens_one_giant_sentence_at_a_word() -> None:
    abstract = " ".join(["word"] * 200) + "."
    summary = text.extractive_summary(abstract)
    assert summary.endswith("…")
    assert len(summary) <= 300
    assert summary[:-1].split(" ")[-1] == "word"


@given(st.text(alphabet=st.sampled_from("abc de. F!?\n"), max_size=2000))
def test_extractive_summary_is_a_bounded_prefix(abstract: str) -> None:
    summary = text.extractive_summary(abstract)
    cleaned = text.clean(abstract)
    assert len(summary) <= 400
    assert cleaned.startswith(summary.removesuffix("…"))
