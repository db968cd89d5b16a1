"""dev.py, the one entry point: what it refuses before building anything."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from testing.paths import ROOT


def test_unknown_command_is_refused_before_any_environment_is_built(tmp_path: Path) -> None:
    shutil.copy(ROOT / "dev.py", tmp_path / "dev.py")  # its own folder is the project root it builds .venv in
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(tmp_path / "dev.py"), "tset"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "unknown command 'tset'" in done.stderr
    assert not (tmp_path / ".venv").exists()
