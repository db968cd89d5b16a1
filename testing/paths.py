"""Where the fixture data is: the project's own (``tests/data``) and the shared real-format set (``../shared``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The project's small recorded fixtures stay beside the tests that were written against them.
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared"
SHARED_FIXTURES = SHARED / "fixtures"


def data_json(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))
