"""`gamegate conformance` as a real process against a real `gamegate serve --demo`.

The server runs in a temp directory on a free port with the demo config; the kit reads
the provider-side demo secrets from the same data directory, as an operator would.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.conformance.scripts import SCRIPTS
from tests.system.served import startup_line_in

REPO = Path(__file__).parents[2]
CONFIG = REPO / "config" / "gamegate.toml"
STARTUP_TIMEOUT_S = 10.0
RUN_TIMEOUT_S = 20.0
_LISTENING = re.compile(r"^gamegate listening on (?P<url>http://127\.0\.0\.1:\d+) ")


@dataclass(frozen=True, slots=True)
class Served:
    url: str
    data_dir: Path


def _gamegate() -> list[str]:
    script = Path(sys.executable).with_name("gamegate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gateway"]


def _environment() -> dict[str, str]:
    """The test's environment without GAMEGATE_* settings from the outer shell."""
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("GAMEGATE_")}


def _startup_url(process: subprocess.Popen[bytes], log: Path) -> str:
    """The URL of the start-up line in `log` (`startup_line_in`)."""
    deadline_s = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline_s and process.poll() is None:
        first = startup_line_in(log.read_text())
        if first is not None:
            match = _LISTENING.match(first)
            assert match is not None, f"unexpected start-up line {first!r}"
            return match["url"]
        time.sleep(0.05)
    raise AssertionError(f"no start-up line within {STARTUP_TIMEOUT_S} s: {log.read_text()!r}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The server's output goes to a file: a pipe nobody reads fills up with the
    per-request log lines and blocks the server."""
    root = tmp_path_factory.mktemp("conformance")
    data_dir = root / "data"
    command = [*_gamegate(), "serve", "--config", str(CONFIG), "--demo", "--port", "0"]
    command += ["--data-dir", str(data_dir)]
    log = root / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=root, stdout=output, stderr=subprocess.STDOUT, env=_environment()
        )
    try:
        yield Served(_startup_url(process, log), data_dir)
    finally:
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=STARTUP_TIMEOUT_S) == 0


def _conformance(served: Served, instance: str, *flags: str) -> subprocess.CompletedProcess[str]:
    command = [*_gamegate(), "conformance", instance, "--url", served.url]
    command += ["--data-dir", str(served.data_dir), "--config", str(CONFIG), *flags]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
        env=_environment(),
    )  # fmt: skip


@pytest.mark.timeout(30)
@pytest.mark.parametrize("instance", ["gamegate", "softswiss"])
def test_the_demo_instance_passes_its_whole_script(served: Served, instance: str) -> None:
    result = _conformance(served, instance)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"\n{len(SCRIPTS[instance])} passed, 0 failed\n" in result.stdout, result.stdout
    assert "\nFAIL " not in result.stdout


@pytest.mark.timeout(30)
def test_a_wallet_that_speaks_another_protocol_fails_with_the_exchanges(served: Served) -> None:
    softswiss = f"{served.url}/providers/softswiss"

    result = _conformance(served, "gamegate", "--callback-url", softswiss, "--case", "bet")

    assert result.returncode == 1, result.stdout + result.stderr
    summary = re.search(r"^0 passed, (\d+) failed$", result.stdout, re.MULTILINE)
    assert summary is not None, result.stdout
    assert int(summary[1]) > 0
    assert f"against {softswiss}" in result.stdout
    assert "\nFAIL a bet, its win and close-round settle the round: unsigned probe" in result.stdout
    assert "  > POST balance\n  > {}\n  < 403 " in result.stdout  # the request and the answer


def test_an_unknown_instance_is_a_settings_error(served: Served) -> None:
    result = _conformance(served, "nobody")

    assert result.returncode == 2
    assert "invalid setting providers.nobody: no such provider instance" in result.stderr
