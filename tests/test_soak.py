"""The soak run at CI size: the real bot process through faults and a SIGKILL loses and duplicates nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak.model import PLANS
from bench.soak.run import Soak

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def test_ci_soak_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    plan = PLANS["ci"]
    results = await Soak(plan, tmp_path / "soak", lambda _: None).run()
    assert results["restarts"] == len(plan.kills)
    assert sum(results["faults"].values()) > 0
    assert results["polls"] >= plan.polls
    assert results["lost"] == 0, results
    assert results["duplicated"] == 0, results
    assert results["open_rows_after_drain"] == 0, results
    assert results["integrity"] == "ok"
    assert results["exit_code"] == 0
    assert results["stand_in_internal_errors"] == 0
    assert results["max_loop_stall_ms"] > 0  # the bot's loop monitor reported
    assert results["slowest_command_ms"] is not None
