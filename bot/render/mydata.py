"""/mydata export and delete: what is stored about a member, the confirmation, and what was removed."""

from __future__ import annotations

from bot.delivery.outbox import RETENTION_DAYS
from bot.mydata import HISTORY_DAYS, Removed
from bot.render.base import plural

EXPORTED = (
    "📦 Everything I store about you: your topics, your library, your weekly recommendations setting, your DM "
    "settings and your DM deliveries of the last "
    f"{HISTORY_DAYS} days. Only you can see this file."
)
CONFIRM = (
    "⚠️ This removes your topics, your library, your weekly recommendations DM, your DM settings, the DMs "
    "still waiting to be sent to you and your "
    "delivery history. It cannot be undone. Servers' channel feeds are not affected. The button works for "
    "two minutes."
)
CONFIRM_LABEL = "Delete my data"
CANCELLED = "Nothing was deleted."
ALREADY = "That confirmation was already used; run `/mydata delete` again if you need to."


def removed(result: Removed) -> str:
    if not result.anything and not result.kept:
        return "🗑️ I had nothing stored about you, so there was nothing to delete."
    parts = [
        plural(result.topics, "topic"),
        "your DM settings" if result.dm_state else "no DM settings",
        plural(result.pending_dms, "pending DM paper"),
        plural(result.history, "delivery record"),
        plural(result.library, "saved paper"),
    ]
    if result.weekly:
        parts.append("your weekly recommendations DM")
    text = "🗑️ Deleted " + ", ".join(parts) + "."
    if result.kept:
        text += (
            f" I keep only the fact that {plural(result.kept, 'recent paper was', 'recent papers were')} already "
            f"sent to you (no topics, no message ids), so you never get one twice if you subscribe again; the "
            f"regular clean-up removes that too within {RETENTION_DAYS} days."
        )
    return text
