"""Betby's settlements name no player: on a Redis wallet they still find the bet's.

Every protocol sends the player on a bet; Betby's win, lost, refund and rollback carry
only `bet_transaction_id` (its `ext_player_id` is optional). The adapter finds the
player through the bet's round (`round_transactions(provider, bet_transaction_id)`),
which on Redis is the round's claim (`gg:claim:round:*`, naming its owner) and then
the owner's round index. The F5 vector must answer the same bytes as on SQLite.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from adapters.providers.betby import BetbyAdapter, demo_secrets
from adapters.stores.redis_store import RedisWalletStore
from core.model import Deposit
from core.money import CurrencyTable
from core.service import WalletService
from core.wallet.records import PlayerRecord, SessionRecord
from tests.adapters.test_betby import (
    BET,
    F5_MAKE_ANSWER,
    F5_MAKE_CLAIMS,
    F5_WIN_ANSWER,
    F5_WIN_CLAIMS,
    INSTANCE,
    Betby,
    _context,
    _settle,
)
from tests.conftest import FakeClock
from tests.redis_servers import shared_cluster, shared_server

pytestmark = pytest.mark.redis


@pytest.fixture(params=["redis", "cluster"])
async def redis_store(
    request: pytest.FixtureRequest, clock: FakeClock
) -> AsyncIterator[RedisWalletStore]:
    servers = shared_server() if request.param == "redis" else shared_cluster()
    servers.flush()
    store = await RedisWalletStore.open(servers.url, clock_us=clock.micros)
    try:
        yield store
    finally:
        await store.close()


async def test_the_f5_win_and_a_rollback_find_their_player_on_a_redis_wallet(
    redis_store: RedisWalletStore, clock: FakeClock, tmp_path: Path
) -> None:
    store = redis_store
    await store.create_player(PlayerRecord("p-7", "demo", "MT", "USD", datetime.date(1990, 1, 1)))
    await store.apply([Deposit("seed-p-7", "p-7", "USD", 10_000)])
    await store.create_session(
        SessionRecord("s-9", "p-7", INSTANCE, "demo-game", "USD", clock.micros() + 10**9, 0)
    )
    service = WalletService(store, CurrencyTable(), clock.micros)
    secrets = demo_secrets()
    betby = Betby(
        BetbyAdapter(_context(service, clock, tmp_path, secrets)),
        secrets["provider_private_key"],
        clock,
    )

    make = await betby.send_claims("bet/make", F5_MAKE_CLAIMS)
    win = await betby.send_claims("bet/win", F5_WIN_CLAIMS)
    rollback = await betby.call("bet/rollback", _settle("rollback", "rb-1", bet=BET))

    assert (make.status, make.body) == (200, F5_MAKE_ANSWER)
    assert (win.status, win.body, win.player_id) == (200, F5_WIN_ANSWER, "p-7")
    assert rollback.status == 200
    assert orjson.loads(rollback.body)["user_id"] == "p-7"
    assert orjson.loads(rollback.body)["balance"] == 9_900
    assert (await store.balance("p-7")).total_minor == 9_900
