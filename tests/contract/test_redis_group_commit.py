"""Group commit on one Redis server: many players' steps share calls, each answer its own.

A hundred players play at once through one store: a deposit (the first step of a group
reserves seqs, the long way), a bet, its win, a rollback of a bet never sent (a
tombstone: its claim is made after the decision, the long way), a bet over their funds
(refused: its round's claim is released, the long way) and a rollback of the win (its
original's round is read in a second round trip, the long way). Every player must end
exactly where playing alone would leave them, the steps must have shared commits, and
`verify` must pass.
"""

from __future__ import annotations

import asyncio
import datetime

import pytest

from adapters.stores.redis_store import RedisWalletStore
from adapters.stores.redis_verify import verify_redis_wallet
from core.errors import InsufficientFunds
from core.model import Balance, Credit, Debit, Deposit, Rollback, TxStatus
from core.wallet.records import PlayerRecord
from tests.redis_servers import shared_server

pytestmark = pytest.mark.redis

PLAYERS = 100


async def _play(store: RedisWalletStore, player_id: str) -> None:
    await store.create_player(
        PlayerRecord(player_id, "demo", "MT", "EUR", datetime.date(1990, 1, 1))
    )
    await store.apply([Deposit(f"d-{player_id}", player_id, "EUR", 1_000)])
    [bet] = await store.apply(
        [Debit("prov", f"b-{player_id}", player_id, "EUR", 300, f"r-{player_id}", "g1")]
    )
    assert bet.balance == Balance("EUR", 700, 0)
    [won] = await store.apply(
        [
            Credit(
                "prov",
                f"w-{player_id}",
                player_id,
                "EUR",
                500,
                f"r-{player_id}",
                "g1",
                ref_tx_id=f"b-{player_id}",
            )
        ]
    )
    assert won.balance == Balance("EUR", 1_200, 0)
    [tombstone] = await store.apply(
        [Rollback("prov", f"x-{player_id}", player_id, f"never-{player_id}")]
    )
    assert tombstone.tombstone
    with pytest.raises(InsufficientFunds):
        await store.apply(
            [Debit("prov", f"big-{player_id}", player_id, "EUR", 5_000, f"r2-{player_id}", "g1")]
        )
    [reversed_win] = await store.apply(
        [Rollback("prov", f"xw-{player_id}", player_id, f"w-{player_id}")]
    )
    assert reversed_win.balance == Balance("EUR", 700, 0)


async def test_many_players_at_once_share_commits_and_end_as_if_alone() -> None:
    server = shared_server()
    server.flush()
    store = await RedisWalletStore.open(server.url)
    try:
        await asyncio.gather(*(_play(store, f"p{i}") for i in range(PLAYERS)))
        for i in range(PLAYERS):
            player_id = f"p{i}"
            assert await store.balance(player_id) == Balance("EUR", 700, 0)
            history = {r.tx_id: r.status for r in await store.transactions(player_id, limit=20)}
            assert history[f"w-{player_id}"] is TxStatus.ROLLED_BACK
            assert history[f"never-{player_id}"] is TxStatus.TOMBSTONE
            assert history[f"big-{player_id}"] is TxStatus.REFUSED
            assert await store.get_round("prov", f"r2-{player_id}") is None  # claim released
        steps, calls = store.grouped
    finally:
        await store.close()
    assert steps >= PLAYERS * 2  # bets and wins (a group's first step reserves seqs alone)
    assert calls <= steps // 4, f"{steps} steps in {calls} calls"
    report = verify_redis_wallet(server.url)
    assert report.ok, report.lines()
