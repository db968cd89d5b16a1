"""The files a self-hoster uses: Dockerfile, .dockerignore, compose.yaml and the systemd unit.

Docker is not available where the tests run, so the Dockerfile is checked for what matters (non-root user,
volume, stop signal, a real health check, files it copies exist); the unit is checked by
``systemd-analyze verify`` when the machine has it.
"""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testing.paths import ROOT


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        current += " " + line.removesuffix("\\").strip() if current else line.removesuffix("\\").strip()
        if not line.endswith("\\"):
            instruction, _, arguments = current.partition(" ")
            lines.append((instruction.upper(), arguments.strip()))
            current = ""
    return lines


def test_dockerfile_has_what_a_service_needs() -> None:
    instructions = dockerfile()
    values = {name: [args for kind, args in instructions if kind == name] for name, _ in instructions}
    assert values["FROM"] == ["python:3.11-slim"]
    assert values["USER"] and values["USER"][-1] not in {"root", "0"}
    assert values["VOLUME"] == ['["/data"]']
    assert values["STOPSIGNAL"] == ["SIGTERM"]
    assert "DATABASE_PATH=/data/paperbot.db" in " ".join(values["ENV"])
    (health,) = values["HEALTHCHECK"]
    assert health.endswith('CMD ["python", "-m", "bot", "health"]')
    assert values["CMD"] == ['["python", "-m", "bot", "run"]']
    # USER comes before the command runs, after the install (which needs root).
    kinds = [kind for kind, _ in instructions]
    assert kinds.index("USER") > kinds.index("RUN")


def test_dockerfile_copies_only_files_that_exist() -> None:
    for kind, arguments in dockerfile():
        if kind != "COPY":
            continue
        *sources, _destination = shlex.split(arguments)
        for source in sources:
            if source.endswith("*"):
                continue  # optional (requirements.lock* when the project has a lock file)
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the project"


def test_dockerignore_keeps_secrets_and_the_database_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    for pattern in (".env", "data/", ".venv/", ".git/", "*.db"):
        assert pattern in ignored


def test_compose_file_uses_the_env_file_a_volume_and_restarts() -> None:
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    for fragment in ("env_file: .env", "paperbot-data:/data", "restart: unless-stopped", "DATABASE_PATH: /data/"):
        assert fragment in text


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep the unit file keys case-sensitive
    parser.read(ROOT / "deploy" / "paperbot.service", encoding="utf-8")
    return parser


def test_systemd_unit_restarts_on_failure_from_the_working_directory() -> None:
    service = unit()["Service"]
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"  # a bad setting is not fixed by restarting
    assert service["WorkingDirectory"] == "/opt/paperbot"
    assert service["EnvironmentFile"] == "/opt/paperbot/.env"
    assert service["ExecStart"].endswith("python -m bot run")
    assert service["User"] != "root"
    assert "network-online.target" in unit()["Unit"]["After"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # The unit names /opt/paperbot; verify checks that ExecStart exists, so point it at a stand-in folder.
    app = tmp_path / "app"
    (app / ".venv" / "bin").mkdir(parents=True)
    (app / "data").mkdir()
    (app / ".env").write_text("DISCORD_TOKEN=x\n", encoding="utf-8")
    (app / ".venv" / "bin" / "python").symlink_to(sys.executable)
    text = (ROOT / "deploy" / "paperbot.service").read_text(encoding="utf-8").replace("/opt/paperbot", str(app))
    copy = tmp_path / "paperbot.service"
    copy.write_text(text, encoding="utf-8")
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None
    result = subprocess.run(  # noqa: S603 - a fixed tool on a file this test wrote
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Unknown key" not in output and "Failed to parse" not in output, output
