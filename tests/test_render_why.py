"""/feed why, /why and /mydata texts stay within Discord's limits and escape whatever they quote."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.db.deliveries import Record
from bot.db.feeds import Feed
from bot.explain import FeedExplanation, MemberExplanation, PaperFacts, TermCheck, TopicCheck
from bot.models import Source
from bot.mydata import Removed
from bot.render import mydata as mydata_text
from bot.render import why as why_text
from testing.factories import make_paper
from tests.test_render import check_content, check_message, wild_text

NOW = datetime(2026, 3, 4, 12, tzinfo=UTC)

checks = st.builds(
    TopicCheck,
    query=wild_text,
    matches=st.booleans(),
    terms=st.lists(st.builds(TermCheck, text=wild_text, found=st.booleans()), max_size=10),
    excluded=st.lists(st.builds(TermCheck, text=wild_text, found=st.booleans()), max_size=5),
)
records = st.none() | st.builds(
    Record,
    target_kind=st.sampled_from(["channel", "user"]),
    target_id=st.just(1577925199582593028),
    paper_id=st.just("2603.01001"),
    guild_id=st.none() | st.just(1577925199582593024),
    feed_id=st.none() | st.just(1),
    topic_id=st.none() | st.just(1),
    status=st.sampled_from(["pending", "sending", "sent", "failed", "skipped"]),
    created_at=st.just(1_772_600_000),
    sent_at=st.none() | st.just(1_772_600_100),
    message_id=st.none() | st.just(1577925200761192448),
    last_error=st.none() | wild_text,
    last_error_code=st.none() | st.sampled_from([50013, 50001, 10003, 50007, 12345]),
    attempts=st.integers(0, 9),
)


def facts(title: str) -> PaperFacts:
    paper = make_paper(title=title or "x", sources=Source.HF | Source.ARXIV, upvotes=3)
    return PaperFacts(paper, NOW, NOW, NOW, arrived_too_old=False)


@settings(max_examples=40, deadline=None)
@given(wild_text, st.none() | checks, records, st.none() | wild_text, st.booleans(), st.booleans())
def test_feed_why_fits(
    title: str, topic: TopicCheck | None, record: Record | None, paused: str | None, ok: bool, started: bool
) -> None:
    feed = Feed(
        guild_id=1,
        channel_id=1577925199582593028,
        min_upvotes=10,
        created_at=NOW,
        disabled_reason=paused,
        disabled_at=NOW if paused else None,
        id=1,
    )
    item = FeedExplanation(feed, facts(title), topic, ok, ok, started, record)
    embed = why_text.feed_why(item)
    check_message([embed])
    assert "@everyone" not in (embed.description or "")


@settings(max_examples=40, deadline=None)
@given(wild_text, st.lists(checks, max_size=25), records, st.booleans())
def test_member_why_fits(title: str, topics: list[TopicCheck], record: Record | None, paused: bool) -> None:
    item = MemberExplanation(facts(title), topics, record, paused, 50007 if paused else None, 42, 7, 50)
    check_message([why_text.member_why(item)])


def test_removed_says_what_went_and_what_stayed() -> None:
    check_content(mydata_text.removed(Removed(topics=25, dm_state=True, pending_dms=1, history=900, kept=3)))
    assert "nothing to delete" in mydata_text.removed(Removed(0, False, 0, 0, 0))
    assert "1 topic," in mydata_text.removed(Removed(1, False, 0, 0, 0))


def test_a_pending_digest_paper_says_when_it_goes_out() -> None:
    feed = Feed(guild_id=1, channel_id=2, mode="digest", digest_hour=7, timezone="Europe/Berlin", created_at=NOW, id=1)
    record = Record("channel", 2, "2603.01001", 1, 1, None, "pending", 1_772_600_000, None, None, None, None, 0)
    text = why_text.feed_why(FeedExplanation(feed, facts("A"), None, True, True, False, record)).description or ""
    assert "daily digest at 07:00 Europe/Berlin" in text


def test_a_paper_held_back_by_the_daily_limit_is_explained_as_such() -> None:
    matching = TopicCheck("benchmark", True, [TermCheck("benchmark", True)], [])
    item = MemberExplanation(facts("A"), [matching], None, False, None, 42, 50, 50, held_today=12)
    text = why_text.member_why(item).description or ""
    assert "12 more matched after your day was full" in text
    assert "daily DM limit was probably full" in text
    check_message([why_text.member_why(item)])
