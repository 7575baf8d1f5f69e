"""SIGKILL the wallet under load, again and again: nothing acknowledged is ever lost.

A load process (`crash_load.py`, synchronous=FULL) writes to one wallet file and prints
each transaction it got an answer for. The test kills it at a random moment, checks the
file exactly as the crash left it (opened read-only: WAL recovery happens in memory),
then starts the next run on the same file. Every acknowledged id must be there, no
transaction may be half-applied, and the whole ledger must verify. A final
`gamegate verify --data-dir` run checks the same through the operator's command.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from adapters.stores.sqlite_verify import verify_wallet

KILLS = 24
RUN_S_MIN, RUN_S_MAX = 0.2, 1.0
READY_TIMEOUT_S = 20.0
REPO = Path(__file__).resolve().parents[2]


def _start(db: Path, run: int, out: Path) -> subprocess.Popen[bytes]:
    with out.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.system.crash_load", "--db", str(db), "--run", str(run)],
            cwd=REPO,
            stdout=sink,
            stderr=subprocess.DEVNULL,
        )


def _wait_ready(process: subprocess.Popen[bytes], out: Path) -> None:
    deadline_s = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline_s:
        if out.read_bytes().startswith(b"READY\n"):
            return
        assert process.poll() is None, f"load process exited early ({process.returncode})"
        time.sleep(0.02)
    process.kill()
    raise AssertionError("load process never became ready")


def _acknowledged(out: Path) -> set[tuple[str, str]]:
    """Complete ACK lines only: the kill may cut the last line short."""
    acked = set()
    for line in out.read_text().splitlines(keepends=True):
        if line.startswith("ACK ") and line.endswith("\n"):
            _, provider, tx_id = line.split()
            acked.add((provider, tx_id))
    return acked


def _missing(db: Path, acked: set[tuple[str, str]]) -> set[tuple[str, str]]:
    uri = f"file:{urllib.parse.quote(str(db))}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        stored = set(
            conn.execute("SELECT provider, tx_id FROM txs WHERE status != 'refused'").fetchall()
        )
    return acked - stored


def _gamegate() -> list[str]:
    script = Path(sys.executable).with_name("gamegate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gateway"]


@pytest.mark.slow
def test_acknowledged_transactions_survive_repeated_sigkill_and_the_ledger_verifies(
    tmp_path: Path,
) -> None:
    rng = random.Random(os.environ.get("CRASH_SEED") or None)
    db = tmp_path / "wallet.db"
    acked_total: set[tuple[str, str]] = set()
    for run in range(KILLS):
        out = tmp_path / f"run-{run}.out"
        process = _start(db, run, out)
        try:
            _wait_ready(process, out)
            time.sleep(rng.uniform(RUN_S_MIN, RUN_S_MAX))
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        assert process.returncode == -signal.SIGKILL, "the load must die by the kill"
        acked = _acknowledged(out)
        acked_total |= acked
        assert acked, f"run {run} acknowledged nothing before the kill"
        assert not _missing(db, acked_total), f"run {run}: acknowledged but lost"
        report = verify_wallet(db)
        assert report.ok, "\n".join(report.lines())
    assert len(acked_total) > KILLS * 100
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAMEGATE_")}
    verified = subprocess.run(
        [*_gamegate(), "verify", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "PASS hash chain" in verified.stdout
