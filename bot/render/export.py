"""A member's library as a file: BibTeX (as arXiv recommends for preprints), Markdown or CSV.

BibTeX escapes LaTeX's special characters so the file compiles, and keeps other Unicode as UTF-8
(biber and modern bibtex read it). Citation keys are surname + year + first title word, ascii-folded,
with a/b/… on collision.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Sequence
from typing import Literal

from bot.db.library import SavedPaper
from bot.models import Paper

ExportFormat = Literal["bibtex", "markdown", "csv"]
FILENAMES: dict[str, str] = {
    "bibtex": "paperbot-library.bib",
    "markdown": "paperbot-library.md",
    "csv": "paperbot-library.csv",
}
MAX_FILE_BYTES = 10 * 1024 * 1024  # Discord's attachment limit for bots

_LATEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_SPECIAL = re.compile(r"[\\&%$#_{}~^]")
_WORD = re.compile(r"[A-Za-z0-9]+")
_ID_VERSION = re.compile(r"v\d+$")


def latex_escape(value: str) -> str:
    """Escape the ten characters LaTeX treats specially; everything else stays as typed."""
    return _SPECIAL.sub(lambda match: _LATEX[match.group(0)], " ".join(value.split()))


def _ascii(value: str) -> str:
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return "".join(_WORD.findall(folded)).lower()


def _year(paper: Paper) -> str | None:
    when = paper.published_at or paper.listed_at
    if when is not None:
        return str(when.year)
    match = re.match(r"(\d{2})(\d{2})\.", paper.id) or re.search(r"/(\d{2})(\d{2})", paper.id)
    if match is None:
        return None
    century = 1900 if int(match.group(1)) >= 91 else 2000
    return str(century + int(match.group(1)))


def _key_base(paper: Paper) -> str:
    surname = _ascii(paper.authors[0].split()[-1]) if paper.authors and paper.authors[0].split() else ""
    first_word = next((_ascii(word) for word in paper.title.split() if _ascii(word)), "")
    base = f"{surname or 'anon'}{_year(paper) or ''}{first_word}"
    return base or "paper"


def citation_keys(papers: Sequence[Paper]) -> list[str]:
    """One unique key per paper; the second paper with the same key gets ``a``, the third ``b``, …"""
    seen: dict[str, int] = {}
    used: set[str] = set()
    keys = []
    for paper in papers:
        base = _key_base(paper)
        key = base
        while key in used:
            index = seen.get(base, 0)
            seen[base] = index + 1
            key = base + _suffix(index)
        used.add(key)
        keys.append(key)
    return keys


def _suffix(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def bibtex(papers: Sequence[Paper]) -> str:
    entries = []
    for key, paper in zip(citation_keys(papers), papers, strict=True):
        bare = _ID_VERSION.sub("", paper.id)
        fields = [("title", "{" + latex_escape(paper.title) + "}")]  # inner braces keep the title's capitals
        if paper.authors:
            fields.append(("author", " and ".join(latex_escape(name) for name in paper.authors)))
        year = _year(paper)
        if year:
            fields.append(("year", year))
        fields += [("eprint", bare), ("archivePrefix", "arXiv")]
        if paper.categories:
            fields.append(("primaryClass", latex_escape(paper.categories[0])))
        fields.append(("url", f"https://arxiv.org/abs/{bare}"))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        entries.append(f"@misc{{{key},\n{body}\n}}\n")
    return "\n".join(entries)


def markdown(saved: Sequence[SavedPaper]) -> str:
    lines = ["# My paperbot library", ""]
    for item in saved:
        paper = item.paper
        title = paper.title.replace("[", "\\[").replace("]", "\\]")
        authors = ", ".join(paper.authors[:3]) + (" et al." if len(paper.authors) > 3 else "")
        line = f"- [{title}]({paper.arxiv_url}) (arXiv:{paper.id})"
        if authors:
            line += f" · {authors}"
        lines.append(line + f" · saved {item.saved_at:%Y-%m-%d}")
    return "\n".join(lines) + "\n"


def csv_text(saved: Sequence[SavedPaper]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["arxiv_id", "title", "authors", "year", "categories", "url", "saved_at"])
    for item in saved:
        paper = item.paper
        writer.writerow(
            [
                paper.id,
                paper.title,
                "; ".join(paper.authors),
                _year(paper) or "",
                " ".join(paper.categories),
                paper.arxiv_url,
                item.saved_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            ]
        )
    return out.getvalue()


def export(saved: Sequence[SavedPaper], fmt: ExportFormat) -> tuple[str, bytes]:
    """(file name, UTF-8 bytes) for the library in ``fmt``."""
    if fmt == "bibtex":
        content = bibtex([item.paper for item in saved])
    elif fmt == "markdown":
        content = markdown(saved)
    else:
        content = csv_text(saved)
    return FILENAMES[fmt], content.encode("utf-8")
