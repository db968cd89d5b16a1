"""Persistent paper buttons (Save, Remove, Related): the paper id lives in the custom id, nothing in memory.

Each button is a ``discord.ui.DynamicItem`` whose ``template`` carries the paper id, so a press on any
message the bot ever sent, before or after a restart, reaches the same handler. The handler is whatever
object the bot exposes as ``paper_actions`` (set by ``cogs.library``), so this module, which the delivery
layer imports to build messages, never imports the services that answer a press.

``StaleButton`` catches custom ids no current button or live pager uses (a message from a much older
version, a pager from before a restart) and answers privately, instead of Discord's "This interaction failed".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any, Protocol

import discord

from bot.models import Paper

log = logging.getLogger(__name__)

# Bare arXiv ids, new style (2401.12345) and old style (hep-th/9901001); see bot.models.
PAPER_ID = r"[0-9]{4}\.[0-9]{4,5}|[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/[0-9]{7}"
SAVE = rf"paper:save:(?P<id>{PAPER_ID})"
UNSAVE = rf"paper:unsave:(?P<id>{PAPER_ID})"
RELATED = rf"paper:related:(?P<id>{PAPER_ID})"
# Everything else; a press another DynamicItem or a live in-memory view (a pager) handles is left to it.
STALE = rf"(?!paper:(?:save|unsave|related):(?:{PAPER_ID})$).+"

PAPERS_WITH_BUTTONS = 10  # 5 rows x (Save, Related) x 2 papers: every paper of a 10-embed message


class PaperActions(Protocol):
    """What answers a press; every method answers the interaction privately."""

    async def save(self, interaction: discord.Interaction[Any], paper_id: str) -> None: ...
    async def unsave(self, interaction: discord.Interaction[Any], paper_id: str) -> None: ...
    async def related(self, interaction: discord.Interaction[Any], paper_id: str) -> None: ...
    async def stale(self, interaction: discord.Interaction[Any], custom_id: str) -> None: ...


STALE_MESSAGE = (
    "This button is from an older version of paperbot (or an older message) and no longer works. "
    "Run the command again, or use `/paper`, `/related` or `/library`."
)


def _actions(interaction: discord.Interaction[Any]) -> PaperActions | None:
    return getattr(interaction.client, "paper_actions", None)


async def _unavailable(interaction: discord.Interaction[Any]) -> None:
    await interaction.response.send_message(
        "That button isn't available right now; please try again in a minute.",
        ephemeral=True,
        allowed_mentions=discord.AllowedMentions.none(),
    )


class _PaperButton:
    """What Save, Remove and Related share; a mixin because each DynamicItem needs its own template."""

    action = ""
    paper_id: str

    def _button(
        self, paper_id: str, *, label: str, style: discord.ButtonStyle, emoji: str | None = None
    ) -> discord.ui.Button[Any]:
        self.paper_id = paper_id
        return discord.ui.Button(
            label=label[:80], style=style, emoji=emoji, custom_id=f"paper:{self.action}:{paper_id}"
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Any:
        return cls(match["id"])  # type: ignore[call-arg]  # DynamicItem subclasses take the id, not the base signature

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        actions = _actions(interaction)
        if actions is None:
            await _unavailable(interaction)
            return
        await getattr(actions, self.action)(interaction, self.paper_id)


class SaveButton(_PaperButton, discord.ui.DynamicItem[discord.ui.Button[Any]], template=SAVE):
    action = "save"

    def __init__(self, paper_id: str, label: str = "Save") -> None:
        super().__init__(self._button(paper_id, label=label, style=discord.ButtonStyle.success, emoji="🔖"))


class UnsaveButton(_PaperButton, discord.ui.DynamicItem[discord.ui.Button[Any]], template=UNSAVE):
    action = "unsave"

    def __init__(self, paper_id: str, label: str = "Remove from library") -> None:
        super().__init__(self._button(paper_id, label=label, style=discord.ButtonStyle.danger))


class RelatedButton(_PaperButton, discord.ui.DynamicItem[discord.ui.Button[Any]], template=RELATED):
    action = "related"

    def __init__(self, paper_id: str, label: str = "Related") -> None:
        super().__init__(self._button(paper_id, label=label, style=discord.ButtonStyle.secondary, emoji="🧭"))


class StaleButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=STALE):
    """Any custom id nothing else handles; only ever received, never sent."""

    def __init__(self, custom_id: str) -> None:
        super().__init__(discord.ui.Button(label="?", custom_id=custom_id[:100]))
        self.raw_id = custom_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> StaleButton:
        return cls(match.group(0))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        if _handled_elsewhere(interaction, self.raw_id):
            return
        actions = _actions(interaction)
        if actions is None:
            await _unavailable(interaction)
            return
        await actions.stale(interaction, self.raw_id)


def _handled_elsewhere(interaction: discord.Interaction[Any], custom_id: str) -> bool:
    """Whether another DynamicItem's template or a live in-memory view (a pager) answers this custom id.

    discord.py has no public lookup; its view store is read defensively, and when it cannot be read the
    press counts as unhandled (at worst the user gets one extra private line).
    """
    store = getattr(getattr(interaction.client, "_connection", None), "_view_store", None)
    dynamic = getattr(store, "_dynamic_items", None)
    if isinstance(dynamic, dict):
        for pattern, item in dynamic.items():
            if item is not StaleButton and isinstance(pattern, re.Pattern) and pattern.fullmatch(custom_id):
                return True
    views = getattr(store, "_views", None)
    if not isinstance(views, dict):
        return False
    return any(
        isinstance(items, dict) and any(isinstance(key, tuple) and key[1:] == (custom_id,) for key in items)
        for items in views.values()
    )


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (SaveButton, UnsaveButton, RelatedButton, StaleButton)


def paper_buttons(papers: Sequence[Paper], *, related: bool = True) -> discord.ui.View | None:
    """Save (and Related) for each paper of one message: the first ten, two papers per row.

    A single paper gets plain labels; several get the id that is in each card's footer.
    """
    chosen = list(papers[:PAPERS_WITH_BUTTONS])
    if not chosen:
        return None
    view = discord.ui.View(timeout=None)
    for index, paper in enumerate(chosen):
        suffix = "" if len(chosen) == 1 else f" {paper.id}"
        row = index // 2
        save = SaveButton(paper.id, f"Save{suffix}")
        save.item.row = row
        view.add_item(save)
        if related:
            more = RelatedButton(paper.id, f"Related{suffix}")
            more.item.row = row
            view.add_item(more)
    return view


def save_buttons(papers: Sequence[Paper]) -> discord.ui.View | None:
    """One numbered Save button per listed paper (the Related answer): up to five, in one row."""
    if not papers:
        return None
    view = discord.ui.View(timeout=None)
    for number, paper in enumerate(papers[:5], 1):
        view.add_item(SaveButton(paper.id, f"Save {number}"))
    return view


def remove_button(paper: Paper) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(UnsaveButton(paper.id))
    return view
