"""SIGKILL the Redis wallet's server under load, again and again: nothing acknowledged is
lost, nothing is applied twice or by half, and an outage is answered retryable.

`gamegate serve --workers 2` runs on a redis-server of its own (AOF, `appendfsync
always`, a private directory and port). A client thread keeps it busy with signed
`gamegate` protocol callbacks (a bet, then a win or a rollback of it) and operator
deposits on a few players, each sent until its answer is final, as a provider or a
cashier retries: a 503 or a cut connection means "send it again, same id". Meanwhile the
test's main thread SIGKILLs the redis-server at random moments and restarts it on the
same directory and port (it loads its append-only file), `KILLS` times.

What must hold:
- an attempt made and answered wholly while the server was dead is a 503 (retryable in
  the body for a provider), never a success and never a final refusal;
- every acknowledged transaction is in the player's history exactly once, under the
  wallet transaction id its acknowledgement gave, and nothing else is there;
- a resend of an acknowledged transaction is a replay with the same wallet id;
- each balance is its funding plus the acknowledged deltas, and `gamegate verify` on the
  Redis URL passes on the quiet wallet.

The redis-server is started and restarted from the main thread only: its parent-death
signal is tied to the thread that spawned it.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.redis_servers import RedisServer, start_server
from tests.system.provider import Answer, Operator, Provider, provider_key
from tests.system.served import gamegate_command, gateway_env, serve

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config" / "gamegate.toml"
WORKERS = 2
KILLS = 12
UP_S_MIN, UP_S_MAX = 0.4, 1.4
DOWN_S_MIN, DOWN_S_MAX = 0.2, 0.6
LOADERS = 12
PLAYERS = tuple(f"p-crash-{i}" for i in range(4))
FUNDS = "100000.00"
STAKE_MINOR_MAX = 500
WIN_MINOR_MAX = 1_000
DEPOSIT_MINOR_MAX = 2_000
DEPOSIT_SHARE = 0.1
ROLLBACK_SHARE = 0.2
RETRY_PAUSE_S = 0.05
FINAL_WITHIN_S = 30.0
RESENDS = 60
READY_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class Attempt:
    started_s: float
    ended_s: float
    status: int | None
    """None: no answer (the connection was cut or timed out)."""
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Acked:
    player_id: str
    delta_minor: int
    wallet_tx_id: str
    resend: Callable[[], Awaitable[Answer]]


@dataclass
class Load:
    """What the client saw: every attempt, and every acknowledged transaction by id."""

    attempts: list[Attempt] = field(default_factory=list)
    acked: dict[str, Acked] = field(default_factory=dict)
    funded_minor: dict[str, int] = field(default_factory=dict)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    balances: dict[str, int] = field(default_factory=dict)
    error: BaseException | None = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Any:
    server = start_server(tmp_path / "redis")
    try:
        yield server
    finally:
        server.stop()


def test_acknowledged_callbacks_survive_repeated_sigkill_of_the_redis_server(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    rng = random.Random(os.environ.get("CRASH_SEED") or None)
    env = gateway_env(wallet__url=redis_server.url, log_level="warning")
    arguments = ["--config", str(CONFIG), "--demo", "--workers", str(WORKERS)]
    outages: list[tuple[float, float]] = []
    with serve(tmp_path, arguments, env) as served:
        load = Load()
        ready, stop = threading.Event(), threading.Event()
        key = provider_key(tmp_path / "data")
        client = threading.Thread(
            target=_run_load, args=(served.url, key, load, ready, stop, rng.random()), daemon=True
        )
        client.start()
        try:
            assert ready.wait(READY_TIMEOUT_S), f"players not funded: {load.error!r}"
            for _ in range(KILLS):
                time.sleep(rng.uniform(UP_S_MIN, UP_S_MAX))
                redis_server.kill()
                down_from_s = time.monotonic()
                time.sleep(rng.uniform(DOWN_S_MIN, DOWN_S_MAX))
                down_to_s = time.monotonic()
                redis_server.restart()  # same port and directory: it loads the AOF
                outages.append((down_from_s, down_to_s))
            time.sleep(UP_S_MAX)  # load on the last restart too
        finally:
            stop.set()
            client.join(FINAL_WITHIN_S * 2)
        assert not client.is_alive(), "the client did not finish"
        if load.error is not None:
            raise load.error
        assert served.process.poll() is None, "the gateway survived every outage"
        assert served.stop() == 0
    log = served.out.read_text() + served.err.read_text()
    assert "worker_exited_unexpectedly" not in log, "no worker died of an outage"

    during = [
        a for a in load.attempts if any(f <= a.started_s and a.ended_s <= t for f, t in outages)
    ]
    assert during, "some attempts were answered while the server was down"
    for attempt in during:
        assert attempt.status in (503, None), f"answered {attempt} while Redis was down"
        if attempt.status == 503 and "retryable" in attempt.body:
            assert attempt.body["retryable"] is True, attempt
    statuses = Counter(attempt.status for attempt in load.attempts)
    assert set(statuses) <= {200, 201, 503, None}, statuses
    assert statuses[503] + statuses[None] > 0
    assert len(load.acked) > KILLS * 20, f"too little load: {len(load.acked)} acknowledged"

    history, balances = load.history, load.balances
    for player_id in PLAYERS:
        tx_ids = [item["tx_id"] for item in history[player_id]]
        duplicated = [tx for tx, n in Counter(tx_ids).items() if n > 1]
        assert not duplicated, f"{player_id}: applied twice: {duplicated[:5]}"
        mine = {tx: a for tx, a in load.acked.items() if a.player_id == player_id}
        shown = {item["tx_id"]: item["transaction_id"] for item in history[player_id]}
        shown.pop(f"fund-{player_id}")
        assert shown == {tx: a.wallet_tx_id for tx, a in mine.items()}, (
            f"{player_id}: lost {sorted(set(mine) - set(shown))[:5]}, "
            f"unacknowledged {sorted(set(shown) - set(mine))[:5]}"
        )
        expected = load.funded_minor[player_id] + sum(a.delta_minor for a in mine.values())
        assert balances[player_id] == expected, f"{player_id}: half applied"
    verified = subprocess.run(
        [
            *gamegate_command(),
            "verify",
            "--config",
            str(CONFIG),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert ": OK" in verified.stdout.splitlines()[0], verified.stdout


# -- the client ------------------------------------------------------------------


def _run_load(
    url: str,
    key: bytes,
    load: Load,
    ready: threading.Event,
    stop: threading.Event,
    seed: float,
) -> None:
    try:
        asyncio.run(_load(url, key, load, ready, stop, seed))
    except BaseException as error:  # noqa: BLE001 - re-raised by the test's thread
        load.error = error


async def _load(
    url: str, key: bytes, load: Load, ready: threading.Event, stop: threading.Event, seed: float
) -> None:
    operator, provider = Operator(url), Provider(url, key, connections_max=LOADERS * 2)
    try:
        tokens = {}
        for player_id in PLAYERS:
            tokens[player_id] = await operator.funded_player(player_id, FUNDS)
            load.funded_minor[player_id] = await operator.real_minor(player_id)
        ready.set()
        await asyncio.gather(
            *(
                _loader(operator, provider, tokens, load, stop, random.Random(f"{seed}-{n}"), n)
                for n in range(LOADERS)
            )
        )
        await _resend_and_read(operator, load)
    finally:
        await provider.close()
        await operator.close()


async def _loader(
    operator: Operator,
    provider: Provider,
    tokens: dict[str, str],
    load: Load,
    stop: threading.Event,
    rng: random.Random,
    loader: int,
) -> None:
    """One sequence at a time: a deposit, or a bet followed by a win or a rollback; each
    transaction is sent until its answer is final, so a sequence never hangs half done."""
    n = 0
    while not stop.is_set():
        n += 1
        name = f"l{loader}-{n}"
        player_id = rng.choice(PLAYERS)
        if rng.random() < DEPOSIT_SHARE:
            minor = rng.randint(1, DEPOSIT_MINOR_MAX)
            path = f"/v1/players/{player_id}/deposits"
            body = {"amount": f"{minor // 100}.{minor % 100:02d}"}

            def deposit(key: str = f"dep-{name}", path: str = path, body: Any = body) -> Any:
                return operator.call("POST", path, body, idempotency_key=key)

            answer = await _final(load, deposit)
            wallet_tx = answer.body["transaction_id"]
            load.acked[f"dep-{name}"] = Acked(player_id, minor, wallet_tx, deposit)
            continue
        stake = rng.randint(1, STAKE_MINOR_MAX)
        bet_fields = {"session_token": tokens[player_id], "player_id": player_id,
                      "transaction_id": f"bet-{name}", "round_id": f"round-{name}",
                      "game_id": "demo-slot", "currency": "EUR", "amount": stake}  # fmt: skip
        await _callback(provider, load, "bet", bet_fields, player_id, -stake)
        if rng.random() < ROLLBACK_SHARE:
            rollback_fields = {"player_id": player_id, "transaction_id": f"rb-{name}",
                               "reference_transaction_id": f"bet-{name}",
                               "round_id": f"round-{name}", "round_closed": True}  # fmt: skip
            await _callback(provider, load, "rollback", rollback_fields, player_id, stake)
        else:
            win = rng.randint(1, WIN_MINOR_MAX)
            win_fields = {"player_id": player_id, "transaction_id": f"win-{name}",
                          "bet_transaction_id": f"bet-{name}", "round_id": f"round-{name}",
                          "game_id": "demo-slot", "currency": "EUR", "amount": win,
                          "round_closed": True}  # fmt: skip
            await _callback(provider, load, "win", win_fields, player_id, win)


async def _callback(
    provider: Provider,
    load: Load,
    operation: str,
    fields: dict[str, Any],
    player_id: str,
    delta_minor: int,
) -> None:
    def send() -> Awaitable[Answer]:
        return provider.call(operation, fields)

    answer = await _final(load, send)
    assert answer.body["status"] == "ok", answer
    tx_id = fields["transaction_id"]
    load.acked[tx_id] = Acked(player_id, delta_minor, answer.body["wallet_transaction_id"], send)


async def _final(load: Load, send: Callable[[], Awaitable[Answer]]) -> Answer:
    """Send until the answer is final (not 503, not a cut connection); record each try."""
    deadline_s = time.monotonic() + FINAL_WITHIN_S
    while time.monotonic() < deadline_s:
        started_s = time.monotonic()
        try:
            answer: Answer | None = await send()
        except (aiohttp.ClientError, TimeoutError):
            answer = None
        ended_s = time.monotonic()
        status = None if answer is None else answer.status
        load.attempts.append(
            Attempt(started_s, ended_s, status, {} if answer is None else answer.body)
        )
        if answer is not None and answer.status != 503:
            assert answer.status in (200, 201), answer
            return answer
        await asyncio.sleep(RETRY_PAUSE_S)
    raise AssertionError(f"no final answer within {FINAL_WITHIN_S} s")


# -- the checks after the load ------------------------------------------------------


async def _resend_and_read(operator: Operator, load: Load) -> None:
    """Resend a sample of acknowledged transactions (each must be a replay with the same
    wallet id), then read every player's history and balance."""
    sample = random.Random(len(load.acked)).sample(
        sorted(load.acked), min(RESENDS, len(load.acked))
    )
    for tx_id in sample:
        acked = load.acked[tx_id]
        answer = await acked.resend()
        assert answer.status in (200, 201), (tx_id, answer)
        assert answer.body["replay"] is True, (tx_id, answer)
        wallet_tx = answer.body.get("wallet_transaction_id") or answer.body["transaction_id"]
        assert wallet_tx == acked.wallet_tx_id, (tx_id, answer)
    load.history = {p: await operator.transactions(p) for p in PLAYERS}
    load.balances = {p: await operator.real_minor(p) for p in PLAYERS}
