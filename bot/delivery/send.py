"""Sending one batch as one Discord message, exactly once, even across a crash.

A batch is claimed (rows ``sending``, nonce stored, attempt counted) and committed before the request goes
out; only Discord's answer marks it ``sent`` with the message id. If the process dies in between (even
SIGKILL after Discord created the message), the next start finds the rows still ``sending`` and:
- within ``NONCE_TRUST_SECONDS`` of the claim, sends the same batch again with the same nonce and
  ``enforce_nonce``: Discord returns the message it already created instead of posting a second one;
- later than that (Discord only remembers nonces for a few minutes), it first reads the channel's recent
  messages for one of ours carrying the batch's first paper, and marks the batch sent if it is there.
Rows never leave ``sending`` except to ``sent``, ``failed`` or (DMs closed, nothing delivered) ``pending``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Final

import discord

from bot.buttons import paper_buttons
from bot.db import Database
from bot.delivery.faults import NETWORK_ERRORS, FaultHandler
from bot.delivery.pacer import Pacer
from bot.delivery.plan import Batch, Target
from bot.models import Paper
from bot.render import paper_card, paper_embeds, thread_name
from bot.render.delivery import digest_header, dm_header
from bot.render.weekly import weekly_header

log = logging.getLogger(__name__)

NONCE_TRUST_SECONDS = 120  # Discord keeps nonces "a few minutes"; trust well under that
SEND_TIMEOUT = 30.0
THREAD_ARCHIVE_MINUTES: Final = 1440  # one of the durations Discord accepts
HISTORY_LIMIT = 50
THREAD_EXISTS: Final = 160004  # "A thread has already been created for this message"


class Sender:
    def __init__(
        self,
        client: discord.Client,
        db: Database,
        pacer: Pacer,
        faults: FaultHandler,
        *,
        now: Callable[[], float],
        stats: Counter[str],
    ) -> None:
        self.client = client
        self.db = db
        self.pacer = pacer
        self.faults = faults
        self.now = now
        self.stats = stats
        self.nonce_trust_seconds = NONCE_TRUST_SECONDS

    async def claim(self, row_ids: Sequence[int]) -> Batch:
        """Commit the rows as one batch before anything is sent; the nonce is named after its first row.

        A random suffix makes it unique because row ids can be reused: SQLite hands out the largest id again
        once that row is deleted (``/mydata delete``), and Discord would answer a reused nonce with the old
        message instead of sending the new one. It is stored before sending, so retries reuse it. At most
        2 + 12 + 1 + 8 < 25 characters.
        """
        nonce = f"pb{row_ids[0]}.{secrets.token_hex(4)}"
        async with self.db.transaction() as conn:
            await self.db.deliveries.claim(conn, list(row_ids), nonce, int(self.now()))
        return Batch(nonce, await self.db.deliveries.batch_rows(nonce))

    async def send(self, target: Target, batch: Batch, *, header: str | None = None, fresh: bool = False) -> bool:
        """Send one batch (or confirm an earlier attempt reached Discord); False if the target must wait.

        ``fresh``: claimed just now, so no earlier attempt can have reached Discord.
        """
        papers = await self.db.papers.get_many([row.paper_id for row in batch.rows])
        ordered = [papers[row.paper_id] for row in batch.rows if row.paper_id in papers]
        if not ordered:
            async with self.db.transaction() as conn:
                await self.db.deliveries.fail(conn, batch.nonce, "paper missing from the archive", None)
            return True
        first = batch.rows[0]
        if header is None and target.kind == "user":
            header = await self.dm_header(target.target_id, batch)
        if header is None and target.is_digest:
            header = digest_header(None)
        try:
            messageable = await self._messageable(target)
            claimed_at = first.claimed_at
            # An earlier attempt may have reached Discord. Past its nonce memory, look before resending.
            stale = claimed_at is not None and self.now() - claimed_at > self.nonce_trust_seconds
            if not fresh and first.attempts > 0 and stale:
                found = await self._find_sent(messageable, ordered[0])
                if found is not None:
                    await self._mark_sent(target, batch, found, ordered, recovered=True)
                    if _wants_thread(target):
                        await self._start_thread(target.target_id, found.id, ordered[0])
                    return True
            if not fresh:
                async with self.db.transaction() as conn:
                    await self.db.deliveries.start_attempt(conn, batch.nonce)
            embeds = [paper_card(ordered[0])] if header is None else paper_embeds(ordered)
            await self.pacer.wait()
            async with asyncio.timeout(SEND_TIMEOUT):
                view = paper_buttons(ordered[: len(embeds)])
                if view is None:
                    message = await messageable.send(content=header, embeds=embeds, nonce=batch.nonce)
                else:
                    message = await messageable.send(content=header, embeds=embeds, nonce=batch.nonce, view=view)
        except discord.HTTPException as error:
            return await self.faults.handle(target, batch, error)
        except NETWORK_ERRORS as error:
            return await self.faults.handle(target, batch, error)
        await self._mark_sent(target, batch, message, ordered)
        if _wants_thread(target):
            await self._start_thread(target.target_id, message.id, ordered[0])
        return True

    async def dm_header(self, user_id: int, batch: Batch, note: str = "") -> str:
        """The member's topics that matched, or for a batch of weekly picks (no topic), why each was picked."""
        topics = await self.topic_names(batch)
        paper_ids = [row.paper_id for row in batch.rows]
        because = {} if topics else await self.db.foryou.because(user_id, paper_ids)
        if because:
            papers = await self.db.papers.get_many([*paper_ids, *because.values()])
            picks = [
                (papers[paper_id].title, papers[saved].title if saved in papers else f"arXiv:{saved}")
                for paper_id in paper_ids
                if paper_id in papers and (saved := because.get(paper_id)) is not None
            ]
            if picks:
                return weekly_header(picks, note)
        picks_too = sum(row.topic_id is None for row in batch.rows) if topics else 0  # weekly picks in the batch
        return dm_header(len(batch.rows) - picks_too, note, topics, picks=picks_too)

    async def topic_names(self, batch: Batch) -> list[str]:
        """The member's topics that matched this batch's papers, in the order first matched."""
        names: list[str] = []
        for topic_id in dict.fromkeys(row.topic_id for row in batch.rows if row.topic_id is not None):
            topic = await self.db.topics.get(topic_id)
            if topic is not None:
                names.append(topic.query)
        return names

    async def recover_threads(self) -> int:
        """Start the threads a crash (or a Discord failure) left out after their post was sent; how many tried."""
        wanted = await self.db.deliveries.threads_wanted()
        papers = await self.db.papers.get_many([paper_id for _, _, paper_id in wanted])
        for channel_id, message_id, paper_id in wanted:
            paper = papers.get(paper_id)
            if paper is None:
                async with self.db.transaction() as conn:
                    await self.db.deliveries.thread_done(conn, message_id)
                continue
            log.info("starting the thread missing on message %s in channel %s", message_id, channel_id)
            await self._start_thread(channel_id, message_id, paper)
        return len(wanted)

    async def _messageable(self, target: Target) -> discord.PartialMessageable:
        if target.kind == "channel":
            guild_id = target.feed.guild_id if target.feed else None
            return self.client.get_partial_messageable(
                target.target_id, guild_id=guild_id, type=discord.ChannelType.text
            )
        channel_id = await self.db.users.dm_channel(target.target_id)
        if channel_id is None:
            await self.pacer.wait()
            async with asyncio.timeout(SEND_TIMEOUT):
                channel = await self.client.create_dm(discord.Object(target.target_id))
            channel_id = channel.id
            async with self.db.transaction() as conn:
                await self.db.users.set_dm_channel(conn, target.target_id, channel_id)
        return self.client.get_partial_messageable(channel_id, type=discord.ChannelType.private)

    async def _find_sent(self, messageable: discord.PartialMessageable, paper: Paper) -> discord.Message | None:
        me = self.client.user
        await self.pacer.wait()
        async for message in messageable.history(limit=HISTORY_LIMIT):
            if me is not None and message.author.id != me.id:
                continue
            if any(embed.url == paper.canonical_url for embed in message.embeds[:1]):
                return message
        return None

    async def _mark_sent(
        self,
        target: Target,
        batch: Batch,
        message: discord.Message,
        papers: Sequence[Paper],
        *,
        recovered: bool = False,
    ) -> None:
        async with self.db.transaction() as conn:
            await self.db.deliveries.mark_sent(
                conn, batch.nonce, message.id, int(self.now()), thread_wanted=_wants_thread(target)
            )
        self.stats["messages"] += 1
        self.stats["papers"] += len(papers)
        where = f"channel {target.target_id}" if target.kind == "channel" else f"user {target.target_id} by DM"
        log.info(
            "delivered %s to %s (message %s%s)",
            ", ".join(paper.id for paper in papers),
            where,
            message.id,
            ", found after a restart" if recovered else "",
        )

    async def _start_thread(self, channel_id: int, message_id: int, paper: Paper) -> None:
        try:
            await self.pacer.wait()
            await self.client.http.start_thread_with_message(
                channel_id,
                message_id,
                name=thread_name(paper),
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        except discord.HTTPException as error:
            if error.status >= 500:  # Discord's side: the next start tries again
                log.warning("could not start a thread on message %s yet: %s; retried on restart", message_id, error)
                return
            if error.code != THREAD_EXISTS:
                # The post itself is delivered; a refused thread is worth a warning, not a retry loop.
                log.warning(
                    "could not start a thread on message %s in channel %s: %s (code %s)",
                    message_id,
                    channel_id,
                    error.text or error.status,
                    error.code,
                )
        except NETWORK_ERRORS as error:
            log.warning("could not start a thread on message %s: %s; retried on restart", message_id, error)
            return
        async with self.db.transaction() as conn:
            await self.db.deliveries.thread_done(conn, message_id)


def _wants_thread(target: Target) -> bool:
    return target.feed is not None and target.feed.threads and target.feed.mode == "instant"
