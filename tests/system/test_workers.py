"""`gamegate serve --workers N` as real processes: the refusal on SQLite, the metrics
port, and the supervisor's restart and stop.

The supervisor tests run `gateway.workers.Supervisor` over one real worker on a SQLite
wallet (`tests/system/supervised_sqlite.py`): `gamegate serve` supervises two or more
workers only, and those need a shared wallet (`test_workers_redis.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import httpx
import pytest

from gateway.worker import WORKER_HEADER
from tests.system.served import (
    STARTUP_TIMEOUT_S,
    alive,
    free_port,
    gamegate_command,
    gateway_env,
    samples,
    serve,
    wait_until,
)

pytestmark = pytest.mark.timeout(90)

REQUESTS = 40
LOG_BURST_REQUESTS = 3_000
"""About 750 KB of request log lines, most of them still buffered when SIGTERM comes."""


def test_more_than_one_worker_on_the_sqlite_wallet_is_refused_at_start_up(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    command = [*gamegate_command(), "serve", "--workers", "2", "--port", "0"]
    result = subprocess.run(
        [*command, "--data-dir", str(data)],
        env=gateway_env(), capture_output=True, text=True, timeout=STARTUP_TIMEOUT_S,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip()
    assert message.startswith("gamegate: invalid setting server.workers: 2 workers"), message
    assert "one writer owns the SQLite wallet file" in message
    assert "a second process would be a second writer" in message
    assert "redis://" in message
    assert result.stdout == ""
    assert not (data / "wallet.db").exists(), "nothing may start before the refusal"


def test_one_process_serves_its_own_registry_alone_on_the_metrics_port(tmp_path: Path) -> None:
    metrics_port = free_port()
    env = gateway_env(server__metrics_port=str(metrics_port))
    with serve(tmp_path, [], env) as served:
        with served.client() as api:
            for index in range(REQUESTS):
                answer = api.get(f"/v1/players/nobody-{index}/balance")
                assert answer.status_code == 404
                assert WORKER_HEADER not in answer.headers, "one process is no worker"
        metrics_url = f"http://127.0.0.1:{metrics_port}"
        page = httpx.get(f"{metrics_url}/metrics").text
        counted = samples(page, "gamegate_operator_requests_total")
        assert sum(counted.values()) == REQUESTS, counted
        assert httpx.get(f"{metrics_url}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{metrics_url}/v1/players/nobody-0/balance").status_code == 404
        assert samples(page, "gamegate_operator_requests_total") == counted, "not counted"
        assert served.stop() == 0


def test_a_metrics_port_that_is_taken_stops_start_up(tmp_path: Path) -> None:
    with _port_taken() as taken:
        env = gateway_env(server__metrics_port=str(taken))
        result = subprocess.run(
            [*gamegate_command(), "serve", "--port", "0", "--data-dir", str(tmp_path)],
            env=env, capture_output=True, text=True, timeout=STARTUP_TIMEOUT_S, check=False,
        )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert f"cannot listen on 127.0.0.1:{taken}" in result.stderr


def test_the_supervisor_restarts_a_killed_worker_and_stops_them_on_sigterm(
    tmp_path: Path,
) -> None:
    with serve(tmp_path, [], gateway_env(), command=_supervised(tmp_path)) as served:
        first = _worker_pid(served.url)
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: _worker_pid(served.url) != first, 20, "a new worker answers")
        second = _worker_pid(served.url)
        assert not alive(first)
        with served.client() as api:
            assert api.get("/v1/players/nobody/balance").headers[WORKER_HEADER] == "0"
        assert served.stop() == 0
        assert not alive(second), "the supervisor exits after its workers"
    log = served.out.read_text()
    assert '"event":"worker_exited_unexpectedly"' in log
    assert '"event":"worker_restarting"' in log


def test_the_supervisor_relays_every_log_line_whole_up_to_the_last(tmp_path: Path) -> None:
    """A burst of requests, then SIGTERM at once: the worker's last, large write of log
    lines must come through whole while it exits (it once was cut, the supervisor
    waiting for the exit instead of reading)."""
    with serve(tmp_path, [], gateway_env(), command=_supervised(tmp_path)) as served:
        sent = asyncio.run(_burst(served.url, LOG_BURST_REQUESTS))
        assert served.stop() == 0
    lines = served.out.read_bytes().splitlines()
    assert lines[0].startswith(b"gamegate listening on ")
    events = [json.loads(line)["event"] for line in lines[1:]]  # every line whole JSON
    assert events.count("request") == sent


async def _burst(url: str, requests: int) -> int:
    async with aiohttp.ClientSession() as session:

        async def get(_: int) -> None:
            async with session.get(f"{url}/healthz") as answer:
                assert answer.status == 200

        await asyncio.gather(*(get(n) for n in range(requests)))
    return requests


def test_a_worker_that_keeps_dying_stops_the_supervisor(tmp_path: Path) -> None:
    command = _supervised(tmp_path, "--fail-restarts", "--restarts-per-minute-max", "2")
    with serve(tmp_path, [], gateway_env(), command=command) as served:
        os.kill(_worker_pid(served.url), signal.SIGKILL)
        assert served.process.wait(STARTUP_TIMEOUT_S) == 1
    errors = served.err.read_text()
    assert "worker 0 exited with code 1: 2 restarts in the last minute already" in errors


def test_a_worker_stops_by_itself_when_its_supervisor_is_killed(tmp_path: Path) -> None:
    with serve(tmp_path, [], gateway_env(), command=_supervised(tmp_path)) as served:
        worker = _worker_pid(served.url)
        served.process.kill()
        served.process.wait()
        wait_until(lambda: not alive(worker), 15, "the orphaned worker exits")


# -- helpers --------------------------------------------------------------------------


def _supervised(directory: Path, *options: str) -> list[str]:
    module = "tests.system.supervised_sqlite"
    return [sys.executable, "-m", module, "--data-dir", str(directory / "data"), *options]


def _worker_pid(url: str) -> int:
    health = httpx.get(f"{url}/healthz", headers={"Connection": "close"}).json()
    assert health["worker"] == 0, health
    pid: int = health["pid"]
    return pid


@contextlib.contextmanager
def _port_taken() -> Iterator[int]:
    """A loopback port something else listens on, for the block."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port: int = sock.getsockname()[1]
        yield port
