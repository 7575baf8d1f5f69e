"""`gamegate serve` and `gamegate verify` as real processes, the way `make run` uses them."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.demo import DEMO_OPERATOR_KEY

REPO = Path(__file__).parents[2]
STARTUP_TIMEOUT_S = 8.0
_LISTENING = re.compile(
    r"^gamegate listening on (?P<url>http://127\.0\.0\.1:\d+) "
    r"\(wallet: sqlite (?P<path>/\S+/wallet\.db), synchronous=FULL\)$"
)


def _gamegate() -> list[str]:
    """The installed console script, as `make run` calls it."""
    script = Path(sys.executable).with_name("gamegate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gateway"]


def _first_line(process: subprocess.Popen[str], timeout_s: float) -> str:
    """The start-up line: the first line that is not a JSON log line."""
    assert process.stdout is not None
    deadline_s = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while selector.select(max(deadline_s - time.monotonic(), 0)):
            line = process.stdout.readline().rstrip("\n")
            if not line.startswith("{"):
                return line
    raise AssertionError(f"no start-up line within {timeout_s} s")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], re.Match[str]]]:
    command = [*_gamegate(), "serve", "--config", str(REPO / "config" / "gamegate.toml")]
    command += ["--demo", "--port", "0", "--data-dir", str(tmp_path / "data")]
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ),
    )  # fmt: skip
    try:
        line = _first_line(process, STARTUP_TIMEOUT_S)
        match = _LISTENING.match(line)
        assert match is not None, f"unexpected start-up line {line!r}"
        yield process, match
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=STARTUP_TIMEOUT_S)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.timeout(20)
def test_serve_demo_says_where_it_listens_and_serves_the_demo_data(
    served: tuple[subprocess.Popen[str], re.Match[str]], tmp_path: Path
) -> None:
    process, match = served
    assert match["path"] == str(tmp_path / "data" / "wallet.db")
    url = match["url"]
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    headers = {"Authorization": f"Bearer {DEMO_OPERATOR_KEY}"}
    balance = httpx.get(f"{url}/v1/players/demo-kwd/balance", headers=headers).json()
    assert balance["real"] == "25.125"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=STARTUP_TIMEOUT_S) == 0


@pytest.mark.timeout(20)
def test_verify_checks_the_wallet_the_server_wrote(
    served: tuple[subprocess.Popen[str], re.Match[str]], tmp_path: Path
) -> None:
    process, _ = served
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=STARTUP_TIMEOUT_S) == 0
    result = subprocess.run(
        [*_gamegate(), "verify", "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=STARTUP_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip()


def test_verify_without_a_wallet_fails(tmp_path: Path) -> None:
    result = subprocess.run(
        [*_gamegate(), "verify", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=STARTUP_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "no wallet database at" in result.stderr


def test_serve_refuses_a_port_that_is_taken(
    served: tuple[subprocess.Popen[str], re.Match[str]], tmp_path: Path
) -> None:
    _, match = served
    port = match["url"].rsplit(":", 1)[1]
    started_s = time.monotonic()
    result = subprocess.run(
        [*_gamegate(), "serve", "--port", port, "--data-dir", str(tmp_path / "other")],
        capture_output=True, text=True, timeout=STARTUP_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert time.monotonic() - started_s < STARTUP_TIMEOUT_S
