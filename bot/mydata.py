"""A member's own data: everything stored about them as one JSON document, and deleting it.

Deleting keeps only what the exactly-once guarantee needs (see docs/delivery.md, "Members' data"): rows for
DMs already sent of papers still recent enough to be enqueued again, stripped to the user and paper ids.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from bot.db import Database
from bot.delivery.outbox import DAY, ELIGIBLE_MAX_DAYS

HISTORY_DAYS = 30
EXPORT_NAME = "paperbot-mydata.json"


def _iso(value: int | None) -> str | None:
    return None if value is None else datetime.fromtimestamp(value, UTC).isoformat()


async def export(db: Database, user_id: int, *, now: int | None = None) -> dict[str, Any]:
    """Everything stored about the member; DM history of the last ``HISTORY_DAYS`` days."""
    now = int(time.time()) if now is None else now
    topics = await db.topics.for_user(user_id)
    state = await db.users.state(user_id)
    history = await db.deliveries.user_history(user_id, now - HISTORY_DAYS * DAY)
    saved = await db.library.all_saved(user_id)
    weekly = await db.foryou.weekly(user_id)
    picks = await db.foryou.picks(user_id)
    return {
        "user_id": str(user_id),
        "exported_at": _iso(now),
        "topics": [
            {"id": topic.id, "query": topic.query, "created_at": topic.created_at.isoformat()} for topic in topics
        ],
        "library": [
            {"paper_id": item.paper.id, "title": item.paper.title, "saved_at": item.saved_at.isoformat()}
            for item in saved
        ],
        "weekly_recommendations": {
            "on": weekly is not None,
            "turned_on_at": _iso(weekly.enabled_at) if weekly else None,
            "last_week_queued": _iso(weekly.last_slot) if weekly else None,
            "picks": [
                {"paper_id": paper_id, "close_to_saved_paper_id": because, "week": _iso(slot)}
                for paper_id, because, slot in picks
            ],
        },
        "direct_messages": {
            "dm_channel_id": None if state is None or state.dm_channel_id is None else str(state.dm_channel_id),
            "paused_at": _iso(state.paused_at) if state else None,
            "pause_error_code": state.pause_code if state else None,
            # Matches past the daily cap on that UTC day: counted for the daily-limit note, never queued.
            "held_back": state.held if state else 0,
            "held_back_day": _iso(state.held_day) if state else None,
        },
        f"deliveries_last_{HISTORY_DAYS}_days": [
            {
                "paper_id": row.paper_id,
                "status": row.status,
                "topic_id": row.topic_id,
                "queued_at": _iso(row.created_at),
                "sent_at": _iso(row.sent_at),
                "message_id": None if row.message_id is None else str(row.message_id),
                "error": row.last_error,
                "error_code": row.last_error_code,
            }
            for row in history
        ],
    }


def export_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


@dataclass(frozen=True)
class Removed:
    topics: int
    dm_state: bool
    pending_dms: int
    history: int
    kept: int
    library: int = 0  # saved papers (Save button, /library)
    weekly: bool = False  # the weekly recommendations DM was on (/foryou weekly:true)
    weekly_picks: int = 0  # which saved paper each past weekly pick was close to

    @property
    def anything(self) -> bool:
        return bool(self.topics or self.dm_state or self.pending_dms or self.history or self.library or self.weekly)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def delete(db: Database, user_id: int, *, now: int | None = None) -> Removed:
    """Remove the member's topics, library, weekly DM, DM state, pending DMs and history, in one transaction."""
    now = int(time.time()) if now is None else now
    async with db.transaction() as conn:
        topics = await db.topics.remove_all(conn, user_id)
        saved = await db.library.delete_user(conn, user_id)
        weekly, weekly_picks = await db.foryou.delete_user(conn, user_id)
        dm_state = await db.users.remove(conn, user_id)
        forgotten = await db.deliveries.forget_user(conn, user_id, recent_since=now - ELIGIBLE_MAX_DAYS * DAY)
        await db.queries.collect_garbage(conn)
    return Removed(
        topics=topics,
        dm_state=dm_state,
        pending_dms=forgotten.pending,
        history=forgotten.history,
        kept=forgotten.kept,
        library=saved,
        weekly=weekly,
        weekly_picks=weekly_picks,
    )
