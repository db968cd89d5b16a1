"""Every type-ignore comment names its error code (mypy enforces that) and says why in a comment after it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ["bot", "cogs", "testing", "tests", "bench"]
IGNORE = re.compile(r"#\s*type:\s*ignore(?P<codes>\[[a-z0-9,-]+\])?(?P<rest>.*)$")


def unexplained_ignores(text: str) -> list[int]:
    """Line numbers of ignores without an error code or without a reason comment after them."""
    bad = []
    for number, line in enumerate(text.splitlines(), start=1):
        found = IGNORE.search(line)
        if found is None:
            continue
        reason = found["rest"].strip().removeprefix("#").strip()
        if not found["codes"] or not reason:
            bad.append(number)
    return bad


def test_the_checker_finds_bare_and_unexplained_ignores() -> None:
    marker = "# type" + ": ignore"  # split so this file does not match itself
    text = f"a = 1  {marker}\nb = 2  {marker}[arg-type]\nc = 3  {marker}[arg-type]  # a reason\n"
    assert unexplained_ignores(text) == [1, 2]


def test_every_type_ignore_has_a_code_and_a_reason() -> None:
    files = [ROOT / "dev.py", *(path for folder in CHECKED for path in sorted((ROOT / folder).rglob("*.py")))]
    bad = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in files
        for number in unexplained_ignores(path.read_text(encoding="utf-8"))
    ]
    assert bad == [], "say which error is ignored and why: " + ", ".join(bad)
