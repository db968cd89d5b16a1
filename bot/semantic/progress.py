"""Progress of a long embedding run on the command line: a bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR = 30
PLAIN_EVERY_SECONDS = 5.0


class ProgressPrinter:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        total = max(total, done, 1)
        if self.tty:
            filled = BAR * done // total
            bar = "#" * filled + "." * (BAR - filled)
            self.stream.write(f"\rembedding [{bar}] {done:,} / {total:,} papers")
            self.stream.flush()
            return
        now = time.monotonic()
        if now - self._last >= PLAIN_EVERY_SECONDS or done >= total:
            self._last = now
            self.stream.write(f"embedding: {done:,} / {total:,} papers\n")
            self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
