"""arXiv's announcement calendar: which days have listings, and which submissions a missed day can hold.

arXiv announces on weekdays. A listing (the RSS feed's day, dated 00:00 New York time) holds the papers
submitted before 14:00 New York time on the previous weekday and after the cut-off before that; papers
submitted on Friday afternoon or at the weekend appear on Tuesday's listing. Holidays move cut-offs, so
nothing here guesses a listing from a submission time exactly: the back-fill window (``backfill_window``)
is wide enough to cover any schedule between two listings that were actually seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _new_york() -> tzinfo:
    try:
        return ZoneInfo("America/New_York")
    except ZoneInfoNotFoundError:  # no time-zone database: standard time is close enough for day arithmetic
        from datetime import timezone

        return timezone(timedelta(hours=-5), "EST")


NEW_YORK = _new_york()
CUTOFF = time(14, 0)


def is_weekday(day: date) -> bool:
    return day.weekday() < 5


def next_weekday(day: date) -> date:
    day += timedelta(days=1)
    while not is_weekday(day):
        day += timedelta(days=1)
    return day


def previous_weekday(day: date) -> date:
    day -= timedelta(days=1)
    while not is_weekday(day):
        day -= timedelta(days=1)
    return day


def listing_day(moment: datetime) -> date:
    """The calendar day (New York) of a listing time such as an RSS ``pubDate``."""
    return moment.astimezone(NEW_YORK).date()


def listing_time(day: date) -> datetime:
    """When a listing day starts, as the RSS feed dates it: 00:00 New York time, in UTC."""
    return datetime.combine(day, time(0), NEW_YORK).astimezone(UTC)


def expected_listing(submitted: datetime) -> date:
    """The listing a submission normally appears on (no holidays): the weekday after its cut-off day."""
    local = submitted.astimezone(NEW_YORK)
    cutoff_day = local.date()
    if not is_weekday(cutoff_day) or local.time() >= CUTOFF:
        cutoff_day = next_weekday(cutoff_day)
    return next_weekday(cutoff_day)


def missed_listings(covered: date, seen: date) -> list[date]:
    """Weekdays strictly between the last listing fully stored and the one just seen (holidays included)."""
    days = []
    day = next_weekday(covered)
    while day < seen:
        days.append(day)
        day = next_weekday(day)
    return days


@dataclass(frozen=True)
class Window:
    """Submission dates to ask arXiv's API for, whole UTC days, both ends included."""

    first: date
    last: date
    clipped: bool = False  # the gap was longer than the limit, so the oldest missed days are not asked for

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def backfill_window(covered: date, seen: date, *, max_days: int) -> Window | None:
    """The submissions that can be on the listings missed between ``covered`` and ``seen``; None if none were.

    A listing after ``covered`` only holds papers submitted after ``covered``'s cut-off (14:00 New York on
    the weekday before it), so the window starts at 00:00 UTC of that weekday, before the cut-off in every
    season. A listing before ``seen`` only holds papers submitted before ``seen``'s cut-off (14:00 New York,
    18:00 or 19:00 UTC, on the weekday before ``seen``), so the window ends with that UTC day: a weekday
    later than the missed listings strictly need, in case arXiv moved a cut-off around a holiday. Holidays
    only move papers to a later listing, at the latest ``seen``, which is in the feed. The overlap at both
    ends is papers already stored, which the archive sees as unchanged (arXiv's API dates submissions in
    GMT). ``max_days`` bounds the window for a bot that was away long.
    """
    if not missed_listings(covered, seen):
        return None
    first, last = previous_weekday(covered), previous_weekday(seen)
    earliest = last - timedelta(days=max_days - 1)
    return Window(max(first, earliest), last, clipped=first < earliest)
