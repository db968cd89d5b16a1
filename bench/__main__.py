"""``python -m bench``: run the benchmarks, write the JSON results, print the table."""

from __future__ import annotations

import argparse
import sys

from bench import REGISTRY, run
from bench.context import DEFAULT_SEED, SCALES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=list(SCALES), default="small", help="corpus size: 10k, 100k or 1M papers")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only these (repeatable or comma separated): {', '.join(REGISTRY)}",
    )
    parser.add_argument("--out", help="results JSON path (default bench-results/<timestamp>-<scale>.json)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="corpus seed (part of the cache key)")
    parser.add_argument("--cache-dir", help="where generated corpora are cached (default bench-results/cache)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument(
        "--what-if", action="store_true", help="also measure candidate fixes (bench/whatif.py), patched in per pass"
    )
    parser.add_argument("--strict", action="store_true", help="exit 2 when a target for this scale is missed")
    args = parser.parse_args(argv)
    try:
        results = run(
            args.scale,
            args.only,
            args.out,
            seed=args.seed,
            cache_dir=args.cache_dir,
            log=not args.quiet,
            what_if=args.what_if,
        )
    except ValueError as error:
        parser.error(str(error))
    if any(result.get("status") == "error" for result in results["benchmarks"].values()):
        return 1
    if args.strict and any(item["met"] is False for item in results["targets"]):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
