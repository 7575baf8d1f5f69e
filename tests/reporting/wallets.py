"""A real wallet file (written by the real `SqliteWalletStore`) and its reporting file,
relayed by the real relay: the two sides reconciliation and the export read."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from adapters.reporting.open import open_reporting_store
from adapters.reporting.wallet_sqlite_reader import SqliteWalletLog
from adapters.stores.sqlite_store import SqliteWalletStore
from core.reporting.wallet_log import WalletLog
from gateway.relay import Relay
from tests.conftest import FakeClock
from tests.relay.ledger import history, seed

__all__ = ["WALLET_FILE", "relay_into", "written_wallet"]

WALLET_FILE = "wallet.db"


def written_wallet(
    data_dir: Path, rounds: int = 80, seed_n: int = 13, start_s: float = 1_800_000_000.0
) -> Path:
    """`data_dir/wallet.db` after a random history; the clock moves 7 minutes per
    command group from `start_s`, so the history spans several UTC days and sessions."""
    clock = FakeClock(start_s)

    def micros() -> int:
        clock.advance(420.0)
        return clock.micros()

    async def write() -> Path:
        wallet = await SqliteWalletStore.open(data_dir / WALLET_FILE, clock_us=micros)
        try:
            await seed(wallet)
            await history(wallet, random.Random(seed_n), rounds)
        finally:
            await wallet.close()
        return wallet.path

    return asyncio.run(write())


def relay_into(wallet: Path, reporting_dir: Path) -> Path:
    """The whole wallet relayed into the default DuckDB file under `reporting_dir`."""

    async def relay() -> None:
        store = await open_reporting_store("", reporting_dir)

        async def open_wallet() -> WalletLog:
            return await SqliteWalletLog.open(wallet)

        relay = Relay(open_wallet, store, lambda key: None, batch_seqs_max=50,
                      poll_interval_s=0.01)  # fmt: skip
        try:
            await relay.drain()
        finally:
            await relay.close()
            await store.close()

    asyncio.run(relay())
    return reporting_dir / "reporting.duckdb"
