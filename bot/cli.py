"""Command line: ``python -m bot [run|fetch|search|related|sync|health|backup]``.

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
from pathlib import Path
from typing import Any

from bot import __version__, health
from bot.backup import BackupError, backup
from bot.config import ConfigError, Settings, load_settings
from bot.db import Database, DatabaseError
from bot.errors import UserError
from bot.logs import setup_logging
from bot.lookup import parse_reference
from bot.models import Paper, Source
from bot.poller import Poller, PollReport, build_http, build_sources
from bot.search import search
from bot.semantic import Semantic
from bot.semantic.progress import ProgressPrinter

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
    find.add_argument("query", nargs="?", help='words, "phrases", OR, -exclusions (e.g. graphs -survey)')
    find.add_argument("--sort", choices=["relevance", "newest", "upvotes"], default="relevance")
    find.add_argument("--limit", type=_positive, default=10)
    find.add_argument("--since", type=_date, help="only papers listed on or after this date (YYYY-MM-DD)")
    find.add_argument("--min-upvotes", type=_upvotes)
    find.add_argument("--source", choices=["huggingface", "arxiv"])
    find.add_argument("--json", action="store_true", help="machine-readable output")
    related = commands.add_parser("related", help="the papers nearest in meaning to one paper in the local database")
    related.add_argument("paper", help="an arXiv id or a link to the paper")
    related.add_argument("--limit", type=_positive, default=5)
    related.add_argument("--json", action="store_true", help="machine-readable output")
    commands.add_parser("sync", help="push the slash-command definitions to Discord now")
    commands.add_parser("health", help="one line: is the running bot healthy? (exit 0 yes, 1 no)")
    copy = commands.add_parser("backup", help="copy the live database safely, even while the bot runs")
    copy.add_argument("path", type=Path, help="the backup file to write (or a folder to write it in)")
    copy.add_argument("--force", action="store_true", help="replace PATH if it exists")
    return parser


def paper_json(paper: Paper) -> dict[str, Any]:
    data = paper.model_dump(mode="json")
    data["sources"] = [str(member.name).lower() for member in Source if member in paper.sources]
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
                    "forced": item.forced,
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
        if item.forced:
            parts[-1] += " (tried now despite resting after earlier errors)"
    stored = report.stored
    print(f"{len(stored.new)} new, {len(stored.updated)} updated, {stored.unchanged} unchanged — " + "; ".join(parts))


async def _fetch(settings: Settings, as_json: bool) -> int:
    db = await Database.open(settings.database_path)
    try:
        async with build_http(settings) as http:
            poller = Poller(db, build_sources(settings, http), interval=settings.poll_interval_seconds)
            report = await poller.poll_once(force=True)  # by hand means now, even during a back-off
        await _embed_all(settings, db)
    finally:
        await db.close()
    _print_fetch(report, as_json)
    return EXIT_FAILED if report.none_read else EXIT_OK


async def _embed_all(settings: Settings, db: Database) -> None:
    """Leave every stored paper searchable by meaning; progress and problems go to stderr (stdout may be JSON)."""
    semantic = Semantic(db, model_dir=settings.semantic_model_dir, enabled=settings.semantic_enabled)
    try:
        if not await semantic.load():
            return  # load() logged why (a warning reaches stderr)
        printer = ProgressPrinter()
        await semantic.embed_pending(progress=printer)
        printer.finish()
    finally:
        semantic.close()


async def _related(settings: Settings, args: argparse.Namespace) -> int:
    try:
        paper_id = parse_reference(args.paper)
    except UserError as error:
        raise UsageError(str(error).replace("`", "")) from None
    db = await Database.open(settings.database_path)
    semantic = Semantic(db, model_dir=settings.semantic_model_dir, enabled=settings.semantic_enabled)
    try:
        if await db.papers.get(paper_id) is None:
            raise UsageError(f"arXiv:{paper_id} is not in the local database; `python -m bot fetch` stores papers")
        if not await semantic.load():
            print(f"error: semantic search off: {semantic.reason}", file=sys.stderr)
            return EXIT_FAILED
        await semantic.embed_pending()  # usually nothing: the bot or fetch embedded them already
        found = await semantic.related_papers(paper_id, args.limit)
    finally:
        semantic.close()
        await db.close()
    if args.json:
        results = [paper_json(paper) | {"similarity": round(score, 4)} for paper, score in found]
        print(json.dumps({"paper": paper_id, "results": results}, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not found:
        print(f"No related papers for arXiv:{paper_id} yet.")
        return EXIT_OK
    print(_table([paper for paper, _ in found]))
    return EXIT_OK


async def _search(settings: Settings, args: argparse.Namespace) -> int:
    source = {"huggingface": Source.HF, "arxiv": Source.ARXIV}.get(args.source or "")
    db = await Database.open(settings.database_path)
    # Questions that no page of papers fully matches are ranked by meaning too; the model is loaded only for
    # those (a keyword search stays instant).
    semantic = Semantic(db, model_dir=settings.semantic_model_dir, enabled=settings.semantic_enabled)
    try:
        try:
            options: dict[str, Any] = {
                "sort": args.sort,
                "since": args.since,
                "min_upvotes": args.min_upvotes,
                "source": source,
                "per_page": args.limit,
            }
            page = await search(db, args.query, **options)
            if page.relaxed and await semantic.load():
                page = await search(db, args.query, **options, semantic=semantic)
        except UserError as error:
            raise UsageError(str(error).replace("`", "")) from None
        archive_empty = not page.papers and await db.papers.count() == 0
    finally:
        semantic.close()
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
        message = f"No papers in the local database match {page.query.canonical()!r}."
        if archive_empty:
            message += " The database is empty: fetch papers first with `python3 dev.py run fetch`."
        print(message)
        return EXIT_OK
    print(_table(page.papers))
    return EXIT_OK


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """argparse, except that ``search -survey`` is a query with an exclusion, not an unknown option."""
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if args.command == "search":
        words = [word for word in extras if word.startswith("-") and not word.startswith("--")]
        if len(words) != len(extras):
            parser.error(f"unrecognized arguments: {' '.join(word for word in extras if word not in words)}")
        args.query = " ".join([*([args.query] if args.query else []), *words])
        if not args.query:
            parser.error("the following arguments are required: query")
    elif extras:
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    command = args.command or "run"
    try:
        settings = load_settings()
        secrets = [settings.discord_token.get_secret_value()] if settings.discord_token else []
        setup_logging(settings.log_level if command in {"run", "sync"} else "WARNING", secrets)
        if command == "fetch":
            return asyncio.run(_fetch(settings, args.json))
        if command == "search":
            return asyncio.run(_search(settings, args))
        if command == "health":
            verdict = health.check(settings.database_path, poll_interval=settings.poll_interval_seconds)
            print(verdict.reason)
            return EXIT_OK if verdict.healthy else EXIT_FAILED
        if command == "backup":
            try:
                written = backup(settings.database_path, args.path, force=args.force)
            except BackupError as error:
                raise UsageError(str(error)) from None
            size = written.stat().st_size / 1_048_576
            print(f"backed up {settings.database_path} to {written} ({size:.1f} MiB)")
            return EXIT_OK
        if command == "related":
            return asyncio.run(_related(settings, args))
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
