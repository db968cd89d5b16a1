"""Save, Related and /library end to end: the stand-in's button presses and commands, the real bot and database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import bibtexparser
import discord
import pytest
from bibtexparser.middlewares import LatexDecodingMiddleware

from bot import library
from bot.config import Settings
from bot.related import Related
from testing.bot_harness import World, bot_settings, build_world, running_bot, serve_today
from testing.fake_discord import FakeDiscord
from testing.paper_server import PaperServer
from tests.test_e2e_delivery import add_feed, idle, new_item, publish

pytestmark = pytest.mark.e2e


def only(inter: Any) -> Any:
    (message,) = inter.visible
    return message


def buttons(message: Any) -> dict[str, str]:
    """label -> custom id of every button on a message."""
    return {
        button.get("label", ""): button["custom_id"]
        for row in message.components
        for button in row["components"]
        if "custom_id" in button
    }


async def press(world: World, message: Any, label: str, user: Any = None) -> Any:
    click = await world.fake.click(message, buttons(message)[label], user=user or world.member)
    await click.wait_done(timeout=10)
    return click


async def archived_ids(world: World, count: int) -> list[str]:
    rows = await world.bot.db.fetchall("SELECT arxiv_id FROM papers ORDER BY pk LIMIT ?", (count,))
    return [row["arxiv_id"] for row in rows]


async def test_save_on_a_channel_post_then_again_then_remove(world: World) -> None:
    await add_feed(world)
    (paper_id,) = publish(world, new_item("Diffusion Policies for Robots", upvotes=12))
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.messages(world.news)) == 1, timeout=10, message="post")
    (post,) = world.fake.messages(world.news)
    assert set(buttons(post)) == {"Save", "Related"}
    assert buttons(post)["Save"] == f"paper:save:{paper_id}"

    answer = only(await press(world, post, "Save"))
    assert answer.ephemeral
    assert answer.content.startswith("🔖 Saved: **Diffusion Policies for Robots**. 1 paper in your library")
    assert "`/library list`" in answer.content
    assert answer.allowed_mentions == {"parse": []}

    again = only(await press(world, post, "Save"))
    assert again.ephemeral and "already in your library" in again.content
    removed = only(await press(world, again, "Remove from library"))
    assert removed.ephemeral and "Removed **Diffusion Policies for Robots**" in removed.content
    assert await world.bot.db.library.count(world.member.id) == 0

    # Another member's press saves to their own library.
    other = only(await press(world, post, "Save", user=world.admin))
    assert "1 paper in your library" in other.content


async def test_save_on_a_dm_card(world: World) -> None:
    await world.run("subscribe", {"topic": "diffusion"})
    ids = publish(world, new_item("Diffusion Policy for Robots"), new_item("Video Diffusion Transformers"))
    await world.bot.poller.poll_once()
    await world.fake.wait_for(lambda: len(world.fake.dm_messages(world.member)) == 1, timeout=10, message="DM")
    await idle(world)
    (dm,) = world.fake.dm_messages(world.member)
    labels = buttons(dm)
    assert {f"Save {paper_id}" for paper_id in ids} <= set(labels)
    assert {f"Related {paper_id}" for paper_id in ids} <= set(labels)
    answer = only(await press(world, dm, f"Save {ids[1]}"))
    assert "Saved: **Video Diffusion Transformers**" in answer.content
    saved = await world.bot.db.library.all_saved(world.member.id)
    assert [item.paper.id for item in saved] == [ids[1]]


async def test_a_double_press_makes_one_row_and_two_sensible_answers(world: World) -> None:
    (paper_id,) = await archived_ids(world, 1)
    card = only(await world.run("paper", {"id": paper_id}))
    custom_id = buttons(card)["Save"]
    clicks = await asyncio.gather(
        world.fake.click(card, custom_id, user=world.member), world.fake.click(card, custom_id, user=world.member)
    )
    answers = [only(await click.wait_done(timeout=10)).content for click in clicks]
    assert sum("Saved:" in answer for answer in answers) == 1
    assert sum("already in your library" in answer for answer in answers) == 1
    assert await world.bot.db.library.count(world.member.id) == 1


async def test_a_button_from_an_older_version_gets_a_private_answer(world: World) -> None:
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(label="Bookmark", custom_id="bookmark_v0:2401.00001"))
    sent = await world.bot.get_partial_messageable(world.general.id).send("an old post", view=view)
    view.stop()  # this version no longer has anything listening for that id
    (old,) = [message for message in world.fake.messages(world.general) if message.id == sent.id]
    answer = only(await press(world, old, "Bookmark"))
    assert answer.ephemeral
    assert "older version of paperbot" in answer.content


async def test_library_at_its_limit_says_so(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library, "MAX_PAPERS", 2)
    first, second, third = await archived_ids(world, 3)
    for paper_id in (first, second):
        assert "Saved:" in only(await world.run("library add", {"paper": paper_id})).content
    full = only(await world.run("library add", {"paper": third}))
    assert full.ephemeral and "Your library is full: it holds at most 2 papers" in full.content
    assert await world.bot.db.library.count(world.member.id) == 2


@pytest.mark.parametrize(
    ("reference", "fragment"),
    [("not a paper", "doesn't look like an arXiv id"), ("2603.09999", "Neither my archive nor Hugging Face")],
)
@pytest.mark.parametrize("command", ["library add", "related"])
async def test_bad_or_unknown_ids_are_explained_privately(
    world: World, command: str, reference: str, fragment: str
) -> None:
    answer = only(await world.run(command, {"paper": reference}))
    assert answer.ephemeral and fragment in answer.content
    assert await world.bot.db.library.count(world.member.id) == 0


async def test_library_list_export_and_remove(world: World) -> None:
    empty = only(await world.run("library export"))
    assert empty.ephemeral and "nothing to export" in empty.content
    assert "library is empty" in only(await world.run("library list")).content
    ids = await archived_ids(world, 7)
    for paper_id in ids:
        await world.run("library add", {"paper": paper_id})

    listing = only(await world.run("library list"))
    assert listing.ephemeral
    assert listing.embeds[0]["title"] == "Your library (7 papers)"
    newest = await world.bot.db.papers.get(ids[-1])
    assert newest is not None and newest.title[:40] in listing.embeds[0]["description"].split("\n")[0]
    page_two = await world.fake.click(listing, listing.components[0]["components"][1]["custom_id"], user=world.member)
    await page_two.wait_done()
    assert listing.embeds[0]["description"].startswith("**6.")

    export = only(await world.run("library export"))
    (attachment,) = export.attachments
    assert attachment["filename"] == "paperbot-library.bib"
    parsed = bibtexparser.parse_string(  # type: ignore[attr-defined]  # re-exported without __all__
        world.fake.attachment_data(attachment).decode("utf-8")
    )
    assert parsed.failed_blocks == []
    assert sorted(entry.fields_dict["eprint"].value for entry in parsed.entries) == sorted(ids)
    for fmt, name in (("markdown", "paperbot-library.md"), ("csv", "paperbot-library.csv")):
        exported = only(await world.run("library export", {"format": fmt}))
        assert len(exported.attachments) == 1, exported.content
        (attachment,) = exported.attachments
        assert attachment["filename"] == name

    choices = await world.fake.autocomplete("library remove", {"paper": ""}, focused="paper", user=world.member)
    assert [choice["value"] for choice in choices][:2] == [ids[-1], ids[-2]]
    assert "Removed" in only(await world.run("library remove", {"paper": ids[0]})).content
    assert "isn't in your library" in only(await world.run("library remove", {"paper": ids[0]})).content
    assert await world.bot.db.library.count(world.member.id) == 6
    assert "No paper in your library matches" in only(await world.run("library list", {"query": "zzqx"})).content


class FakeSemantic:
    """The interface bot.semantic offers (s-semantic), answering from a fixed table."""

    available = True

    def __init__(self, table: dict[str, list[tuple[int, float]]]) -> None:
        self.table = table

    async def related(self, arxiv_id: str, k: int = 5) -> list[tuple[int, float]]:
        return self.table.get(arxiv_id, [])[:k]


async def test_related_uses_the_semantic_index_and_each_result_can_be_saved(world: World) -> None:
    rows = await world.bot.db.fetchall("SELECT pk, arxiv_id, title FROM papers ORDER BY pk LIMIT 4")
    source, *near = rows
    world.bot.semantic = FakeSemantic({source["arxiv_id"]: [(row["pk"], 0.9) for row in near]})  # type: ignore[assignment]  # a stand-in index
    answer = only(await world.run("related", {"paper": source["arxiv_id"]}))
    assert answer.ephemeral
    description = answer.embeds[0]["description"]
    for number, row in enumerate(near, 1):
        assert f"**{number}. [" in description and row["title"][:30] in description
    assert "share words" not in description
    saved = only(await press(world, answer, "Save 2"))
    assert f"Saved: **{near[1]['title'][:30]}" in saved.content


async def test_related_without_semantic_search_says_so_and_uses_title_words(world: World) -> None:
    rows = await world.bot.db.fetchall("SELECT arxiv_id FROM papers ORDER BY pk")
    for row in rows:
        answer = only(await world.run("related", {"paper": row["arxiv_id"]}))
        if answer.embeds:
            assert "Semantic search is off" in answer.embeds[0]["description"]
            assert row["arxiv_id"] not in str(buttons(answer))
            return
        assert "no papers related" in answer.content
    pytest.fail("no archived paper shares a title word with another")


async def test_buttons_keep_working_after_a_restart(
    paper_server: PaperServer, make_settings: Callable[..., Settings], fake_discord: FakeDiscord
) -> None:
    serve_today(paper_server)
    guild, general, _, _, member = build_world(fake_discord)
    settings = bot_settings(make_settings(poll_interval_seconds=3600), fake_discord)
    async with running_bot(settings, fake_discord) as bot:
        paper_id = await bot.db.fetchval("SELECT arxiv_id FROM papers ORDER BY pk LIMIT 1")
        inter = await fake_discord.invoke("paper", {"id": paper_id}, user=member, guild=guild, channel=general)
        await inter.wait_done(timeout=10)
        (card,) = inter.visible
    async with running_bot(settings, fake_discord, first_poll=False) as bot:
        click = await fake_discord.click(card, buttons(card)["Save"], user=member)
        (answer,) = (await click.wait_done(timeout=10)).visible
        assert answer.ephemeral and "1 paper in your library" in answer.content
        click = await fake_discord.click(card, buttons(card)["Related"], user=member)
        (related,) = (await click.wait_done(timeout=10)).visible
        assert related.ephemeral
        assert related.embeds or "no papers related" in related.content
        assert await bot.db.library.count(member.id) == 1


def test_related_result_type_is_what_the_renderer_takes() -> None:
    assert set(Related.__dataclass_fields__) == {"paper", "papers", "method", "semantic_off"}


async def test_digest_messages_carry_save_and_related_for_each_paper(world: World) -> None:
    await add_feed(world, mode="digest", digest_hour=7)
    ids = publish(world, *(new_item(f"Digest button paper {n}", upvotes=n) for n in range(12)))
    await world.bot.poller.poll_once()
    await idle(world)
    later = time.time() + 86_400 + 60
    world.bot.dispatcher.clock = lambda: later
    world.bot.dispatcher.wake()
    await world.fake.wait_for(lambda: len(world.fake.messages(world.news)) == 2, timeout=10, message="digest")
    first, second = world.fake.messages(world.news)
    # Ten papers: five rows of Save/Related for two papers each, the most Discord allows on one message.
    assert len(first.components) == 5 and all(len(row["components"]) == 4 for row in first.components)
    assert len(second.components) == 1
    in_message = [embed["footer"]["text"].removeprefix("arXiv:") for embed in first.embeds]
    assert {label.split()[-1] for label in buttons(first)} == set(in_message)
    assert set(in_message) <= set(ids)
    answer = only(await press(world, first, f"Save {in_message[3]}"))
    assert answer.ephemeral and "Saved:" in answer.content


async def test_buttons_of_a_paper_removed_from_the_archive_answer_clearly(world: World) -> None:
    (paper_id,) = publish(world, new_item("Soon Gone"))
    await world.bot.poller.poll_once()
    card = only(await world.run("paper", {"id": paper_id}))
    await press(world, card, "Save")
    world.papers.hf_days.clear()  # Hugging Face no longer lists it either
    async with world.bot.db.transaction() as conn:
        await conn.execute("DELETE FROM papers WHERE arxiv_id = ?", (paper_id,))
    assert await world.bot.db.library.count(world.member.id) == 0  # the library row went with the paper
    for label in ("Save", "Related"):
        answer = only(await press(world, card, label))
        assert answer.ephemeral and f"arXiv:{paper_id}" in answer.content, answer.content


class _OtherHelpersButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"other:(?P<n>[0-9]+)"):
    """A persistent button another part of the bot might add: the stale-button catch-all must leave it be."""

    def __init__(self, n: int) -> None:
        super().__init__(discord.ui.Button(label="Other", custom_id=f"other:{n}"))

    @classmethod
    async def from_custom_id(cls, interaction: Any, item: Any, match: Any, /) -> _OtherHelpersButton:
        return cls(int(match["n"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("other handled it", ephemeral=True)


async def test_the_stale_catch_all_leaves_other_persistent_buttons_alone(world: World) -> None:
    world.bot.add_dynamic_items(_OtherHelpersButton)
    view = discord.ui.View(timeout=None)
    view.add_item(_OtherHelpersButton(7))
    sent = await world.bot.get_partial_messageable(world.general.id).send("other", view=view)
    (message,) = [item for item in world.fake.messages(world.general) if item.id == sent.id]
    click = await press(world, message, "Other")
    await world.bot.dispatcher.run_once()  # give a wrong second answer the chance to show up
    assert [item.content for item in click.visible] == ["other handled it"]
    assert click.error is None


async def test_exported_bibtex_of_awkward_papers_parses_with_a_real_parser(world: World) -> None:
    """Titles with LaTeX specials and accented and CJK names, from the source through Save to the file."""
    awkward = {
        "Q&A at 50% of the cost: $O(n)$ attention #1": ["José Núñez-García", "王小明", "Zoë O'Brien"],
        "Braces {x}, tilde ~ caret ^ back\\slash and under_score": ["Ana Müller", "佐藤 健"],
    }
    ids = publish(world, *(new_item(title, authors=authors) for title, authors in awkward.items()))
    await world.bot.poller.poll_once()
    post = only(await world.run("paper", {"id": ids[0]}))
    assert "Saved:" in only(await press(world, post, "Save")).content
    assert "Saved:" in only(await world.run("library add", {"paper": ids[1]})).content

    export = only(await world.run("library export"))
    (attachment,) = export.attachments
    parsed = bibtexparser.parse_string(  # type: ignore[attr-defined]  # re-exported without __all__
        world.fake.attachment_data(attachment).decode("utf-8"), append_middleware=[LatexDecodingMiddleware()]
    )
    assert parsed.failed_blocks == []
    by_eprint = {entry.fields_dict["eprint"].value: entry for entry in parsed.entries}
    assert set(by_eprint) == set(ids)
    for paper_id, (title, authors) in zip(ids, awkward.items(), strict=True):
        fields = {name: field.value for name, field in by_eprint[paper_id].fields_dict.items()}
        # pylatexenc decodes \textasciicircum{} to the spacing circumflex U+02C6; LaTeX prints ^.
        assert fields["title"].replace("\u02c6", "^") == title
        assert fields["author"].split(" and ") == authors
        assert fields["archivePrefix"] == "arXiv" and fields["url"] == f"https://arxiv.org/abs/{paper_id}"
    assert len({entry.key for entry in parsed.entries}) == 2


@pytest.mark.parametrize(
    ("reference", "fragment"),
    [("not a paper", "doesn't look like an arXiv id"), ("2603.09999", "isn't in your library")],
)
async def test_removing_a_bad_or_unknown_id_is_explained_privately(world: World, reference: str, fragment: str) -> None:
    answer = only(await world.run("library remove", {"paper": reference}))
    assert answer.ephemeral and fragment in answer.content
