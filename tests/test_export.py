"""Library exports read back by real parsers: bibtexparser for BibTeX, the csv module for CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import bibtexparser
from bibtexparser.middlewares import LatexDecodingMiddleware

from bot.db.library import SavedPaper
from bot.models import Paper
from bot.render.export import bibtex, citation_keys, export
from testing.factories import make_paper

AWKWARD = [
    make_paper(
        "2401.00001",
        "Q&A at 50% of the cost: $O(n)$ attention #1",
        authors=["José Núñez-García", "王小明", "Zoë O'Brien"],
        categories=["cs.CL", "cs.LG"],
        published_at=datetime(2024, 1, 2, tzinfo=UTC),
    ),
    make_paper(
        "2401.00002",
        "Braces {x}, tilde ~ caret ^ back\\slash and under_score",
        authors=["Ana Müller"],
        published_at=datetime(2024, 1, 3, tzinfo=UTC),
    ),
    # Same first author surname, year and first word as the next one: the keys must differ.
    make_paper("2401.00003", "Attention again", authors=["A Smith"], published_at=datetime(2024, 1, 4, tzinfo=UTC)),
    make_paper("2401.00004", "Attention again", authors=["B Smith"], published_at=datetime(2024, 1, 4, tzinfo=UTC)),
    make_paper("hep-th/9901001", "Strings", authors=[], published_at=None, listed_at=None),
]


def _saved(papers: list[Paper]) -> list[SavedPaper]:
    return [SavedPaper(n, paper, datetime(2026, 1, 1, tzinfo=UTC)) for n, paper in enumerate(papers)]


def test_bibtex_parses_and_every_field_round_trips() -> None:
    name, data = export(_saved(AWKWARD), "bibtex")
    assert name == "paperbot-library.bib"
    library = bibtexparser.parse_string(  # type: ignore[attr-defined]  # re-exported without __all__
        data.decode("utf-8"), append_middleware=[LatexDecodingMiddleware()]
    )
    assert library.failed_blocks == []
    assert len(library.entries) == len(AWKWARD)
    assert len({entry.key for entry in library.entries}) == len(AWKWARD)
    for entry, paper in zip(library.entries, AWKWARD, strict=True):
        fields = {name: field.value for name, field in entry.fields_dict.items()}
        assert entry.entry_type == "misc"
        # pylatexenc decodes \textasciicircum{} to the spacing circumflex U+02C6; LaTeX prints ^.
        assert fields["title"].replace("\u02c6", "^") == paper.title
        if paper.authors:
            assert fields["author"].split(" and ") == paper.authors
        else:
            assert "author" not in fields
        assert fields["eprint"] == paper.id
        assert fields["archivePrefix"] == "arXiv"
        assert fields["url"] == f"https://arxiv.org/abs/{paper.id}"
        if paper.categories:
            assert fields["primaryClass"] == paper.categories[0]
    first = library.entries[0].fields_dict
    assert first["year"].value == "2024"
    assert library.entries[-1].fields_dict["year"].value == "1999"  # from the old-style id


def test_keys_are_ascii_and_suffixed_on_collision() -> None:
    keys = citation_keys(AWKWARD)
    assert keys[0] == "nunezgarcia2024qa"  # "Q&A" folds to "qa"
    assert keys[2] == "smith2024attention" and keys[3] == "smith2024attentiona"
    assert all(key.isascii() for key in keys)
    assert keys[4] == "anon1999strings"


def test_a_versioned_id_exports_the_bare_eprint() -> None:
    text = bibtex([make_paper("2401.00001", "T")])
    assert "eprint = {2401.00001}" in text


def test_csv_and_markdown() -> None:
    _, data = export(_saved(AWKWARD), "csv")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert [row["title"] for row in rows] == [paper.title for paper in AWKWARD]
    assert rows[0]["authors"] == "José Núñez-García; 王小明; Zoë O'Brien"
    name, data = export(_saved(AWKWARD[:1]), "markdown")
    assert name == "paperbot-library.md"
    assert "- [Q&A at 50% of the cost: $O(n)$ attention #1](https://arxiv.org/abs/2401.00001)" in data.decode()
