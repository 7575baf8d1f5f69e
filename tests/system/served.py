"""`gamegate serve` as a real process for the worker tests: started, read, stopped by PID.

Output goes to files (a busy gateway's log lines would fill a pipe nobody reads), and
the start-up line is found in the stdout file. Every process started here is stopped
by its PID when the block ends, SIGKILLed if it does not stop in time.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = [
    "OPERATOR_KEY",
    "STARTUP_TIMEOUT_S",
    "Served",
    "alive",
    "free_port",
    "gamegate_command",
    "gateway_env",
    "samples",
    "serve",
    "wait_until",
]

OPERATOR_KEY = "workers-test-operator-key"
STARTUP_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 20.0
REPO = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(
    r"^gamegate listening on (http://127\.0\.0\.1:(\d+))(?: with (\d+) workers)? "
)
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$")
"""A sample line; label values may hold braces (route patterns do)."""


def alive(pid: int) -> bool:
    """Running: not gone, and not a zombie nobody has reaped yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def gamegate_command() -> list[str]:
    script = Path(sys.executable).with_name("gamegate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gateway"]


def free_port(count: int = 1) -> int:
    """The first of `count` consecutive loopback ports that nothing listens on now."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first: int = probe.getsockname()[1]
        if first + count <= 65_535 and all(_free(first + i) for i in range(1, count)):
            return first
    raise AssertionError("no free run of ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def gateway_env(**settings: str) -> dict[str, str]:
    """This environment without GAMEGATE_* variables, plus the test's operator key and
    `settings` as `GAMEGATE_<KEY>` (nested keys with `__`)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("GAMEGATE_")}
    env["GAMEGATE_OPERATOR_API_KEYS"] = f"{OPERATOR_KEY}:admin"
    env |= {f"GAMEGATE_{key.upper()}": value for key, value in settings.items()}
    return env


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    url: str
    port: int
    startup_line: str
    out: Path
    err: Path

    def client(self) -> httpx.Client:
        """The operator API, one new connection per request (so any worker may answer)."""
        headers = {"Authorization": f"Bearer {OPERATOR_KEY}", "Connection": "close"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10.0)

    def stop(self) -> int:
        """SIGTERM, then the exit code (SIGKILL if it does not stop in time)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT_S)
            raise AssertionError("serve did not stop on SIGTERM") from None


@contextlib.contextmanager
def serve(
    directory: Path,
    arguments: Sequence[str],
    env: Mapping[str, str],
    *,
    command: Sequence[str] | None = None,
) -> Iterator[Served]:
    """`gamegate serve --port 0 --data-dir <directory>/data <arguments>` (or `command`,
    which may be a module of the tests), yielded once its start-up line is out."""
    env = {**env, "PYTHONPATH": str(REPO)}
    directory.mkdir(parents=True, exist_ok=True)
    out, err = directory / "serve.out", directory / "serve.err"
    if command is None:
        command = [*gamegate_command(), "serve", "--port", "0"]
        command += ["--data-dir", str(directory / "data"), *arguments]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            command, cwd=directory, env=dict(env), stdout=stdout, stderr=stderr
        )
    try:
        line = _startup_line(process, out, err)
        listening = _LISTENING.match(line)
        assert listening is not None, line
        yield Served(process, listening[1], int(listening[2]), line, out, err)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT_S)


def startup_line_in(text: str) -> str | None:
    """The start-up line: the first whole line that is not a JSON log line (start-up may
    log, e.g. the catalogue's first index swap, before it announces where it listens)."""
    *lines, _ = text.split("\n")
    return next((line for line in lines if not line.startswith("{")), None)


def _startup_line(process: subprocess.Popen[bytes], out: Path, err: Path) -> str:
    deadline_s = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline_s:
        line = startup_line_in(out.read_text(errors="replace"))
        if line is not None:
            return line
        if process.poll() is not None:
            raise AssertionError(f"serve exited ({process.returncode}): {err.read_text()}")
        time.sleep(0.02)
    raise AssertionError(f"no start-up line within {STARTUP_TIMEOUT_S} s: {err.read_text()}")


def samples(text: str, name: str) -> dict[str, float]:
    """The samples of metric `name` in a Prometheus text page: labels text -> value."""
    found = {}
    for line in text.splitlines():
        sample = _SAMPLE.match(line)
        if sample is not None and sample[1] == name:
            found[sample[2] or ""] = float(sample[3])
    return found


def wait_until(check: Callable[[], object], timeout_s: float, what: str) -> None:
    """Poll `check()` until it is true (connection errors count as not yet)."""
    deadline_s = time.monotonic() + timeout_s
    while time.monotonic() < deadline_s:
        with contextlib.suppress(OSError, httpx.HTTPError):
            if check():
                return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout_s} s: {what}")
