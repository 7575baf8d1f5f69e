"""Two writers on one Redis wallet: the version check keeps them from overdrawing or
losing a bet, and a step is never half applied.

Each "process" is a store of its own (its own connections, seq blocks and turns), so
their steps on one player race for real: both read the same version, one commits, the
other's commit is refused and it decides again on the new state. An answer of
`StorageUnavailable` (retries exhausted) is an unknown outcome, resolved the way a
provider would: by sending the same bet again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections.abc import AsyncIterator, Callable

import pytest

from adapters.stores.redis_store import RedisWalletStore
from adapters.stores.redis_verify import verify_redis_wallet
from core.errors import GatewayError, InsufficientFunds, StorageUnavailable
from core.model import Balance, Credit, Debit, Deposit, Rollback, TxOutcome, TxStatus
from core.wallet.records import PlayerRecord
from tests.redis_servers import RedisCluster, RedisServer, shared_cluster, shared_server

pytestmark = pytest.mark.redis

BETS_PER_WRITER = 40
STAKE_MINOR = 100
RETRIES_MAX = 20


@pytest.fixture(params=["redis", "cluster"])
async def writers(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[RedisServer | RedisCluster, RedisWalletStore, RedisWalletStore]]:
    servers: Callable[[], RedisServer | RedisCluster] = (
        shared_server if request.param == "redis" else shared_cluster
    )
    started = servers()
    started.flush()
    async with contextlib.AsyncExitStack() as stack:
        stores = []
        for _ in range(2):
            store = await RedisWalletStore.open(started.url)
            stack.push_async_callback(store.close)
            stores.append(store)
        await stores[0].create_player(
            PlayerRecord("p1", "demo", "MT", "EUR", datetime.date(1990, 1, 1))
        )
        yield started, stores[0], stores[1]


async def _until_known(store: RedisWalletStore, command: Debit) -> TxOutcome | GatewayError:
    """The bet's answer, asking again (same id) while the outcome is unknown."""
    for _ in range(RETRIES_MAX):
        try:
            [outcome] = await store.apply([command])
        except StorageUnavailable:
            continue
        except GatewayError as error:
            return error
        return outcome
    raise AssertionError(f"{command.tx_id}: no known outcome after {RETRIES_MAX} tries")


@pytest.mark.parametrize("affordable", [0, 33, 80])
async def test_two_writers_betting_on_one_player_never_overdraw_and_lose_no_bet(
    writers: tuple[RedisServer | RedisCluster, RedisWalletStore, RedisWalletStore],
    affordable: int,
) -> None:
    servers, first, second = writers
    if affordable:
        await first.apply([Deposit("d1", "p1", "EUR", affordable * STAKE_MINOR)])
    bets = [
        Debit("prov", f"b{i}", "p1", "EUR", STAKE_MINOR, f"r{i}", "g1")
        for i in range(2 * BETS_PER_WRITER)
    ]
    answers = await asyncio.gather(
        *(_until_known(first if i % 2 else second, bet) for i, bet in enumerate(bets))
    )
    accepted = {
        bet.tx_id
        for bet, answer in zip(bets, answers, strict=True)
        if isinstance(answer, TxOutcome)
    }
    assert len(accepted) == affordable
    assert all(
        isinstance(answer, TxOutcome) or type(answer) is InsufficientFunds for answer in answers
    )
    assert first.conflicts_total + second.conflicts_total > 0, "the writers never raced"
    assert await first.balance("p1") == Balance("EUR", 0, 0)
    figures = await second.figures("p1")  # each accepted bet counted once
    assert (figures.day.wagered_minor, figures.day.lost_minor) == (len(accepted) * STAKE_MINOR,) * 2
    history = await second.transactions("p1", limit=1_000)
    taken = [r.tx_id for r in history if r.kind.value == "debit" and r.status is TxStatus.APPLIED]
    assert sorted(taken) == sorted(accepted)  # each accepted bet once, nothing else taken
    seqs = [record.seq for record in history]
    assert seqs == sorted(seqs, reverse=True)
    assert len(set(seqs)) == len(seqs)
    report = verify_redis_wallet(servers.url)
    assert report.ok, report.lines()


async def test_wins_and_rollbacks_from_two_writers_settle_each_bet_once(
    writers: tuple[RedisServer | RedisCluster, RedisWalletStore, RedisWalletStore],
) -> None:
    """The same win or rollback delivered to both writers at once moves money once."""
    servers, first, second = writers
    await first.apply([Deposit("d1", "p1", "EUR", 10_000)])
    for i in range(20):
        await first.apply([Debit("prov", f"b{i}", "p1", "EUR", 100, f"r{i}", "g1")])
    settle = [
        Credit("prov", f"w{i}", "p1", "EUR", 250, f"r{i}", "g1", ref_tx_id=f"b{i}")
        if i % 2
        else Rollback("prov", f"x{i}", "p1", f"b{i}")
        for i in range(20)
    ]

    async def both(store: RedisWalletStore) -> list[list[TxOutcome]]:
        return [await store.apply([command]) for command in settle]

    from_first, from_second = await asyncio.gather(both(first), both(second))
    for [one], [other] in zip(from_first, from_second, strict=True):
        assert one.transaction_id == other.transaction_id
        assert sorted([one.replay, other.replay]) == [False, True]
    # 10 wins of 250 paid, 10 stakes of 100 returned, 20 stakes of 100 taken
    assert await first.balance("p1") == Balance("EUR", 10_000 - 2_000 + 2_500 + 1_000, 0)
    figures = await second.figures("p1")
    assert (figures.day.wagered_minor, figures.day.lost_minor) == (2_000 - 1_000, 1_000 - 2_500)
    assert verify_redis_wallet(servers.url).ok
