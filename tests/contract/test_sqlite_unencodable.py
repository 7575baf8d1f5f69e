"""A string SQLite cannot encode (a lone surrogate, as a non-UTF-8 byte decodes in
aiohttp) fails its own call and leaves the writer serving everyone else."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from adapters.stores.sqlite_store import SqliteWalletStore
from core.model import Debit, Deposit
from core.wallet.records import PlayerRecord
from tests.conftest import FakeClock

SURROGATE_PLAYER = "p\udcff"


@pytest.mark.parametrize(
    "command",
    [
        Debit("prov", "b1", SURROGATE_PLAYER, "EUR", 100, "r1", "g"),
        Debit("prov", "b\udcff", "p1", "EUR", 100, "r1", "g"),
        Deposit("d\udcff", "p1", "EUR", 100),
    ],
    ids=["player id", "transaction id", "cashier key"],
)
async def test_an_unencodable_key_fails_alone_and_the_writer_goes_on(
    tmp_path: Path, clock: FakeClock, command: Debit | Deposit
) -> None:
    store = await SqliteWalletStore.open(tmp_path / "wallet.db", clock_us=clock.micros)
    try:
        await store.create_player(
            PlayerRecord("p1", "demo", "MT", "EUR", datetime.date(1990, 1, 1))
        )
        with pytest.raises(UnicodeEncodeError):
            await store.apply([command])
        [outcome] = await store.apply([Deposit("d1", "p1", "EUR", 500)])
        assert outcome.balance.real_minor == 500
    finally:
        await store.close()
