"""Interactive message components: Previous/Next paging for search results and long lists."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import discord

from bot.interactions import send_private
from bot.render.base import pager_failure, pager_refusal

log = logging.getLogger(__name__)

# Returns the embed for a page and whether a further page exists.
PageFetcher = Callable[[int], Awaitable[tuple[discord.Embed, bool]]]

PAGE_TIMEOUT = 300.0


class Pager(discord.ui.View):
    """Previous/Next buttons that only the person who ran the command may press.

    When the view times out the buttons are disabled in place, so nobody presses a dead button.
    """

    def __init__(
        self,
        *,
        owner_id: int,
        fetch: PageFetcher,
        has_more: bool,
        origin: discord.Interaction,
        command: str,
        timeout: float = PAGE_TIMEOUT,
    ) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.command = command  # named in what a stranger or a failure is told
        self.fetch = fetch
        self.page = 0
        self.origin = origin
        self._update_buttons(has_more)

    def _update_buttons(self, has_more: bool) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = not has_more

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(pager_refusal(self.command), ephemeral=True)
        return False

    async def _show(self, interaction: discord.Interaction, page: int) -> None:
        embed, has_more = await self.fetch(page)
        self.page = page
        self._update_buttons(has_more)
        await interaction.response.edit_message(embed=embed, view=self)

    @discord.ui.button(label="Previous", emoji="◀️", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button[Pager]) -> None:
        await self._show(interaction, max(0, self.page - 1))

    @discord.ui.button(label="Next", emoji="▶️", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[Pager]) -> None:
        await self._show(interaction, self.page + 1)

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        try:
            await self.origin.edit_original_response(view=self)
        except discord.HTTPException as error:  # deleted, or the token expired: nothing left to tidy
            log.debug("could not disable expired pager buttons: %s", error)

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Pager]) -> None:
        log.exception("pager button failed for /%s, user %s", self.command, interaction.user.id, exc_info=error)
        await send_private(interaction, pager_failure(self.command))


CONFIRM_TIMEOUT = 120.0
Action = Callable[[discord.Interaction], Awaitable[None]]


class Confirm(discord.ui.View):
    """A short-lived Confirm/Cancel pair for one destructive action, pressable once, by its owner only.

    Deliberately not persistent: after a restart or ``timeout`` the buttons do nothing, so an old
    confirmation can never delete anything; the member runs the command again.
    """

    def __init__(
        self,
        *,
        owner_id: int,
        label: str,
        action: Action,
        cancelled: str,
        already: str,
        origin: discord.Interaction,
        timeout: float = CONFIRM_TIMEOUT,
    ) -> None:
        super().__init__(timeout=timeout)
        self.confirm.label = label
        self.already = already
        self.owner_id = owner_id
        self.action = action
        self.cancelled = cancelled
        self.origin = origin
        self.used = False

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.owner_id  # the message is private: only its owner can see it

    async def _finish(self, interaction: discord.Interaction) -> bool:
        """True for the first press; a second quick press is told it was already handled."""
        if self.used:
            await send_private(interaction, self.already)
            return False
        self.used = True
        # Not stop(): the view stays registered until its timeout, so a second press reaches it (and is told
        # it was used) instead of bot.buttons' catch-all, which would call it a button from an older version.
        return True

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[Confirm]) -> None:
        if await self._finish(interaction):
            await self.action(interaction)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button[Confirm]) -> None:
        if await self._finish(interaction):
            await interaction.response.edit_message(content=self.cancelled, view=None)

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        try:
            await self.origin.edit_original_response(view=self)
        except discord.HTTPException as error:
            log.debug("could not disable expired confirmation buttons: %s", error)
