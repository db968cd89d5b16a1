"""``soak``: the real bot process for many polls under faults; deliveries lost/duplicated, memory, stalls.

The bot runs as ``python -m bot`` (so SIGKILL is real) against ``testing.fake_discord.FakeDiscord`` with
Discord's rate limits and the fixture paper server, polling every second (the smallest interval). Four
instant feeds and two members' topics are stored before it starts; during the run one paper is published
every ``publish_every`` polls, a feed is added/removed and a topic subscribed/unsubscribed every
``churn_every`` polls (through slash commands, whose answer time is measured), and a random fault is
injected with ``fault_chance`` per poll: source 503, hang (timeout), malformed body or connection reset;
Discord 502, 429, connection reset, a lost response (message created, answer dropped), or a gateway
disconnect that discord.py resumes. The plan's ``kills`` SIGKILL the bot and restart it.

Lost: a paper published during the run missing from a stable feed, or from a member's DMs unless it was
skipped by the daily DM cap (which the member is told about). Duplicated: any paper posted twice to one
channel or member. RSS and open fds are sampled after a warm-up following the last restart and at the end;
the longest event-loop stall is the bot's own monitor (``bot/looplag.py``, in the ``meta`` table).

Modules: ``model`` (plans, the ledger of papers), ``run`` (the driver), ``checks`` (lost, duplicated,
integrity), ``proc`` (the process and /proc), ``report`` (targets and table).
"""

from __future__ import annotations

from typing import Any

from bench.context import Context, run_async
from bench.soak.model import PLANS
from bench.soak.report import report
from bench.soak.run import Soak

NAME = "soak"


def run(ctx: Context) -> dict[str, Any]:
    plan = PLANS[ctx.scale.name]
    metrics = run_async(Soak(plan, ctx.scratch(NAME), ctx.say, seed=ctx.seed).run())
    inputs = {"plan": ctx.scale.name, "polls": plan.polls, "kills": list(plan.kills),
              "publish_every": plan.publish_every, "churn_every": plan.churn_every,
              "fault_chance": plan.fault_chance, "stable_feeds": plan.stable_feeds, "poll_interval_s": 1}  # fmt: skip
    return report(ctx.scale.name, inputs, metrics)
