"""`verify` on a Redis wallet: a healthy wallet passes, and each kind of damage is named.

A small wallet is played (bets, wins, a rollback, a tombstone, a refusal, two players
in two groups), then one thing is changed behind the store's back, as a bad script or
a lost write would, and the check that owns that invariant must fail, alone or with
the ones that follow from it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from adapters.stores.redis_claims import TX, claim_key
from adapters.stores.redis_keys import group_keys, group_of, key_field, player_keys
from adapters.stores.redis_store import RedisWalletStore
from adapters.stores.redis_verify import CHECKS, verify_redis_wallet
from core.errors import InsufficientFunds
from core.model import Credit, Debit, Deposit, Rollback
from core.wallet.records import PlayerRecord
from tests.redis_servers import RedisCluster, RedisServer, shared_cluster, shared_server

pytestmark = pytest.mark.redis


async def _played(servers: RedisServer | RedisCluster) -> None:
    servers.flush()
    store = await RedisWalletStore.open(servers.url)
    try:
        for player_id in ("ann", "bob"):
            await store.create_player(
                PlayerRecord(player_id, "demo", "MT", "EUR", datetime.date(1990, 1, 1))
            )
            await store.apply([Deposit(f"d-{player_id}", player_id, "EUR", 1_000)])
        await store.apply([Debit("prov", "b1", "ann", "EUR", 300, "r1", "g1")])
        await store.apply([Credit("prov", "w1", "ann", "EUR", 500, "r1", "g1", ref_tx_id="b1")])
        await store.apply([Debit("prov", "b2", "bob", "EUR", 100, "r2", "g1")])
        await store.apply([Rollback("prov", "x2", "bob", "b2")])
        await store.apply([Rollback("prov", "x3", "bob", "b3")])
        with pytest.raises(InsufficientFunds):
            await store.apply([Debit("prov", "b4", "bob", "EUR", 5_000, "r4", "g1")])
    finally:
        await store.close()


def _client(servers: RedisServer | RedisCluster) -> Any:
    return servers.client()


def _balance(client: Any) -> None:
    client.hset(player_keys("ann").player, "b:EUR", "1201 0")


def _house(client: Any) -> None:
    client.hincrby(group_keys(group_of("ann")).house, "EUR:house:cashier", 1)


def _amount(client: Any) -> None:
    key, field = player_keys("ann").txs, key_field("prov", "w1")
    stored = orjson.loads(client.hget(key, field))
    stored[6] = 600  # the amount, without relinking the chain
    client.hset(key, field, orjson.dumps(stored))


def _outbox(client: Any) -> None:
    """Not the oldest event: a relay trims those once it has them (`XTRIM MINID`)."""
    stream = group_keys(group_of("bob")).outbox
    [_, (second_id, _)] = client.xrange(stream, count=2)
    client.xdel(stream, second_id)


def _claim(client: Any) -> None:
    client.delete(claim_key((TX, "prov", "b2")))


def _lock(client: Any) -> None:
    client.hset(player_keys("bob").player, "lk", "abandoned 0")


@pytest.mark.parametrize(
    ("damage", "failing"),
    [
        (_balance, {"balances", "conservation"}),
        (_house, {"house", "conservation"}),
        (_amount, {"chain", "renderable"}),
        (_outbox, {"outbox"}),
        (_claim, {"claims"}),
        (_lock, {"locks"}),
    ],
    ids=["balance", "house-shard", "amount", "outbox-event", "claim", "lock"],
)
async def test_damage_behind_the_stores_back_fails_the_check_that_owns_it(
    damage: Callable[[Any], None], failing: set[str]
) -> None:
    servers = shared_server()
    await _played(servers)
    assert verify_redis_wallet(servers.url).ok
    with _client(servers) as client:
        damage(client)
    report = verify_redis_wallet(servers.url)
    assert {name for name, check in report.checks.items() if not check.ok} == failing
    assert not report.ok


@pytest.mark.parametrize("which", ["redis", "cluster"])
async def test_a_healthy_wallet_passes_every_check_on_one_line_each(which: str) -> None:
    servers = shared_server() if which == "redis" else shared_cluster()
    await _played(servers)
    report = verify_redis_wallet(servers.url)
    lines = report.lines()
    assert report.ok, lines
    assert lines[0].startswith("wallet redis ")
    assert ": OK — 2 players, 9 txs" in lines[0]
    assert lines[1:] == [f"PASS {text}" for text in CHECKS.values()]
