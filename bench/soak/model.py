"""What the soak run does and what it expects: the plan per scale and the ledger of published papers."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SoakPlan:
    polls: int  # poll cycles of the bot (one arXiv request each; HTTP_RETRIES=0)
    kills: tuple[int, ...]  # SIGKILL and restart after these poll counts
    publish_every: int = 2  # one new paper every this many polls
    churn_every: int = 5  # add/remove a feed, subscribe/unsubscribe a member, time a command
    fault_chance: float = 0.35  # per poll: one random fault somewhere
    stable_feeds: int = 4
    warmup_polls: int = 5  # after the last restart, before RSS is sampled as the start figure


PLANS = {
    "ci": SoakPlan(polls=24, kills=(8,), warmup_polls=3),
    "small": SoakPlan(polls=40, kills=(12, 24), warmup_polls=3),
    "medium": SoakPlan(polls=400, kills=(80, 160, 240)),
    # RSS's start figure after 60 polls: the semantic encoder (~140 MiB) has loaded by then, so the growth
    # figure is what the run added, not the model finishing its load after a restart.
    "large": SoakPlan(polls=2_000, kills=(300, 600, 900, 1_200), warmup_polls=60),
}

# Members follow one of these words; every paper title holds one of them (ids are unique words to FTS5).
TOPICS = ("graphsoak", "visionsoak")


@dataclass
class Ledger:
    """Every paper the run published, in order, with the topic word in its title."""

    papers: list[tuple[str, str]] = field(default_factory=list)  # (paper id, topic word)

    def next_paper(self) -> tuple[str, str, str]:
        number = len(self.papers) + 1
        paper_id = f"2612.{number:05d}"
        topic = TOPICS[number % len(TOPICS)]
        self.papers.append((paper_id, topic))
        return paper_id, topic, f"Soak study {number} of {topic} under faults"

    def ids(self, topic: str | None = None) -> list[str]:
        return [paper_id for paper_id, word in self.papers if topic is None or word == topic]
