"""Concurrent calls on one wallet: no overdraw, and one debit however often a bet is delivered.

Each test runs against every backend and also with a commit per operation, so both the
group-commit path (many debits decided in one transaction) and the one-by-one path are
held to the same answers.
"""

from __future__ import annotations

import asyncio
import datetime
import gc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.errors import GatewayError, InsufficientFunds
from core.model import Balance, Debit, Deposit, TxOutcome
from core.wallet.records import PlayerRecord
from core.wallet.store import WalletStore
from tests.conftest import FakeClock
from tests.contract.stores import CONCURRENCY_STORES, StoreFactory

DEBITS = 64
STAKE_MINOR = 125


@pytest.fixture(params=CONCURRENCY_STORES)
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[WalletStore]:
    factory: StoreFactory = request.param
    async with factory(tmp_path, clock.micros) as opened:
        await opened.create_player(
            PlayerRecord("p1", "demo", "MT", "EUR", datetime.date(1990, 1, 1))
        )
        yield opened


async def _gather(store: WalletStore, debits: list[Debit]) -> list[TxOutcome | GatewayError]:
    async def one(debit: Debit) -> TxOutcome | GatewayError:
        try:
            [outcome] = await store.apply([debit])
        except GatewayError as error:
            return error
        return outcome

    return await asyncio.gather(*(one(debit) for debit in debits))


@pytest.mark.parametrize("affordable", [0, 1, 17, 63, 64])
async def test_concurrent_bets_on_a_wallet_funded_for_k_of_them_let_exactly_k_through(
    store: WalletStore, affordable: int
) -> None:
    if affordable:
        await store.apply([Deposit("d1", "p1", "EUR", affordable * STAKE_MINOR)])
    debits = [
        Debit("prov", f"b{i}", "p1", "EUR", STAKE_MINOR, f"r{i}", "g1") for i in range(DEBITS)
    ]
    answers = await _gather(store, debits)
    accepted = [a for a in answers if isinstance(a, TxOutcome)]
    refused = [a for a in answers if not isinstance(a, TxOutcome)]
    assert len(accepted) == affordable
    assert all(type(error) is InsufficientFunds for error in refused)
    assert all(o.balance.real_minor >= 0 for o in accepted)
    assert sorted(o.balance.real_minor for o in accepted) == [
        STAKE_MINOR * left for left in range(affordable)
    ]
    assert len({o.transaction_id for o in accepted}) == affordable
    assert await store.balance("p1", "EUR") == Balance("EUR", 0, 0)


async def test_fifty_deliveries_of_one_bet_debit_once_and_share_one_transaction_id(
    store: WalletStore,
) -> None:
    await store.apply([Deposit("d1", "p1", "EUR", 1_000)])
    same = Debit("prov", "b1", "p1", "EUR", 300, "r1", "g1")
    answers = await _gather(store, [same] * 50)
    assert all(isinstance(a, TxOutcome) for a in answers), answers
    outcomes = [a for a in answers if isinstance(a, TxOutcome)]
    assert len({o.transaction_id for o in outcomes}) == 1
    assert sum(not o.replay for o in outcomes) == 1
    assert {(o.real_delta_minor, o.bonus_delta_minor) for o in outcomes} == {(-300, 0)}
    assert await store.balance("p1", "EUR") == Balance("EUR", 700, 0)
    history = await store.transactions("p1", limit=10)
    assert [r.tx_id for r in history] == ["b1", "d1"]


async def test_refusals_leave_no_cyclic_garbage_behind(
    store: WalletStore, saved_garbage: list[object]
) -> None:
    """Refusals are everyday traffic (a rollback after settlement, a broke player). If a
    refusal carried its traceback, the frames in it would keep its whole group commit
    (every caller's job, future and outcome) alive until a full collection: memory and
    collector time that grow with the load."""
    await store.apply([Deposit("d1", "p1", "EUR", 3 * STAKE_MINOR)])
    gc.collect()
    saved_garbage.clear()
    for batch in range(5):
        debits = [
            Debit("prov", f"b{batch}-{i}", "p1", "EUR", STAKE_MINOR, f"r{batch}-{i}", "g1")
            for i in range(8)
        ]
        answers = await _gather(store, debits)
        assert sum(isinstance(answer, InsufficientFunds) for answer in answers) >= 5
    gc.collect()
    assert saved_garbage == []
