"""SIGKILL the relay again and again while the wallet is written: the reporting store
ends equal to the ledger, nothing twice, nothing missing.

A load process (`crash_load.py`) writes bets, wins and rollbacks to a wallet file.
`gamegate relay` runs against it as a process of its own, in small batches, and is
killed at a random moment, several times; between kills the test checks that the
reporting cursor never goes back. Then the load is killed too, `gamegate relay --once`
drains what is left, and the reporting file must hold every wallet seq exactly once,
balances equal to the ledger's, and rollups that counted each bet once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.relay.ledger import assert_matches_ledger

KILLS = 6
RUN_S_MIN, RUN_S_MAX = 0.05, 1.0
"""How long a relay runs after it said it started (its imports take a second or so)."""
READY_TIMEOUT_S = 20.0
REPO = Path(__file__).resolve().parents[2]


def _gamegate() -> list[str]:
    script = Path(sys.executable).with_name("gamegate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gateway"]


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAMEGATE_")}
    return {**env, **values}


def _start_load(db: Path, out: Path) -> subprocess.Popen[bytes]:
    with out.open("wb") as sink:
        load = subprocess.Popen(
            [sys.executable, "-m", "tests.system.crash_load", "--db", str(db), "--run", "0",
             "--workers", "4", "--duration-s", "60"],
            cwd=REPO, stdout=sink, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    deadline_s = time.monotonic() + READY_TIMEOUT_S
    while not out.read_bytes().startswith(b"READY\n"):
        assert load.poll() is None, f"load process exited early ({load.returncode})"
        assert time.monotonic() < deadline_s, "load process never became ready"
        time.sleep(0.02)
    return load


def _wait_started(relay: subprocess.Popen[bytes], log: Path) -> None:
    deadline_s = time.monotonic() + READY_TIMEOUT_S
    while b'"relay_started"' not in log.read_bytes():
        assert relay.poll() is None, f"the relay exited ({relay.returncode}): {log.read_text()}"
        assert time.monotonic() < deadline_s, "the relay never started"
        time.sleep(0.01)


def _cursor(reporting: Path) -> int:
    if not reporting.exists():
        return 0
    con = duckdb.connect(str(reporting), read_only=True)
    try:
        ((seq,),) = con.execute("SELECT seq FROM cursor").fetchall()
        return int(seq)
    finally:
        con.close()


@pytest.mark.slow
def test_the_relay_killed_at_random_points_ends_equal_to_the_ledger(tmp_path: Path) -> None:
    rng = random.Random(os.environ.get("CRASH_SEED") or None)
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    wallet, reporting = data / "wallet.db", data / "reporting.duckdb"
    load = _start_load(wallet, tmp_path / "load.out")
    cursors = [0]
    try:
        env = _env(GAMEGATE_REPORTING__RELAY_BATCH_SEQS_MAX="300",
                   GAMEGATE_REPORTING__RELAY_POLL_INTERVAL_S="0.01")  # fmt: skip
        for run in range(KILLS):
            log = tmp_path / f"relay-{run}.log"
            with log.open("wb") as sink:
                relay = subprocess.Popen(
                    [*_gamegate(), "relay", "--data-dir", str(data)],
                    cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=sink,
                )  # fmt: skip
            try:
                _wait_started(relay, log)
                time.sleep(rng.uniform(RUN_S_MIN, RUN_S_MAX))
            finally:
                relay.send_signal(signal.SIGKILL)
                relay.wait()
            assert relay.returncode == -signal.SIGKILL, "the relay must die by the kill"
            cursors.append(_cursor(reporting))
            assert cursors[-1] >= cursors[-2], "the reporting cursor went back"
    finally:
        load.send_signal(signal.SIGKILL)
        load.wait()
    assert cursors[-1] > 0, f"the relay never got anywhere before the kills: {cursors}"
    drained = subprocess.run(
        [*_gamegate(), "relay", "--once", "--data-dir", str(data)],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert drained.returncode == 0, drained.stdout + drained.stderr
    assert drained.stdout.startswith("relayed through seq ")
    assert assert_matches_ledger(wallet, reporting) > cursors[-1]
