"""Answering interactions correctly in every state: not yet answered, deferred, or already answered.

Discord keeps a deferred response's visibility: the first follow-up after a public defer is public. An
error that must stay private therefore replaces a public "thinking…" message with a private follow-up.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

log = logging.getLogger(__name__)

_PRIVATE_DEFER = "paperbot_private_defer"

# The period option of /search and /foryou: one list, so the two commands always offer the same periods.
PERIOD_CHOICES = [
    discord.app_commands.Choice(name="Last 24 hours", value="today"),
    discord.app_commands.Choice(name="Last 7 days", value="week"),
    discord.app_commands.Choice(name="Last 30 days", value="month"),
]


async def defer(interaction: discord.Interaction, *, ephemeral: bool) -> None:
    """Acknowledge now (Discord allows 3 s) and answer within 15 minutes with a follow-up."""
    if interaction.response.is_done():
        return
    interaction.extras[_PRIVATE_DEFER] = ephemeral
    await interaction.response.defer(ephemeral=ephemeral, thinking=True)


async def send(interaction: discord.Interaction, *, ephemeral: bool = False, **kwargs: Any) -> None:
    """The answer: the initial response if there was none yet, otherwise a follow-up."""
    if not interaction.response.is_done():
        await interaction.response.send_message(ephemeral=ephemeral, **kwargs)
        return
    await interaction.followup.send(ephemeral=ephemeral, **kwargs)


async def send_private(interaction: discord.Interaction, content: str, **kwargs: Any) -> None:
    """A message only the user sees, whatever state the interaction is in."""
    content = content[:2000]
    if not interaction.response.is_done():
        await interaction.response.send_message(content, ephemeral=True, **kwargs)
        return
    if interaction.extras.get(_PRIVATE_DEFER) is False:
        # The public "thinking…" placeholder would turn this into a public message: remove it first.
        try:
            await interaction.delete_original_response()
        except discord.HTTPException as error:
            log.debug("could not delete the deferred response: %s", error)
    await interaction.followup.send(content, ephemeral=True, **kwargs)


def per_user(interaction: discord.Interaction) -> int:
    """Cooldown key: each member has their own budget, so one busy user never slows down the others."""
    return interaction.user.id
