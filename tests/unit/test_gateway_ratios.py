"""The benchmark's shares of bare and its regression guard (`loadtests.gateway_ratios`):
paired by repetition, judged against issue 14's floors, and a fall past the allowed drop
fails the guard while noise within it does not."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from loadtests.gateway_ratios import (
    CHECK_DROP_MAX,
    check_against,
    ratios_by_case,
    ratios_table,
    write_baseline,
)


def _result(mode: str, traffic: str, req_s: float, rep: int = 0, **more: Any) -> dict[str, Any]:
    return {"mode": mode, "traffic": traffic, "req_s": req_s, "rep": rep, "concurrency": 64,
            "variant": "", **more}  # fmt: skip


RUN = [
    _result("bare", "mix", 20_000, rep=0),
    _result("bare", "mix", 25_000, rep=1),
    _result("gateway", "mix", 4_000, rep=0),
    _result("gateway", "mix", 5_000, rep=1),
    _result("gateway", "gamegate", 8_000, rep=0),
    _result("gateway", "healthz", 18_000, rep=0),
    _result("gateway", "mix", 2_000, rep=0, variant="signed"),
    _result("gateway", "mix", 9_000, rep=0, workers=2),  # not a one-worker figure: left out
]


def test_each_case_is_paired_with_bare_of_its_own_repetition() -> None:
    assert ratios_by_case(RUN) == {
        "mix": [0.2, 0.2],
        "gamegate": [0.4],
        "healthz": [0.9],
        "mix+signed": [0.1],
    }


def test_the_table_judges_each_case_by_its_floor() -> None:
    table = ratios_table(RUN)
    assert "| gamegate | 40.0% | 40.0% | ≥ 35% | MET |" in table
    assert "| mix | 20.0%, 20.0% | 20.0% | ≥ 20% | MET |" in table
    assert "| healthz | 90.0% | 90.0% | ≥ 85% | MET |" in table
    assert "| mix+signed | 10.0% | 10.0% |  |  |" in table


@pytest.mark.parametrize(
    ("gamegate_req_s", "fails"),
    [(8_000, False), (8_000 * (1 - CHECK_DROP_MAX) + 10, False), (6_000, True)],
)
def test_the_guard_fails_only_past_the_allowed_drop(
    tmp_path: Path, gamegate_req_s: float, fails: bool
) -> None:
    baseline = tmp_path / "baseline.json"
    write_baseline(RUN, baseline)
    now = [r for r in RUN if r["traffic"] != "gamegate"]
    now.append(_result("gateway", "gamegate", gamegate_req_s, rep=0))
    lines, fallen = check_against(now, baseline)
    assert fallen == (["gamegate"] if fails else [])
    assert any(line.startswith("gamegate:") for line in lines)


def test_a_case_missing_on_either_side_is_named_but_never_fails(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    write_baseline(RUN, baseline)
    lines, fallen = check_against([r for r in RUN if r["traffic"] != "healthz"], baseline)
    assert fallen == []
    assert "healthz: recorded 0.9, measured None (not compared)" in lines


@pytest.mark.parametrize(
    "module", ["bench_gateway", "bench_wallet", "bench_relay", "open_loop", "writer_instructions"]
)
def test_every_benchmark_prints_its_help(module: str, capsys: pytest.CaptureFixture[str]) -> None:
    """argparse formats help strings with `%`: a literal percent sign broke `--help` once."""
    main = importlib.import_module(f"loadtests.{module}").main
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    assert "usage:" in capsys.readouterr().out
