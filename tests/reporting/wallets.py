"""A real wallet (the real `SqliteWalletStore` file, or the session's redis-server written
by the real `RedisWalletStore`) and its reporting file, relayed by the real relay: the
two sides reconciliation and the export read."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path

from adapters.reporting.open import open_reporting_store
from adapters.reporting.wallet_redis_reader import RedisWalletLog
from adapters.reporting.wallet_sqlite_reader import SqliteWalletLog
from adapters.stores.open import open_wallet_store
from adapters.stores.sqlite_store import SqliteWalletStore
from core.reporting.wallet_log import WalletLog
from gateway.relay import Relay
from tests.conftest import FakeClock
from tests.contract.redis_stores import redis_cluster_store, redis_server_store
from tests.redis_servers import shared_cluster, shared_server
from tests.relay.ledger import history, seed

__all__ = [
    "WALLET_FILE",
    "more_redis_history",
    "relay_into",
    "written_redis_wallet",
    "written_wallet",
]

WALLET_FILE = "wallet.db"


def _stepping(start_s: float) -> Callable[[], int]:
    """A clock that moves 7 minutes each time it is read, from `start_s`."""
    clock = FakeClock(start_s)

    def micros() -> int:
        clock.advance(420.0)
        return clock.micros()

    return micros


def written_wallet(
    data_dir: Path, rounds: int = 80, seed_n: int = 13, start_s: float = 1_800_000_000.0
) -> Path:
    """`data_dir/wallet.db` after a random history; the clock moves 7 minutes per
    command group from `start_s`, so the history spans several UTC days and sessions."""
    micros = _stepping(start_s)

    async def write() -> Path:
        wallet = await SqliteWalletStore.open(data_dir / WALLET_FILE, clock_us=micros)
        try:
            await seed(wallet)
            await history(wallet, random.Random(seed_n), rounds)
        finally:
            await wallet.close()
        return wallet.path

    return asyncio.run(write())


def written_redis_wallet(
    directory: Path,
    rounds: int = 80,
    seed_n: int = 13,
    start_s: float = 1_800_000_000.0,
    *,
    cluster: bool = False,
) -> str:
    """The session's redis-server (or cluster), emptied, after the history
    `written_wallet` writes with the same arguments; its URL."""
    factory = redis_cluster_store if cluster else redis_server_store

    async def write() -> None:
        async with factory(directory, _stepping(start_s)) as wallet:
            await seed(wallet)
            await history(wallet, random.Random(seed_n), rounds)

    asyncio.run(write())
    return (shared_cluster() if cluster else shared_server()).url


def more_redis_history(url: str, rounds: int, seed_n: int, start_s: float) -> None:
    """More rounds written into the Redis wallet at `url`, without emptying it."""

    async def write() -> None:
        wallet = await open_wallet_store(url, data_dir=Path("."), clock_us=_stepping(start_s))
        try:
            await history(wallet, random.Random(seed_n), rounds, tag="more-")
        finally:
            await wallet.close()

    asyncio.run(write())


def relay_into(wallet: Path | str, reporting_dir: Path) -> Path:
    """The whole wallet (a file, or a Redis wallet's URL) relayed into the default DuckDB
    file under `reporting_dir`."""

    async def relay() -> None:
        store = await open_reporting_store("", reporting_dir)

        async def open_wallet() -> WalletLog:
            if isinstance(wallet, str):
                return await RedisWalletLog.open(wallet)
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
