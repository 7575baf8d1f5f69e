"""The instruction-count harness (`loadtests/writer_instructions.py`) drives the real
writer's work to the end: its figures in RESULTS.md stay reproducible as the ledger
changes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from adapters.stores.sqlite_verify import verify_wallet
from loadtests.writer_instructions import drive, main


def test_the_driver_runs_the_bench_workload_through_the_ledger(tmp_path: Path) -> None:
    template = tmp_path / "template.db"
    assert main(["--drive", "--template", str(template), "--players", "40",
                 "--measured-batches", "1"]) == 0  # fmt: skip
    assert verify_wallet(template).ok  # the seeded template the runs copy
    with sqlite3.connect(template) as conn:
        (seeded,) = conn.execute("SELECT COUNT(*) FROM txs").fetchone()
    assert seeded == 40  # one deposit per player
    assert drive(template, warm_batches=1, measured_batches=2, players=40) > 0  # ran through
