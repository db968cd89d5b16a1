"""The readable table printed after a run (the JSON file holds everything; this is the summary)."""

from __future__ import annotations

from typing import Any

_HEADERS = ("benchmark", "metric", "value", "baseline", "ratio")


def _met(flag: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "n/a at this scale"}[flag]


def render(results: dict[str, Any]) -> str:
    machine = results["machine"]
    rows: list[tuple[str, ...]] = []
    for name, result in results["benchmarks"].items():
        status = result.get("status")
        if status != "ok":
            detail = result.get("error", "") if status == "error" else "added by the delivery work"
            rows.append((name, status or "?", detail, "", ""))
            continue
        for index, row in enumerate(result.get("table", [])):
            rows.append(
                (
                    name if index == 0 else "",
                    str(row.get("metric", "")),
                    str(row.get("value", "")),
                    str(row.get("baseline", "")),
                    str(row.get("ratio", "")),
                )
            )
    widths = [
        max(len(header), *(len(row[i]) for row in rows)) if rows else len(header) for i, header in enumerate(_HEADERS)
    ]
    lines = [
        f"paperbot benchmarks — scale {results['scale']}, seed {results['seed']}, {results['seconds']:.0f}s",
        f"machine: {machine.get('cpu_count')} CPUs ({machine.get('cpu_model') or 'unknown CPU'}), "
        f"{machine.get('memory_gib')} GiB, Python {machine.get('python')}, SQLite {machine.get('sqlite')}, "
        f"{machine.get('platform')}; load {machine.get('loadavg_at_start')} -> {machine.get('loadavg_at_end')}",
        "",
        "  ".join(header.ljust(width) for header, width in zip(_HEADERS, widths, strict=True)),
        "  ".join("-" * width for width in widths),
    ]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    if results.get("targets"):
        lines += ["", "targets:"]
        for item in results["targets"]:
            value = item["value"]
            shown = f"{value:,.2f}" if isinstance(value, int | float) else str(value)
            lines.append(
                f"  [{_met(item['met'])}] {item['benchmark']}: {item['name']} {item['goal']} (measured {shown})"
            )
    seconds = ", ".join(f"{name} {result.get('seconds', 0):.0f}s" for name, result in results["benchmarks"].items())
    lines += ["", f"time per benchmark: {seconds}", f"results: {results.get('out', '(not written)')}"]
    return "\n".join(lines)
