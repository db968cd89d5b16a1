"""Command line: ``python -m bot [run|fetch|search|sync]``.

Exit statuses: 0 success, 1 the work failed (every source failed, the bot crashed), 2 bad configuration
or usage (a readable one-line message, never a traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
from datetime import UTC, datetime
from typing import Any

from bot import __version__
from bot.config import ConfigError, Settings, load_settings
from bot.db import Database, DatabaseError
from bot.errors import UserError
from bot.logs import setup_logging
from bot.models import Paper, Source
from bot.poller import Poller, PollReport, build_http, build_sources
from bot.search import search

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the operator: printed as one line, exit status 2."""


def _date(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-03-04") from None


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 1 <= number <= 1000:
        raise argparse.ArgumentTypeError("must be between 1 and 1000")
    return number


def _upvotes(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="paperbot: research papers in Discord.")
    parser.add_argument("--version", action="version", version=f"paperbot {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="connect to Discord and serve (the default)")
    fetch = commands.add_parser("fetch", help="poll every enabled source once and store the papers")
    fetch.add_argument("--json", action="store_true", help="machine-readable output")
    find = commands.add_parser("search", help="search the local paper database")
    find.add_argument("query", help='words, "phrases", OR, -exclusions (put -- first if the query starts with -)')
    find.add_argument("--sort", choices=["relevance", "newest", "upvotes"], default="relevance")
    find.add_argument("--limit", type=_positive, default=10)
    find.add_argument("--since", type=_date, help="only papers listed on or after this date (YYYY-MM-DD)")
    find.add_argument("--min-upvotes", type=_upvotes)
    find.add_argument("--source", choices=["huggingface", "arxiv"])
    find.add_argument("--json", action="store_true", help="machine-readable output")
    commands.add_parser("sync", help="push the slash-command definitions to Discord now")
    return parser


def paper_json(paper: Paper) -> dict[str, Any]:
    data = paper.model_dump(mode="json")
    data["sources"] = [member.name.lower() for member in Source if member in paper.sources]
    data["summary"] = paper.summary
    data["url"] = paper.canonical_url
    return data


def _table(papers: list[Paper], *, width: int | None = None) -> str:
    width = width or shutil.get_terminal_size((100, 20)).columns
    title_width = max(20, width - 10 - 1 - 7 - 2)
    lines = [f"{'id':<10} {'upvotes':>7}  title"]
    for paper in papers:
        upvotes = "-" if paper.upvotes is None else str(paper.upvotes)
        title = paper.title if len(paper.title) <= title_width else paper.title[: title_width - 1] + "…"
        lines.append(f"{paper.id:<10} {upvotes:>7}  {title}")
    return "\n".join(lines)


def _print_fetch(report: PollReport, as_json: bool) -> None:
    if as_json:
        out = {
            "new": [paper_json(paper) for paper in report.stored.new],
            "updated": [paper_json(paper) for paper in report.stored.updated],
            "unchanged": report.stored.unchanged,
            "sources": [
                {
                    "name": item.name,
                    "status": item.status,
                    "fetched": item.fetched,
                    "skipped": item.skipped,
                    "error": item.error,
                    "next_attempt_at": item.next_attempt_at.isoformat() if item.next_attempt_at else None,
                }
                for item in report.sources
            ],
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return
    changed = report.stored.changed
    if changed:
        print(_table(sorted(changed, key=lambda paper: -(paper.upvotes or 0))))
        print()
    parts = []
    for item in report.sources:
        if item.status == "ok":
            parts.append(f"{item.name}: {item.fetched} papers" + (f", {item.skipped} skipped" if item.skipped else ""))
        elif item.status == "not-modified":
            parts.append(f"{item.name}: unchanged since last poll")
        elif item.status == "waiting":
            parts.append(f"{item.name}: resting after errors until {item.next_attempt_at:%H:%M} UTC")
        else:
            parts.append(f"{item.name}: FAILED ({item.error})")
    stored = report.stored
    print(f"{len(stored.new)} new, {len(stored.updated)} updated, {stored.unchanged} unchanged — " + "; ".join(parts))


async def _fetch(settings: Settings, as_json: bool) -> int:
    db = await Database.open(settings.database_path)
    try:
        async with build_http(settings) as http:
            poller = Poller(db, build_sources(settings, http), interval=settings.poll_interval_seconds)
            report = await poller.poll_once()
    finally:
        await db.close()
    _print_fetch(report, as_json)
    return EXIT_FAILED if report.all_failed else EXIT_OK


async def _search(settings: Settings, args: argparse.Namespace) -> int:
    source = {"huggingface": Source.HF, "arxiv": Source.ARXIV}.get(args.source or "")
    db = await Database.open(settings.database_path)
    try:
        try:
            page = await search(
                db,
                args.query,
                sort=args.sort,
                since=args.since,
                min_upvotes=args.min_upvotes,
                source=source,
                per_page=args.limit,
            )
        except UserError as error:
            raise UsageError(str(error).replace("`", "")) from None
    finally:
        await db.close()
    if args.json:
        print(
            json.dumps(
                {
                    "query": page.query.canonical(),
                    "notes": list(page.notes),
                    "results": [paper_json(paper) for paper in page.papers],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return EXIT_OK
    for note in page.notes:
        print(f"note: {note}", file=sys.stderr)
    if not page.papers:
        print(f"No papers in the local database match {page.query.canonical()!r}. Try `python -m bot fetch` first?")
        return EXIT_OK
    print(_table(page.papers))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "run"
    try:
        settings = load_settings()
        secrets = [settings.discord_token.get_secret_value()] if settings.discord_token else []
        setup_logging(settings.log_level if command in {"run", "sync"} else "WARNING", secrets)
        if command == "fetch":
            return asyncio.run(_fetch(settings, args.json))
        if command == "search":
            return asyncio.run(_search(settings, args))
        if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
            raise ConfigError(
                "DISCORD_TOKEN is not set: copy .env.example to .env and put your bot's token in it "
                "(see docs/discord-setup.md)"
            )
        from bot.app import run_bot, sync_commands

        if command == "sync":
            if not asyncio.run(sync_commands(settings)):
                print("error: syncing slash commands failed; see the log above", file=sys.stderr)
                return EXIT_FAILED
            scope = f"to guild {settings.dev_guild_id}" if settings.dev_guild_id else "globally"
            print(f"slash commands synced {scope}")
            return EXIT_OK
        return run_bot(settings)
    except (ConfigError, DatabaseError, UsageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
