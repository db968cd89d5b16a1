"""The soak run's figures as the benchmark suite reports them: metrics, targets and the printed table."""

from __future__ import annotations

from typing import Any

from bench.context import target

RSS_GROWTH_LIMIT_PCT = 10.0


def report(plan_name: str, inputs: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    growth = metrics["rss_growth_pct"]
    targets = [
        target("soak lost deliveries", "0", metrics["lost"], metrics["lost"] == 0),
        target("soak duplicated deliveries", "0", metrics["duplicated"], metrics["duplicated"] == 0),
        target(
            "soak RSS growth",
            f"<= {RSS_GROWTH_LIMIT_PCT:.0f}%",
            growth,
            None if growth is None else growth <= RSS_GROWTH_LIMIT_PCT,
        ),
        target("soak database integrity", "ok", None, metrics["integrity"] == "ok"),
    ]
    faults = ", ".join(f"{kind} {count}" for kind, count in metrics["faults"].items()) or "none"
    table = [
        {"metric": "plan", "value": plan_name},
        {"metric": "polls / papers published / SIGKILL restarts",
         "value": f"{metrics['polls']} / {metrics['papers_published']} / {metrics['restarts']}"},
        {"metric": "faults injected", "value": faults},
        {"metric": "deliveries lost / duplicated", "value": f"{metrics['lost']} / {metrics['duplicated']}"},
        {"metric": "DM matches held by the daily cap (counted, told)", "value": metrics.get("dm_held", 0)},
        {"metric": "open outbox rows after drain", "value": metrics["open_rows_after_drain"]},
        {"metric": "RSS start / end (MiB)", "value": f"{_num(metrics['rss_start_mib'])} / {_num(metrics['rss_end_mib'])}"},  # noqa: E501
        {"metric": "RSS growth (%)", "value": _num(growth)},
        {"metric": "open fds start / end", "value": f"{metrics['fds_start']} / {metrics['fds_end']}"},
        {"metric": "longest event-loop stall (ms)", "value": _num(metrics["max_loop_stall_ms"])},
        {"metric": "slowest command answer (ms)", "value": _num(metrics["slowest_command_ms"])},
        {"metric": "integrity_check", "value": metrics["integrity"]},
        {"metric": "bot exit status after SIGTERM", "value": metrics["exit_code"]},
        {"metric": "wall time (s)", "value": _num(metrics["elapsed_s"])},
    ]  # fmt: skip
    return {"inputs": inputs, "metrics": metrics, "targets": targets, "table": table}


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"
