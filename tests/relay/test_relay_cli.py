"""`gamegate relay` as an operator runs it, in its own process: `--once` drains and
says how far (a wallet file, or a Redis wallet's outbox streams); with
`--metrics-port` it serves its lag and counts for Prometheus while it runs."""

from __future__ import annotations

import asyncio
import os
import random
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from adapters.stores.sqlite_store import SqliteWalletStore
from tests.contract.redis_stores import redis_server_store
from tests.redis_servers import shared_server
from tests.relay.ledger import assert_matches_ledger, assert_matches_redis_ledger, history, seed

RUN_TIMEOUT_S = 60


def _relay(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GAMEGATE_")}
    return subprocess.run(
        [sys.executable, "-m", "gateway", "relay", *argv],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S, env={**clean, **env}, check=False,
    )  # fmt: skip


async def _wallet(path: Path) -> None:
    store = await SqliteWalletStore.open(path)
    try:
        await seed(store)
        await history(store, random.Random(11), 50)
    finally:
        await store.close()


async def _redis_wallet(directory: Path) -> str:
    """A history in the session's redis-server (emptied first); its URL."""
    async with redis_server_store(directory, lambda: time.time_ns() // 1_000) as store:
        await seed(store)
        await history(store, random.Random(12), 50)
    return shared_server().url


def test_once_drains_the_wallet_and_says_how_far(tmp_path: Path) -> None:
    data = tmp_path / "data"
    asyncio.run(_wallet(data / "wallet.db"))
    done = _relay("--once", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    events = assert_matches_ledger(data / "wallet.db", data / "reporting.duckdb")
    assert done.stdout.startswith("relayed through seq ")
    assert done.stdout.endswith(f" ({events} events)\n")
    again = _relay("--once", "--data-dir", str(data))
    assert again.returncode == 0, again.stderr
    assert again.stdout.endswith(" (0 events)\n")  # nothing new: nothing written twice


def test_a_redis_wallet_is_relayed(tmp_path: Path) -> None:
    url = asyncio.run(_redis_wallet(tmp_path))
    done = _relay("--once", "--data-dir", str(tmp_path), GAMEGATE_WALLET__URL=url)
    assert done.returncode == 0, done.stderr
    events = assert_matches_redis_ledger(url, tmp_path / "reporting.duckdb")
    assert done.stdout.endswith(f" ({events} events)\n")


# -- `gamegate relay --metrics-port`: the standalone relay on Prometheus ---------------

METRICS_LINE = "gamegate relay: metrics on "
SCRAPE_TIMEOUT_S = 30.0


def _sample(page: str, name: str) -> float | None:
    for line in page.splitlines():
        metric, _, value = line.partition(" ")
        if metric == name:
            return float(value)
    return None


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 -- loopback http
        return answer.status, answer.read().decode()


def _scrape_until(url: str, caught_up_past: float) -> str:
    """/metrics once the relay has written more than `caught_up_past` events and has no
    lag left."""
    deadline = time.monotonic() + SCRAPE_TIMEOUT_S
    while True:
        _, page = _get(url)
        events = _sample(page, "gamegate_relay_events_total")
        lag = _sample(page, "gamegate_relay_lag_seqs")
        if events is not None and events > caught_up_past and lag == 0:
            return page
        assert time.monotonic() < deadline, page
        time.sleep(0.1)


def _metrics_url(relay: subprocess.Popen[str]) -> str:
    assert relay.stdout is not None
    ready, _, _ = select.select([relay.stdout], [], [], RUN_TIMEOUT_S)
    assert ready, "no metrics line"
    line = relay.stdout.readline()
    assert line.startswith(METRICS_LINE), line
    return line.removeprefix(METRICS_LINE).strip()


def test_the_relay_on_its_own_serves_its_metrics(tmp_path: Path) -> None:
    data = tmp_path / "data"
    asyncio.run(_wallet(data / "wallet.db"))
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GAMEGATE_")}
    relay = subprocess.Popen(
        [sys.executable, "-m", "gateway", "relay", "--metrics-port", "0", "--data-dir", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**clean, "GAMEGATE_REPORTING__RELAY_STEP_INTERVAL_S": "0"},
    )  # fmt: skip
    try:
        url = _metrics_url(relay)
        assert url.startswith("http://127.0.0.1:")  # server.host's default: loopback
        first = _scrape_until(url, 0)
        events = _sample(first, "gamegate_relay_events_total")
        assert events is not None
        assert _sample(first, "gamegate_relay_failures_total") == 0
        assert _sample(first, "gamegate_relay_lag_seconds") == 0
        assert _sample(first, "process_cpu_seconds_total") is not None  # the process's own
        assert "gamegate_provider_requests" not in first  # the relay's registry, not serve's
        asyncio.run(_more(data / "wallet.db"))  # the wallet goes on while the relay runs
        later = _scrape_until(url, events)
        assert _sample(later, "gamegate_relay_lag_seqs") == 0
        assert _get(url.removesuffix("/metrics") + "/healthz") == (200, '{"status":"ok"}')
    finally:
        relay.send_signal(signal.SIGTERM)
        _, stderr = relay.communicate(timeout=RUN_TIMEOUT_S)
    assert relay.returncode == 0, stderr
    assert "relay_metrics_listening" in stderr
    assert_matches_ledger(data / "wallet.db", data / "reporting.duckdb")


async def _more(path: Path) -> None:
    store = await SqliteWalletStore.open(path)
    try:
        await history(store, random.Random(12), 20, tag="more")
    finally:
        await store.close()


def test_a_metrics_port_in_use_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    asyncio.run(_wallet(data / "wallet.db"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _relay("--metrics-port", str(port), "--data-dir", str(data))
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_a_metrics_port_that_is_not_a_port_is_refused(tmp_path: Path) -> None:
    done = _relay("--metrics-port", "70000", "--data-dir", str(tmp_path))
    assert done.returncode == 1
    assert "--metrics-port 70000 is not a port" in done.stderr
