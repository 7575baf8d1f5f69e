"""The replay storm: the same 1,000 provider callbacks, each sent several times at once
through three gateway workers on one Redis wallet, are each applied exactly once.

A demo-brand player is funded through the operator API; 1,000 `gamegate` protocol bets
(signed, one connection per request, so every worker takes a share) are each sent
`COPIES` times, the copies of one bet together, so they race each other in different
workers, with `CONCURRENCY` requests in flight. A retryable answer
(503) is sent again, as a provider would, until the answer is final. Then every answer
to one transaction id must carry the same wallet transaction id, at most one of them may
be the first (not a replay), the history must hold exactly one debit per id, and the
balance must be the deposit less each stake once.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.redis_servers import RedisServer, shared_server
from tests.system.provider import Answer, Operator, Provider, provider_key
from tests.system.served import gateway_env, serve

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
WORKERS = 3
CALLBACKS = 1_000
COPIES = 3
CONCURRENCY = 64
ATTEMPTS_MAX = 30
PLAYER = "p-storm"
FUNDS = "1000.00"
STAKE_MINOR_MAX = 50


@pytest.fixture
def redis_server() -> RedisServer:
    server = shared_server()
    server.flush()
    return server


def test_a_thousand_callbacks_sent_three_times_through_three_workers_apply_once(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    env = gateway_env(wallet__url=redis_server.url, log_level="warning")
    arguments = ["--config", str(REPO / "config" / "gamegate.toml"), "--demo"]
    with serve(tmp_path, [*arguments, "--workers", str(WORKERS)], env) as served:
        assert f" with {WORKERS} workers " in served.startup_line
        storm = asyncio.run(_storm(served.url, provider_key(tmp_path / "data")))
        assert served.stop() == 0
    stakes, answers, history, funded_minor, real_minor = storm
    assert {answer.worker for found in answers.values() for answer in found} == {"0", "1", "2"}
    crossed = [tx for tx, found in answers.items() if len({a.worker for a in found}) > 1]
    assert len(crossed) > CALLBACKS // 2, "copies of one callback raced in different workers"
    for tx, found in answers.items():
        assert len(found) == COPIES, tx
        assert {answer.body["status"] for answer in found} == {"ok"}, found
        assert len({answer.body["wallet_transaction_id"] for answer in found}) == 1, found
        firsts = [answer for answer in found if not answer.body["replay"]]
        assert len(firsts) <= 1, f"{tx} applied twice: {firsts}"
    debits = [item for item in history if item["kind"] == "debit"]
    assert sorted(item["tx_id"] for item in debits) == sorted(stakes)
    by_tx = {tx: found[0].body["wallet_transaction_id"] for tx, found in answers.items()}
    assert {item["tx_id"]: item["transaction_id"] for item in debits} == by_tx
    assert real_minor == funded_minor - sum(stakes.values())


Storm = tuple[dict[str, int], dict[str, list[Answer]], list[dict[str, Any]], int, int]


async def _storm(url: str, key: bytes) -> Storm:
    rng = random.Random(20_261_205)
    operator, provider = Operator(url), Provider(url, key, connections_max=CONCURRENCY)
    try:
        token = await operator.funded_player(PLAYER, FUNDS)
        funded_minor = await operator.real_minor(PLAYER)
        stakes = {f"storm-{n}": rng.randint(1, STAKE_MINOR_MAX) for n in range(CALLBACKS)}
        order = list(stakes)
        rng.shuffle(order)
        sends = [tx for tx in order for _ in range(COPIES)]  # a callback's copies race
        answers: dict[str, list[Answer]] = defaultdict(list)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def send(tx: str) -> None:
            fields = {"session_token": token, "player_id": PLAYER, "transaction_id": tx,
                      "round_id": f"round-{tx}", "game_id": "demo-slot", "currency": "EUR",
                      "amount": stakes[tx], "round_closed": True}  # fmt: skip
            async with gate:
                answers[tx].append(await _final(provider, fields))

        await asyncio.gather(*(send(tx) for tx in sends))
        history = await operator.transactions(PLAYER)
        real_minor = await operator.real_minor(PLAYER)
    finally:
        await provider.close()
        await operator.close()
    return stakes, answers, history, funded_minor, real_minor


async def _final(provider: Provider, fields: dict[str, Any]) -> Answer:
    """The callback's final answer: a retryable one (503, or none) is sent again."""
    for attempt in range(ATTEMPTS_MAX):
        try:
            answer = await provider.call("bet", fields)
        except (aiohttp.ClientError, TimeoutError):
            answer = None
        if answer is not None and answer.status != 503:
            assert answer.status == 200, answer
            return answer
        await asyncio.sleep(0.01 * (attempt + 1))
    raise AssertionError(f"no final answer to {fields['transaction_id']}")
