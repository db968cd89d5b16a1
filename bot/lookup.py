"""Find one paper by whatever a user pastes: an id, an arXiv abs/pdf link or a Hugging Face link."""

from __future__ import annotations

import logging

from bot import archive
from bot.db import Database
from bot.errors import UserError
from bot.models import Paper, normalise_arxiv_id
from bot.sources.hf import HuggingFaceSource
from bot.sources.http import SourceError

log = logging.getLogger(__name__)

EXAMPLES = (
    "`2401.12345`, `2401.12345v2`, `https://arxiv.org/abs/2401.12345` or `https://huggingface.co/papers/2401.12345`"
)


def parse_reference(value: str) -> str:
    """The bare arXiv id in what the user typed, or a UserError that shows what works."""
    paper_id = normalise_arxiv_id(value[:500]) if value else None
    if paper_id is None:
        raise UserError(f"That doesn't look like an arXiv id or paper link. Try {EXAMPLES}.")
    return paper_id


async def find_paper(db: Database, hf: HuggingFaceSource, paper_id: str) -> Paper:
    """The paper from the local archive, else from Hugging Face (then stored, as a poll would); UserError if unknown."""
    paper = await db.papers.get(paper_id)
    if paper is not None:
        return paper
    try:
        fetched = await hf.fetch_paper(paper_id)
    except SourceError as error:
        log.warning("paper lookup %s: Hugging Face failed: %s", paper_id, error)
        raise UserError(
            f"arXiv:{paper_id} isn't in my archive and Hugging Face isn't answering right now. "
            f"Try again in a minute, or open it on arXiv: https://arxiv.org/abs/{paper_id}"
        ) from None
    if fetched is None:
        raise UserError(
            f"Neither my archive nor Hugging Face knows arXiv:{paper_id}. "
            f"If it is new, arXiv may have it: https://arxiv.org/abs/{paper_id}"
        )
    await archive.store(db, [fetched])
    return await db.papers.get(paper_id) or fetched
