"""The relay end to end, wallet file to PostgreSQL: the reporting schema ends equal to the
ledger, relayed in parts, with batches small enough that balances carry over."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from adapters.reporting.open import open_reporting_store
from adapters.reporting.wallet_sqlite_reader import SqliteWalletLog
from adapters.stores.sqlite_store import SqliteWalletStore
from core.reporting.wallet_log import WalletLog
from gateway.relay import Relay
from tests.conftest import FakeClock
from tests.postgres_schemas import POSTGRES_URL, fresh_schema
from tests.relay.ledger import assert_matches_ledger, history, seed

BATCH_SEQS_MAX = 7


async def test_the_postgres_store_ends_equal_to_the_ledger(
    tmp_path: Path, clock: FakeClock
) -> None:
    schema = fresh_schema(tmp_path)
    wallet = await SqliteWalletStore.open(tmp_path / "wallet.db", clock_us=clock.micros)
    reporting = await open_reporting_store(POSTGRES_URL, tmp_path, schema=schema)

    async def open_wallet() -> WalletLog:
        return await SqliteWalletLog.open(wallet.path)

    relay = Relay(
        open_wallet,
        reporting,
        lambda key: None,
        batch_seqs_max=BATCH_SEQS_MAX,
        poll_interval_s=0.01,
    )
    try:
        await seed(wallet)
        rng = random.Random(13)
        for part in range(3):
            await history(wallet, rng, 60, tag=f"{part}-")
            await relay.drain()
        assert relay.stats.lag_seqs == 0
    finally:
        await relay.close()
        await reporting.close()
        await wallet.close()
    with psycopg.connect(POSTGRES_URL, autocommit=True) as con:
        con.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(schema)))

        def fetch(query: str) -> list[tuple[Any, ...]]:
            return con.execute(query).fetchall()

        events = assert_matches_ledger(wallet.path, fetch)
    assert relay.stats.events_total == events
