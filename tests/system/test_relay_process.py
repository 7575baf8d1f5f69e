"""`gamegate serve` with the default settings runs the relay as a child process that holds
the reporting store (`gateway.relay_process`): what the wallet commits and the request
records reach the store through it, reports and `/metrics` work through its socket, a
child SIGKILLed is restarted and relays on without loss or duplicates, a serve
SIGKILLed takes its child along (the store and the socket are free for the next serve),
and under `--workers 2` (a Redis wallet) both workers' request records reach the store.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import duckdb
import httpx
import orjson
import pytest

from tests.redis_servers import shared_server
from tests.relay.ledger import assert_matches_ledger
from tests.system.served import (
    Served,
    alive,
    free_port,
    gateway_env,
    samples,
    serve,
    wait_until,
)

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[2]
WAIT_S = 20.0


def _serve(tmp_path: Path) -> contextlib.AbstractContextManager[Served]:
    arguments = ["--config", str(REPO / "config" / "gamegate.toml"), "--demo"]
    env = gateway_env(reporting__relay_poll_interval_s="0.02", reporting__relay_step_interval_s="0")
    return serve(tmp_path, arguments, env)


def _deposits(served: Served, player_id: str, count: int, *, first: int = 0) -> None:
    with served.client() as client:
        if first == 0:
            player = {"player_id": player_id, "brand": "demo", "jurisdiction": "MT",
                      "currency": "EUR", "date_of_birth": "1990-01-01"}  # fmt: skip
            assert client.post("/v1/players", json=player).status_code == 201
        for n in range(first, first + count):
            answer = client.post(
                f"/v1/players/{player_id}/deposits",
                json={"amount": "1.00"},
                headers={"Idempotency-Key": f"dep-{player_id}-{n}"},
            )
            assert answer.status_code == 201, answer.text


def _metric(served: Served, name: str) -> float:
    text = httpx.get(f"{served.url}/metrics", timeout=5.0).text
    found = samples(text, name)
    return found.get("", -1.0)


def _children(pid: int) -> list[int]:
    """The relay child(ren) of `pid`: processes whose parent it is."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid and alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def _log_events(served: Served, event: str) -> list[dict[str, object]]:
    lines = served.out.read_text(errors="replace").splitlines()
    return [line for line in map(_json, lines) if line.get("event") == event]


def _json(line: str) -> dict[str, object]:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _requests_in(reporting: Path) -> int:
    with duckdb.connect(str(reporting), read_only=True) as connection:
        row = connection.execute("SELECT count(*) FROM requests").fetchone()
    assert row is not None
    return int(row[0])


def test_serve_relays_through_its_child(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with _serve(tmp_path) as served:
        wait_until(lambda: len(_children(served.process.pid)) == 1, WAIT_S, "the relay child")
        wait_until(lambda: (data / "reporting.sock").exists(), WAIT_S, "the reporting socket")
        _deposits(served, "p1", 5)
        wait_until(lambda: _metric(served, "gamegate_relay_events_total") >= 5, WAIT_S, "relayed")
        assert _metric(served, "gamegate_relay_lag_seqs") >= 0
        headers = {"Authorization": "Bearer workers-test-operator-key"}
        with httpx.Client(base_url=served.url, headers=headers, timeout=10.0) as client:
            ggr = client.get("/v1/reports/ggr", params={"from": "2020-01-01", "to": "2020-01-02"})
            assert ggr.status_code == 200, ggr.text
            rounds = client.get("/v1/reports/open-rounds")
            assert rounds.status_code == 200, rounds.text
        wait_until(
            lambda: _metric(served, "gamegate_request_records_total") >= 5, WAIT_S, "records"
        )
        dropped = samples(
            httpx.get(f"{served.url}/metrics").text, "gamegate_request_records_dropped_total"
        )
        assert set(dropped.values()) == {0.0}, dropped  # a start drops none
        (child,) = _children(served.process.pid)
        assert served.stop() == 0
    assert not alive(child)
    assert not (data / "reporting.sock").exists()
    assert_matches_ledger(data / "wallet.db", data / "reporting.duckdb")
    assert _requests_in(data / "reporting.duckdb") >= 8  # 6 writes, 2 reports, scrapes
    assert _log_events(served, "relay_started")  # the child's lines, in serve's stdout


def test_a_killed_child_is_restarted_and_relays_on(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with _serve(tmp_path) as served:
        wait_until(lambda: len(_children(served.process.pid)) == 1, WAIT_S, "the relay child")
        _deposits(served, "p1", 20)
        wait_until(lambda: _metric(served, "gamegate_relay_events_total") >= 20, WAIT_S, "relayed")
        (first,) = _children(served.process.pid)
        os.kill(first, signal.SIGKILL)
        _deposits(served, "p1", 20, first=20)  # while the child is down or restarting
        wait_until(lambda: _log_events(served, "relay_process_exited"), WAIT_S, "the exit log")
        wait_until(lambda: _metric(served, "gamegate_relay_events_total") >= 40, WAIT_S, "relayed")
        (second,) = _children(served.process.pid)
        assert second != first
        (exited,) = _log_events(served, "relay_process_exited")
        assert exited["exit_code"] == -signal.SIGKILL
        assert _metric(served, "gamegate_relay_failures_total") >= 1  # GamegateRelayFailing
        assert served.stop() == 0
    assert assert_matches_ledger(data / "wallet.db", data / "reporting.duckdb") >= 40


def test_a_killed_serve_takes_its_child_along(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with _serve(tmp_path) as served:
        wait_until(lambda: (data / "reporting.sock").exists(), WAIT_S, "the reporting socket")
        (child,) = _children(served.process.pid)
        _deposits(served, "p1", 3)
        served.process.kill()
        served.process.wait()
        deadline_s = time.monotonic() + 5.0
        while alive(child) and time.monotonic() < deadline_s:
            time.sleep(0.05)
        assert not alive(child)
    env = gateway_env(reporting__relay_poll_interval_s="0.02")  # a new serve, the same data
    arguments = [
        "--config",
        str(REPO / "config" / "gamegate.toml"),
        "--demo",
        "--data-dir",
        str(data),
    ]
    with serve(tmp_path / "third", arguments, env) as third:
        _deposits(third, "p2", 2)
        wait_until(lambda: _metric(third, "gamegate_relay_events_total") >= 2, WAIT_S, "relayed")
        assert third.stop() == 0
    assert assert_matches_ledger(data / "wallet.db", data / "reporting.duckdb") >= 5


@pytest.mark.redis
def test_both_workers_records_reach_the_store(tmp_path: Path) -> None:
    redis = shared_server()
    redis.flush()
    metrics_port = free_port(2)
    env = gateway_env(wallet__url=redis.url, server__metrics_port=str(metrics_port))
    arguments = ["--config", str(REPO / "config" / "gamegate.toml"), "--demo", "--workers", "2"]
    with serve(tmp_path, arguments, env) as served:
        pages = [f"http://127.0.0.1:{metrics_port + index}/metrics" for index in (0, 1)]

        def written(index: int) -> float:
            with served.client() as api:  # new connections: either worker may answer
                for _ in range(10):
                    api.get("/v1/players/demo-1/balance")
            page = httpx.get(pages[index], timeout=5.0).text
            return samples(page, "gamegate_request_records_total").get("", 0.0)

        for index in (0, 1):
            wait_until(lambda: written(index) > 0, WAIT_S, f"worker {index}'s records")  # noqa: B023
            page = httpx.get(pages[index], timeout=5.0).text
            dropped = samples(page, "gamegate_request_records_dropped_total")
            assert dropped['{reason="no_store"}'] == 0, dropped
        assert "gamegate_relay_lag_seqs" in httpx.get(pages[0], timeout=5.0).text
        assert served.stop() == 0
    assert _requests_in(tmp_path / "data" / "reporting.duckdb") > 0
