"""Automatic delivery: a durable outbox of (target, paper) rows, sent to Discord exactly once each.

One module per job (docs/delivery.md tells the whole story):

- ``outbox``: what is owed. Stored papers recorded as owed a decision, baselines for new feeds and topics, feeds
  dropped with their channel or server, DMs resumed, old rows pruned. No Discord here.
- ``deciding``: a store's papers matched on a snapshot and turned into rows in short transactions.
- ``plan``: what is due now: targets with open rows, digest slots, batch sizes, the daily DM cap.
- ``pacer``: every request spaced under Discord's global rate limit.
- ``send``: one batch as one message, exactly once across crashes (nonce, then channel history).
- ``faults``: what a failed send means (pause a feed or a member, back off and retry, or fail).
- ``batches``: one target's queue in order, cut into messages.
- ``dispatcher``: the loop that runs rounds of the above over every due target.

The outbox functions are re-exported here for the services that change what is owed (feeds, topics);
the dispatcher is imported from ``bot.delivery.dispatcher``, so storing papers (the poller, the command
line) never imports the sending side.
"""

from bot.delivery.outbox import (
    BACKFILL_PAPERS,
    ELIGIBLE_DAYS,
    ELIGIBLE_MAX_DAYS,
    RETENTION_DAYS,
    EnqueueReport,
    baseline_feed,
    baseline_topic,
    channel_gone,
    guild_gone,
    owe,
    prune,
    resume_dms,
)

__all__ = [
    "BACKFILL_PAPERS",
    "ELIGIBLE_DAYS",
    "ELIGIBLE_MAX_DAYS",
    "RETENTION_DAYS",
    "EnqueueReport",
    "baseline_feed",
    "baseline_topic",
    "channel_gone",
    "guild_gone",
    "owe",
    "prune",
    "resume_dms",
]
