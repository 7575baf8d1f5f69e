"""Each gateway case's throughput as a share of bare aiohttp's, its target, and the guard.

Why ratios: the machine is shared and drifts between runs (`perf-baseline.md`), so a
case is judged by its requests per second over bare aiohttp's in the same repetition,
never by an absolute figure. Issue 14 sets a floor per case (`TARGETS`); the regression
guard (`bench_gateway --check`) compares each ratio with the one recorded in
`BASELINE_PATH` (`--record-baseline` writes it) and fails when one has fallen by more
than `CHECK_DROP_MAX` of itself.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "BASELINE_PATH",
    "CHECK_DROP_MAX",
    "TARGETS",
    "check_against",
    "ratios_by_case",
    "ratios_table",
    "write_baseline",
]

BASELINE_PATH = Path(__file__).parent / "bench_gateway_baseline.json"
CHECK_DROP_MAX = 0.15
"""A ratio more than this far below its recorded value (relative) fails the guard."""
TARGETS: Mapping[str, float] = {
    "healthz": 0.85,
    "gamegate": 0.35,
    "softswiss": 0.30,
    "pragmatic": 0.30,
    "evolution": 0.30,
    "mix": 0.20,
}
"""Issue 14's floors, by traffic (the HTTP edge, one protocol alone, the five-protocol mix)."""

Result = Mapping[str, Any]


def _case_name(result: Result) -> str:
    name = str(result["traffic"])
    return f"{name}+{result['variant']}" if result.get("variant") else name


def ratios_by_case(results: Sequence[Result]) -> dict[str, list[float]]:
    """Gateway req/s over bare's of the same repetition (one worker, any concurrency
    with a bare case), per case name (`mix`, `gamegate`, `mix+quiet`, ...)."""
    bare = {
        (r["rep"], r["concurrency"]): float(r["req_s"])
        for r in results
        if r["mode"] == "bare" and r.get("workers", 1) == 1
    }
    ratios: dict[str, list[float]] = {}
    for result in results:
        key = (result["rep"], result["concurrency"])
        if result["mode"] != "gateway" or result.get("workers", 1) != 1 or key not in bare:
            continue
        ratios.setdefault(_case_name(result), []).append(float(result["req_s"]) / bare[key])
    return ratios


def ratios_table(results: Sequence[Result]) -> str:
    """One row per gateway case: its ratio per repetition, the median, the floor."""
    lines = [
        "| case | share of bare, per rep | median | floor (issue 14) | verdict |",
        "|---|---|---|---|---|",
    ]
    for name, ratios in sorted(ratios_by_case(results).items()):
        median = statistics.median(ratios)
        floor = TARGETS.get(name)
        verdict = "" if floor is None else ("MET" if median >= floor else "MISSED")
        shown_floor = "" if floor is None else f"≥ {floor:.0%}"
        per_rep = ", ".join(f"{ratio:.1%}" for ratio in ratios)
        lines.append(f"| {name} | {per_rep} | {median:.1%} | {shown_floor} | {verdict} |")
    return "\n".join(lines)


def write_baseline(results: Sequence[Result], path: Path = BASELINE_PATH) -> dict[str, float]:
    """Record this run's median ratio per case as the figures the guard holds to."""
    recorded = {name: round(statistics.median(r), 4) for name, r in ratios_by_case(results).items()}
    path.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
    return recorded


def check_against(
    results: Sequence[Result], path: Path = BASELINE_PATH
) -> tuple[list[str], list[str]]:
    """(lines to print, the cases that fell more than `CHECK_DROP_MAX` below the record).
    A case without a record, or missing from the run, is named but never fails."""
    recorded: dict[str, float] = json.loads(path.read_text())
    measured = {name: statistics.median(r) for name, r in ratios_by_case(results).items()}
    lines, fallen = [], []
    for name in sorted(recorded.keys() | measured.keys()):
        before, now = recorded.get(name), measured.get(name)
        if before is None or now is None:
            lines.append(f"{name}: recorded {before}, measured {now} (not compared)")
            continue
        change = now / before - 1
        bad = change < -CHECK_DROP_MAX
        if bad:
            fallen.append(name)
        verdict = "FELL" if bad else "ok"
        lines.append(f"{name}: {now:.1%} of bare, recorded {before:.1%} ({change:+.0%}) {verdict}")
    return lines, fallen
