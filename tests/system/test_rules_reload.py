"""SIGHUP reloads the jurisdiction rules in a running gateway, as one process and through
the supervisor of `--workers` (which forwards it to its workers and keeps running)."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.system.served import OPERATOR_KEY, Served, alive, gateway_env, serve, wait_until

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]
RELOAD_TIMEOUT_S = 10.0


def _rules_dir(tmp_path: Path) -> Path:
    copied = tmp_path / "rules"
    shutil.copytree(REPO / "config" / "jurisdictions", copied)
    return copied


def _gb_cap(served: Served) -> str:
    answer = httpx.get(
        f"{served.url}/v1/jurisdictions/GB",
        headers={"Authorization": f"Bearer {OPERATOR_KEY}", "Connection": "close"},
    )
    assert answer.status_code == 200, answer.text
    caps = {
        r["id"]: r["params"]["amount"] for r in answer.json()["rules"] if r["kind"] == "max_stake"
    }
    return str(caps["gb.slots.stake_max.all"])


def _tighten_and_hang_up(served: Served, rules: Path, pid: int) -> None:
    assert _gb_cap(served) == "5.00"
    gb = rules / "GB.toml"
    gb.write_text(gb.read_text().replace('amount = "5.00"', 'amount = "4.50"'))
    os.kill(pid, signal.SIGHUP)
    wait_until(lambda: _gb_cap(served) == "4.50", RELOAD_TIMEOUT_S, "the new rules serve")
    gb.write_text(gb.read_text().replace('amount = "4.50"', 'amount = "4.501"'))
    os.kill(pid, signal.SIGHUP)
    wait_until(lambda: "rules_reload_failed" in served.out.read_text(), RELOAD_TIMEOUT_S, "logged")
    assert _gb_cap(served) == "4.50"


def test_sighup_reloads_a_single_gateway(tmp_path: Path) -> None:
    rules = _rules_dir(tmp_path)
    with serve(tmp_path, [], gateway_env(jurisdictions__dir=str(rules))) as served:
        _tighten_and_hang_up(served, rules, served.process.pid)
        assert served.process.poll() is None


def test_the_supervisor_forwards_sighup_to_its_workers(tmp_path: Path) -> None:
    rules = _rules_dir(tmp_path)
    module = [sys.executable, "-m", "tests.system.supervised_sqlite"]
    command = [*module, "--data-dir", str(tmp_path / "data")]
    env = gateway_env(jurisdictions__dir=str(rules))
    with serve(tmp_path, [], env, command=command) as served:
        worker = httpx.get(f"{served.url}/healthz", headers={"Connection": "close"}).json()["pid"]
        _tighten_and_hang_up(served, rules, served.process.pid)
        assert served.process.poll() is None
        assert alive(worker)
