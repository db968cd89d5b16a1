"""Builders for synthetic fixture data in the real wire formats (HF JSON items, arXiv RSS)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from xml.sax.saxutils import escape

from bot.models import Paper, Source


def hf_item(
    paper_id: str,
    title: str,
    *,
    abstract: str = "We study a problem. Our method works well. Experiments confirm it.",
    authors: list[str] | None = None,
    upvotes: int = 1,
    day: date | str = "2026-03-04",
    ai_summary: str | None = None,
    keywords: list[str] | None = None,
    github: str | None = None,
    project_page: str | None = None,
    organization: str | None = None,
    **extra_paper: Any,
) -> dict[str, Any]:
    """One ``/api/daily_papers`` item shaped like the 2026 API (optional fields only when given)."""
    day_text = day.isoformat() if isinstance(day, date) else day
    paper: dict[str, Any] = {
        "id": paper_id,
        "authors": [
            {"_id": f"a{index}", "name": name, "hidden": False}
            for index, name in enumerate(authors or ["Ada Lovelace", "Alan Turing"])
        ],
        "publishedAt": f"{day_text}T00:00:00.000Z",
        "submittedOnDailyAt": f"{day_text}T09:30:00.000Z",
        "title": title,
        "summary": abstract,
        "upvotes": upvotes,
        "discussionId": f"d{paper_id}",
    }
    if ai_summary is not None:
        paper["ai_summary"] = ai_summary
    if keywords is not None:
        paper["ai_keywords"] = keywords
    if github is not None:
        paper["githubRepo"] = github
        paper["githubStars"] = 3
    if project_page is not None:
        paper["projectPage"] = project_page
    if organization is not None:
        paper["organization"] = {"_id": "org1", "name": organization.lower(), "fullname": organization}
    paper.update(extra_paper)
    return {
        "paper": paper,
        "publishedAt": f"{day_text}T09:30:00.000Z",
        "title": title,
        "summary": abstract,
        "thumbnail": f"https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/{paper_id}.png",
        "numComments": 2,
        "submittedBy": {"name": "submitter", "fullname": "A Submitter", "type": "user"},
    }


def rss_item(
    paper_id: str,
    title: str,
    *,
    abstract: str = "We study a problem. Our method works well.",
    authors: list[str] | None = None,
    announce: str = "new",
    version: int = 1,
    categories: tuple[str, ...] = ("cs.LG",),
    pub_date: str = "Wed, 04 Mar 2026 00:00:00 -0500",
) -> str:
    description = f"arXiv:{paper_id}v{version} Announce Type: {announce} \nAbstract: {abstract}"
    cats = "".join(f"<category>{escape(cat)}</category>" for cat in categories)
    return (
        "<item>"
        f"<title>{escape(title)}</title>"
        f"<link>https://arxiv.org/abs/{paper_id}</link>"
        f"<description>{escape(description)}</description>"
        f'<guid isPermaLink="false">oai:arXiv.org:{paper_id}v{version}</guid>'
        f"{cats}<pubDate>{pub_date}</pubDate>"
        f"<arxiv:announce_type>{announce}</arxiv:announce_type>"
        f"<dc:creator>{escape(', '.join(authors or ['Grace Hopper']))}</dc:creator>"
        "</item>"
    )


def rss_feed(items: list[str], *, title: str = "cs.LG updates on arXiv.org") -> bytes:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom" version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://rss.arxiv.org/rss/cs.LG</link>"
        "<description>updates</description><language>en-us</language>"
        "<pubDate>Wed, 04 Mar 2026 00:00:00 -0500</pubDate>" + "".join(items) + "</channel></rss>"
    ).encode()


def make_paper(paper_id: str = "2603.00001", title: str = "A Paper", **fields: Any) -> Paper:
    fields.setdefault("sources", Source.HF)
    fields.setdefault("listed_at", datetime(2026, 3, 4, 9, 30, tzinfo=UTC))
    fields.setdefault("upvotes", 1)
    return Paper(id=paper_id, title=title, **fields)
