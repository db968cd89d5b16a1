"""The delivery package's decisions that need no Discord: fault classes, digest slots, the DM day, message text.

Sending itself is tested end to end (tests/test_e2e_delivery.py, tests/test_e2e_crash.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.db.feeds import Feed
from bot.delivery.faults import Fault, classify
from bot.delivery.plan import DM_DAILY_CAP, day_start, digest_slot
from bot.render.base import CONTENT_MAX
from bot.render.delivery import daily_limit_note, digest_header, dm_header


@pytest.mark.parametrize(
    ("kind", "status", "code", "fault"),
    [
        ("channel", 403, 50001, Fault.CHANNEL_GONE),
        ("channel", 403, 50013, Fault.CHANNEL_GONE),
        ("channel", 404, 10003, Fault.CHANNEL_GONE),
        ("channel", 403, 0, Fault.CHANNEL_GONE),  # any refusal of a channel pauses its feed
        ("user", 404, 10003, Fault.DM_CHANNEL_UNKNOWN),
        ("user", 403, 50007, Fault.DMS_CLOSED),
        ("user", 403, 0, Fault.DMS_CLOSED),
        ("channel", 503, 0, Fault.TRANSIENT),
        ("user", 500, 0, Fault.TRANSIENT),
        ("channel", 429, 0, Fault.TRANSIENT),
        ("channel", 400, 50035, Fault.PERMANENT),
        ("user", 400, 50035, Fault.PERMANENT),
    ],
)
def test_faults_are_classified_by_target_status_and_code(kind: str, status: int, code: int, fault: Fault) -> None:
    assert classify(kind, status, code) is fault  # type: ignore[arg-type]  # the table's kinds are TargetKind literals


def test_digest_slot_is_the_last_hour_passed_in_the_feeds_time_zone() -> None:
    tokyo = Feed(
        guild_id=10, channel_id=20, mode="digest", digest_hour=7, timezone="Asia/Tokyo"
    )  # 07:00 in Tokyo is 22:00 UTC the day before
    assert digest_slot(tokyo, datetime(2026, 3, 4, 21, 59, tzinfo=UTC)) == datetime(2026, 3, 3, 22, tzinfo=UTC)
    assert digest_slot(tokyo, datetime(2026, 3, 4, 22, 0, tzinfo=UTC)) == datetime(2026, 3, 4, 22, tzinfo=UTC)
    unknown = Feed(
        guild_id=10, channel_id=20, mode="digest", digest_hour=9, timezone="Mars/Olympus"
    )  # falls back to UTC rather than failing
    assert digest_slot(unknown, datetime(2026, 3, 4, 8, tzinfo=UTC)) == datetime(2026, 3, 3, 9, tzinfo=UTC)


def test_the_dm_day_starts_at_midnight_utc_of_the_given_time() -> None:
    late = datetime(2026, 3, 4, 23, 59, 59, tzinfo=UTC).timestamp()
    assert day_start(late) == datetime(2026, 3, 4, tzinfo=UTC).timestamp()
    assert day_start(late + 1) == datetime(2026, 3, 5, tzinfo=UTC).timestamp()


def test_the_daily_limit_note_says_what_was_held_back_and_how_to_get_fewer() -> None:
    note = daily_limit_note(DM_DAILY_CAP, 7)
    assert f"{DM_DAILY_CAP} papers today" in note and "7 more matches" in note
    assert "/unsubscribe" in note and "/search" in note
    assert "/subscriptions" not in note  # it only lists topics; it cannot make them fewer
    assert "1 more match today" in daily_limit_note(DM_DAILY_CAP, 1)


def test_headers() -> None:
    assert digest_header(13) == "📰 **Daily digest**: 13 new papers"
    assert digest_header(1) == "📰 **Daily digest**: 1 new paper"
    assert digest_header(1_234) == "📰 **Daily digest**: 1,234 new papers"
    assert digest_header(13, part=2) == "📰 **Daily digest** (continued, part 2)"
    assert digest_header(None) == "📰 **Daily digest**"
    assert dm_header(1) == "📬 1 new paper on your topics · `/unsubscribe` stops these"
    # Weekly picks queued beside topic papers go in the same message: the header names both, and both stops.
    mixed = dm_header(3, topics=["diffusion"], picks=2)
    assert mixed == (
        "📬 3 new papers on your topics matching **diffusion**, and 2 weekly picks close to your library"
        " · `/unsubscribe` and `/foryou weekly:False` stop these"
    )
    assert "1 weekly pick close" in dm_header(1, topics=["x"], picks=1)
    with_note = dm_header(10, daily_limit_note(DM_DAILY_CAP, 3))
    assert with_note.startswith("📬 10 new papers on your topics · `/unsubscribe` stops these\n-# That makes")
    assert len(dm_header(10, "x" * 5000)) <= CONTENT_MAX
