"""`gamegate serve --workers 2` on one redis-server (AOF, `appendfsync always`): both
workers serve one port, each counts what it answered on its own metrics port, and a
worker SIGKILLed under load is restarted while the other answers, losing nothing that
was acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import pytest

from tests.redis_servers import RedisServer, shared_server
from tests.system.provider import Operator, Provider, provider_key
from tests.system.served import Served, alive, free_port, gateway_env, samples, serve, wait_until

pytestmark = [pytest.mark.redis, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[2]
WORKERS = 2
REQUESTS = 300
BALANCE_ROUTE = '{route="/v1/players/{player_id}/balance",status="200"}'


@pytest.fixture
def redis_server() -> RedisServer:
    server = shared_server()
    server.flush()
    return server


@contextlib.contextmanager
def _two_workers(tmp_path: Path, redis_url: str, metrics_port: int) -> Iterator[Served]:
    env = gateway_env(wallet__url=redis_url, server__metrics_port=str(metrics_port))
    arguments = ["--config", str(REPO / "config" / "gamegate.toml"), "--demo"]
    arguments += ["--workers", str(WORKERS)]
    with serve(tmp_path, arguments, env) as served:
        yield served


def _worker_health(metrics_port: int, index: int) -> dict[str, int]:
    health: dict[str, int] = httpx.get(f"http://127.0.0.1:{metrics_port + index}/healthz").json()
    return health


def test_two_workers_share_the_port_and_each_counts_its_own_requests(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    metrics_port = free_port(WORKERS)
    with _two_workers(tmp_path, redis_server.url, metrics_port) as served:
        assert f" with {WORKERS} workers (wallet: redis redis://" in served.startup_line
        answered: Counter[str] = Counter()
        with served.client() as api:
            for _ in range(REQUESTS):
                answer = api.get("/v1/players/demo-1/balance")
                assert answer.status_code == 200, answer.text
                answered[answer.headers["X-Gamegate-Worker"]] += 1
        assert set(answered) == {"0", "1"}, f"one port, both workers answer: {answered}"
        pids = set()
        for index in range(WORKERS):
            health = _worker_health(metrics_port, index)
            assert health["worker"] == index
            pids.add(health["pid"])
            page = httpx.get(f"http://127.0.0.1:{metrics_port + index}/metrics").text
            counted = samples(page, "gamegate_operator_requests_total")
            assert counted.get(BALANCE_ROUTE) == answered[str(index)], counted
        assert len(pids) == WORKERS
        assert served.process.pid not in pids, "the supervisor serves nothing itself"
        assert served.stop() == 0
        for pid in pids:
            assert not alive(pid), "every worker has exited when the supervisor has"


def test_a_worker_killed_under_load_is_restarted_and_nothing_acknowledged_is_lost(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    metrics_port = free_port(WORKERS)
    with _two_workers(tmp_path, redis_server.url, metrics_port) as served:
        key = provider_key(tmp_path / "data")
        outcome = asyncio.run(_load_with_a_kill(served.url, key, metrics_port))
        assert outcome.killed_pid != outcome.restarted_pid
        assert not alive(outcome.killed_pid)
        assert outcome.answered_by_the_other_meanwhile > 0, "the other worker kept answering"
        assert outcome.real_minor == outcome.funded_minor - outcome.staked_minor
        assert outcome.ok_bets == outcome.acknowledged
        assert served.stop() == 0
    log = served.out.read_text()
    assert '"event":"worker_exited_unexpectedly"' in log
    assert '"exit_code":-9' in log


@dataclass
class _LoadOutcome:
    killed_pid: int = 0
    restarted_pid: int = 0
    answered_by_the_other_meanwhile: int = 0
    unanswered: int = 0
    """Bets whose connection the kill cut, or answered retryable: resent afterwards."""
    acknowledged: int = 0
    ok_bets: int = 0
    funded_minor: int = 0
    staked_minor: int = 0
    real_minor: int = 0


PLAYER = "p-workers"
FUNDS = "100000.00"
LOAD_CONNECTIONS = 16
STAKE_MINOR = 7


async def _load_with_a_kill(url: str, key: bytes, metrics_port: int) -> _LoadOutcome:
    """Bets from many connections; SIGKILL worker 1 a second in; keep betting until it
    is back; then resend every bet that got no answer (a provider retries) and compare
    the balance with what was acknowledged."""
    outcome = _LoadOutcome()
    operator, provider = Operator(url), Provider(url, key, connections_max=LOAD_CONNECTIONS)
    try:
        token = await operator.funded_player(PLAYER, FUNDS)
        outcome.funded_minor = await operator.real_minor(PLAYER)
        acked: dict[str, int] = {}
        unanswered: set[str] = set()
        killed_at_s = float("inf")
        back = asyncio.Event()
        counter = iter(range(10**9))

        async def bet(tx: str) -> None:
            fields = {"session_token": token, "player_id": PLAYER, "transaction_id": tx,
                      "round_id": tx, "game_id": "demo-slot", "currency": "EUR",
                      "amount": STAKE_MINOR, "round_closed": True}  # fmt: skip
            sent_while_down = time.monotonic() > killed_at_s and not back.is_set()
            try:
                answer = await provider.call("bet", fields)
            except (aiohttp.ClientError, TimeoutError):
                unanswered.add(tx)
                return
            if answer.status == 200 and answer.body["status"] == "ok":
                acked[tx] = STAKE_MINOR
                if sent_while_down and answer.worker == "0":
                    outcome.answered_by_the_other_meanwhile += 1
            else:
                assert answer.status == 503, answer  # retryable: resent below
                unanswered.add(tx)

        async def loader() -> None:
            while not back.is_set():
                await bet(f"bet-{next(counter)}")

        loaders = [asyncio.create_task(loader()) for _ in range(LOAD_CONNECTIONS)]
        await asyncio.sleep(1.0)
        outcome.killed_pid = _worker_health(metrics_port, 1)["pid"]
        os.kill(outcome.killed_pid, signal.SIGKILL)
        killed_at_s = time.monotonic()
        await asyncio.to_thread(
            wait_until,
            lambda: _worker_health(metrics_port, 1)["pid"] != outcome.killed_pid,
            30,
            "worker 1 is restarted",
        )
        back.set()
        await asyncio.gather(*loaders)
        outcome.restarted_pid = _worker_health(metrics_port, 1)["pid"]
        outcome.unanswered = len(unanswered)
        for tx in sorted(unanswered):  # a provider retries what it got no answer to
            unanswered.discard(tx)
            await bet(tx)
            assert tx not in unanswered, f"{tx}: no answer on a retry either"
        outcome.acknowledged = len(acked)
        outcome.staked_minor = sum(acked.values())
        outcome.real_minor = await operator.real_minor(PLAYER)
        history = await operator.transactions(PLAYER)
        outcome.ok_bets = sum(1 for item in history if item["kind"] == "debit")
    finally:
        await provider.close()
        await operator.close()
    return outcome
