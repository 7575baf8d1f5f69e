"""A job across cluster slots whose process dies midway is undone or finished, never half.

A job naming two players in different slots commits in phases (`redis_multislot`):
intent, locks, commit point, parts. The process "dies" (its connection fails) at the
two places that matter: just before the commit point (the step must be undone: nothing
moved) and after the first part was applied (the step must be finished: both moved,
once). The next call on a locked player, once the lock is stale, recovers it; then the
job's retry is a replay, and `verify` passes.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.crc import key_slot

from adapters.stores import redis_multislot, redis_store
from adapters.stores.redis_functions import Functions
from adapters.stores.redis_keys import player_keys
from adapters.stores.redis_link import LinkError
from adapters.stores.redis_lua import STEP_STATE
from adapters.stores.redis_store import RedisWalletStore
from adapters.stores.redis_verify import verify_redis_wallet
from core.errors import StorageUnavailable
from core.model import Balance, Deposit
from core.wallet.records import PlayerRecord
from tests.redis_servers import shared_cluster

pytestmark = pytest.mark.redis

ANN, BOB = "ann", "bob"
JOB = [Deposit("d-ann", ANN, "EUR", 100), Deposit("d-bob", BOB, "EUR", 200)]


@pytest.fixture
async def store(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RedisWalletStore]:
    assert key_slot(player_keys(ANN).player.encode()) != key_slot(player_keys(BOB).player.encode())
    monkeypatch.setattr(redis_store, "LOCK_STALE_S", 0.0)  # any lock found is abandoned
    cluster = shared_cluster()
    cluster.flush()
    opened = await RedisWalletStore.open(cluster.url)
    try:
        for player_id in (ANN, BOB):
            await opened.create_player(
                PlayerRecord(player_id, "demo", "MT", "EUR", datetime.date(1990, 1, 1))
            )
        yield opened
    finally:
        await opened.close()


async def _balances(store: RedisWalletStore) -> tuple[Balance, Balance]:
    return await store.balance(ANN), await store.balance(BOB)


async def _deposited(store: RedisWalletStore) -> list[int]:
    """Each player's deposits as their play figures count them."""
    return [(await store.figures(player_id)).deposited_total_minor for player_id in (ANN, BOB)]


async def test_a_job_that_dies_before_its_commit_point_is_undone(
    store: RedisWalletStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_call = Functions.call

    async def dies_at_the_commit_point(self: Functions, name: str, *args: Any, **kw: Any) -> Any:
        if name == STEP_STATE and args[1][1] == redis_multislot.COMMITTED:
            raise LinkError("the process died")
        return await real_call(self, name, *args, **kw)

    with monkeypatch.context() as patched:
        patched.setattr(Functions, "call", dies_at_the_commit_point)
        with pytest.raises(StorageUnavailable):
            await store.apply(JOB)
    assert await _balances(store) == (Balance("EUR", 0, 0), Balance("EUR", 0, 0))
    await store.apply([Deposit("d-ann-2", ANN, "EUR", 5)])  # finds the lock, undoes the job
    assert await _balances(store) == (Balance("EUR", 5, 0), Balance("EUR", 0, 0))
    outcomes = await store.apply(JOB)  # the provider's retry: applied now, once
    assert [outcome.replay for outcome in outcomes] == [False, False]
    assert await _balances(store) == (Balance("EUR", 105, 0), Balance("EUR", 200, 0))
    assert await _deposited(store) == [105, 200]
    report = verify_redis_wallet(shared_cluster().url)
    assert report.ok, report.lines()


async def test_a_job_that_dies_after_its_first_part_is_finished(
    store: RedisWalletStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_apply = redis_multislot._apply_locked

    async def dies_after_one_part(functions: Functions, parts: list[dict[str, Any]]) -> None:
        await real_apply(functions, parts[:1])
        raise LinkError("the process died")

    with monkeypatch.context() as patched:
        patched.setattr(redis_multislot, "_apply_locked", dies_after_one_part)
        with pytest.raises(StorageUnavailable):
            await store.apply(JOB)
    one_moved = await _balances(store)
    assert sorted(balance.real_minor for balance in one_moved) in ([0, 100], [0, 200])
    for player_id in (ANN, BOB):  # the locked one finds its lock and finishes the job
        await store.apply([Deposit(f"d-{player_id}-2", player_id, "EUR", 5)])
    assert await _balances(store) == (Balance("EUR", 105, 0), Balance("EUR", 205, 0))
    outcomes = await store.apply(JOB)  # the provider's retry: the stored answers
    assert [outcome.replay for outcome in outcomes] == [True, True]
    assert await _balances(store) == (Balance("EUR", 105, 0), Balance("EUR", 205, 0))
    assert await _deposited(store) == [105, 205]  # each part's figures with its balance
    report = verify_redis_wallet(shared_cluster().url)
    assert report.ok, report.lines()
