"""The soak run itself: the real bot process against the Discord stand-in and the fixture paper server,
polling every second, with papers streaming in, feeds and topics churning, random faults and SIGKILLs."""

from __future__ import annotations

import contextlib
import functools
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.soak import checks, proc
from bench.soak.model import TOPICS, Ledger, SoakPlan

CHURN_TOPIC = "churnsoak"
POLL_WAIT_S = 30.0  # one poll must come within this (a hung source times out after HTTP_TIMEOUT_SECONDS)
DRAIN_S = 180.0
DRAIN_MAX_S = 1_200.0


class Soak:
    def __init__(self, plan: SoakPlan, folder: Path, say: Callable[[str], None], seed: int = 15) -> None:
        self.plan = plan
        self.folder = folder
        self.say = say
        self.random = random.Random(seed)
        self.ledger = Ledger()
        self.faults: dict[str, int] = {}
        self.command_ms: list[float] = []
        self.max_lag_ms = 0.0
        self.restarts = 0
        self.held: dict[tuple[int, int], int] = {}  # (member, day) -> DM matches held back by the daily cap

    async def run(self) -> dict[str, Any]:
        from bot.config import Settings
        from bot.db import Database
        from bot.db.feeds import FeedConfig
        from bot.feeds import save_feed
        from bot.subscriptions import subscribe
        from testing.bot_harness import MANAGE_GUILD, bot_settings, redate_feed, today
        from testing.fake_discord import FakeDiscord, RateLimits
        from testing.paper_server import PaperServer

        self.folder.mkdir(parents=True, exist_ok=True)
        self.db_path = self.folder / "paperbot.db"
        self.log_path = self.folder / "bot.log"
        papers = await PaperServer().start()
        papers.arxiv_feed = redate_feed(today())  # a realistic arXiv listing beside the streamed papers
        self.papers = papers
        try:
            async with FakeDiscord(rate_limits=RateLimits()) as fake:
                self.fake = fake
                guild = fake.add_guild("Soak Lab")
                self.guild = guild
                self.stable = [fake.add_text_channel(guild.id, f"stable-{n}") for n in range(self.plan.stable_feeds)]
                self.churn_channel = fake.add_text_channel(guild.id, "churn")
                self.admin = fake.add_member(guild.id, "admin", permissions=MANAGE_GUILD)
                self.readers = {topic: fake.add_member(guild.id, f"reader-{topic}") for topic in TOPICS}
                self.churner = fake.add_member(guild.id, "churner")
                base = Settings(
                    _env_file=None,
                    database_path=self.db_path,
                    hf_base_url=papers.base_url,
                    arxiv_rss_base_url=papers.rss_base,
                    arxiv_categories=["cs.LG"],
                    poll_interval_seconds=1,
                    http_timeout_seconds=1.0,
                    http_retries=0,
                    hf_lookback_days=1,
                    delivery_retry_base_seconds=0.2,
                    delivery_max_attempts=20,
                )
                self.settings = bot_settings(base, fake)
                db = await Database.open(self.db_path)
                try:
                    for channel in self.stable:
                        await save_feed(db, FeedConfig(guild_id=guild.id, channel_id=channel.id), None)
                    for topic, reader in self.readers.items():
                        await subscribe(db, reader.id, topic)
                finally:
                    await db.close()
                return await self._drive()
        finally:
            await papers.stop()

    # ---- the run ---------------------------------------------------------------------------------------

    def polls(self) -> int:
        """Poll cycles so far: one Hugging Face daily-list request each (HF_LOOKBACK_DAYS=1, no retries)."""
        return self.papers.count("/api/daily_papers")

    def _polled_since(self, before: int) -> bool:
        return self.polls() > before

    async def _start(self) -> None:
        identified = self.fake.identify_count
        self.process = await proc.start(self.settings, self.folder, self.log_path)
        await self.fake.wait_for(
            lambda: self.fake.is_ready() and self.fake.identify_count > identified,
            timeout=60,
            message="bot ready after (re)start",
        )

    async def _drive(self) -> dict[str, Any]:
        from testing.bot_harness import today

        started = time.monotonic()
        await self._start()
        rss_start: float | None = None
        fds_start: int | None = None
        last_kill = 0
        churn_feed = False
        churn_topic = False
        done = 0
        while done < self.plan.polls:
            before = self.polls()
            await self.fake.wait_for(
                functools.partial(self._polled_since, before), timeout=POLL_WAIT_S, message="a poll"
            )
            done += 1
            self._read_lag()
            self._read_held()
            if done % self.plan.publish_every == 0:
                paper_id, _topic, title = self.ledger.next_paper()
                self._publish(paper_id, title, today())
            if done % self.plan.churn_every == 0:
                churn_feed = await self._toggle_feed(churn_feed)
                churn_topic = await self._toggle_topic(churn_topic)
                await self._timed("subscriptions", {}, self.readers[TOPICS[0]])
            if self.random.random() < self.plan.fault_chance:
                await self._fault()
            if done in self.plan.kills:
                await proc.kill(self.process)
                self.restarts += 1
                self.say(f"soak: poll {done}/{self.plan.polls}: SIGKILL, restarting")
                await self._start()
                last_kill = done
                rss_start = None
            if rss_start is None and done - last_kill >= self.plan.warmup_polls:
                rss_start = proc.rss_mib(self.process.pid)
                fds_start = proc.open_fds(self.process.pid)
            if done % 100 == 0:
                self.say(f"soak: {done}/{self.plan.polls} polls, {len(self.ledger.papers)} papers published")
        self.papers.recover()
        with contextlib.suppress(AssertionError):  # not stored or drained in time: reported as lost / open rows
            await self.fake.wait_for(
                lambda: checks.stored(self.db_path, self.ledger.ids()), timeout=DRAIN_S, message="stored"
            )
            await self._drain()
        self._read_lag()
        rss_end = proc.rss_mib(self.process.pid)
        fds_end = proc.open_fds(self.process.pid)
        exit_code = await proc.stop(self.process)
        elapsed = time.monotonic() - started
        return self._results(rss_start, rss_end, fds_start, fds_end, exit_code, elapsed, churn_feed)

    async def _drain(self) -> None:
        """Until the outbox is empty. At the large plan a paper comes about every second and each feed may post
        one message a second (Discord's 5 per 5 s per channel), so faults leave a backlog that takes minutes to
        send: the wait goes on while rows are still being sent (DRAIN_S without progress ends it), at most
        DRAIN_MAX_S, so an outbox that is still moving is not reported as lost deliveries."""
        deadline = time.monotonic() + DRAIN_MAX_S
        left = checks.open_rows(self.db_path)
        while left != 0 and time.monotonic() < deadline:
            with contextlib.suppress(AssertionError):
                await self.fake.wait_for(functools.partial(self._fewer_open_rows, left), timeout=DRAIN_S, message="")
            now_left = checks.open_rows(self.db_path)
            if now_left >= left:
                return  # no progress for DRAIN_S
            left = now_left

    def _fewer_open_rows(self, than: int) -> bool:
        return checks.open_rows(self.db_path) < than

    def _publish(self, paper_id: str, title: str, day: Any) -> None:
        from testing.factories import hf_item

        key = day.isoformat()
        current = self.papers.hf_days.get(key)
        item = hf_item(paper_id, title, upvotes=3, day=day)
        self.papers.hf_days[key] = [*(current if isinstance(current, list) else []), item]

    def _read_held(self) -> None:
        """Each reader's held count, per UTC day (the bot keeps only today's): summed at the end."""
        for user_id, day, count in checks.held(self.db_path, [reader.id for reader in self.readers.values()]):
            self.held[user_id, day] = max(count, self.held.get((user_id, day), 0))

    def _read_lag(self) -> None:
        found = checks.rows(self.db_path, "SELECT value FROM meta WHERE key = 'health:loop_lag_max_ms'")
        if found:
            self.max_lag_ms = max(self.max_lag_ms, float(found[0][0]))

    async def _timed(self, name: str, options: dict[str, Any], user: Any, channel: Any = None) -> Any:
        began = time.perf_counter()
        inter = await self.fake.invoke(name, options, user=user, guild=self.guild, channel=channel or self.stable[0])
        await inter.wait_done(timeout=15)
        self.command_ms.append((time.perf_counter() - began) * 1000)
        return inter

    async def _toggle_feed(self, present: bool) -> bool:
        name = "feed remove" if present else "feed add"
        await self._timed(name, {}, self.admin, channel=self.churn_channel)
        return not present

    async def _toggle_topic(self, present: bool) -> bool:
        if present:
            await self._timed("unsubscribe", {"topic": CHURN_TOPIC}, self.churner)
        else:
            await self._timed("subscribe", {"topic": CHURN_TOPIC}, self.churner)
        return not present

    async def _fault(self) -> None:
        from testing.paper_server import Fault

        kind = self.random.choice(
            ["source-5xx", "source-timeout", "source-malformed", "source-reset", "discord-5xx", "discord-429",
             "discord-reset", "discord-lost-response", "gateway-resume"]
        )  # fmt: skip
        self.faults[kind] = self.faults.get(kind, 0) + 1
        endpoint = self.random.choice(["daily_papers", "arxiv"])
        if kind == "source-5xx":
            self.papers.fail(endpoint, Fault(status=503))
        elif kind == "source-timeout":
            self.papers.fail(endpoint, Fault(hang=True))
        elif kind == "source-malformed":
            self.papers.fail(endpoint, Fault(status=200, body=b"{<not json or xml"))
        elif kind == "source-reset":
            self.papers.fail(endpoint, Fault(reset=True))
        elif kind == "discord-5xx":
            self.fake.fail_next("POST", r"/channels/\d+/messages", status=502)
        elif kind == "discord-429":
            self.fake.fail_next("POST", r"/channels/\d+/messages", status=429, retry_after=0.2)
        elif kind == "discord-reset":
            self.fake.fail_next("POST", r"/channels/\d+/messages", status=None, reset=True)
        elif kind == "discord-lost-response":
            # Discord creates the message but the answer never arrives: only the nonce prevents a duplicate.
            self.fake.fail_next("POST", r"/channels/\d+/messages", status=None, reset=True, after_processing=True)
        else:
            await self.fake.disconnect(0, code=4000)

    def _results(
        self,
        rss_start: float | None,
        rss_end: float | None,
        fds_start: int | None,
        fds_end: int | None,
        exit_code: int,
        elapsed: float,
        churn_feed: bool,
    ) -> dict[str, Any]:
        self._read_held()
        all_ids = set(self.ledger.ids())
        lost = duplicated = 0
        for channel in self.stable:
            counts = checks.posted(self.fake.messages(channel))
            lost += len(all_ids - set(counts))
            duplicated += checks.duplicates(counts)
        duplicated += checks.duplicates(checks.posted(self.fake.messages(self.churn_channel)))
        for topic, reader in self.readers.items():
            counts = checks.posted(self.fake.dm_messages(reader))
            expected = set(self.ledger.ids(topic)) - checks.capped(self.db_path, reader.id)
            # Past the daily cap a match gets no row, only a count the member is told ("N more"), so which
            # papers they were is not recorded: lost is what is missing beyond that count.
            held = sum(count for (user_id, _day), count in self.held.items() if user_id == reader.id)
            lost += max(0, len(expected - set(counts)) - held)
            duplicated += checks.duplicates(counts)
        duplicated += checks.duplicates(checks.posted(self.fake.dm_messages(self.churner)))
        return {
            "polls": self.polls(),
            "papers_published": len(all_ids),
            "restarts": self.restarts,
            "faults": dict(sorted(self.faults.items())),
            "lost": lost,
            "duplicated": duplicated,
            "dm_held": sum(self.held.values()),
            "open_rows_after_drain": checks.open_rows(self.db_path),
            "rss_start_mib": rss_start,
            "rss_end_mib": rss_end,
            "rss_growth_pct": None if not rss_start or rss_end is None else (rss_end - rss_start) / rss_start * 100,
            "fds_start": fds_start,
            "fds_end": fds_end,
            "max_loop_stall_ms": self.max_lag_ms,
            "slowest_command_ms": max(self.command_ms, default=None),
            "commands": len(self.command_ms),
            "integrity": checks.integrity(self.db_path),
            "exit_code": exit_code,
            "elapsed_s": elapsed,
            "stand_in_internal_errors": len(self.fake.internal_errors),
        }
