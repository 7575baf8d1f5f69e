"""The relay end to end, wallet file to DuckDB file: the reporting store ends equal to
the ledger, whatever the batch size and however the work is split; failures are
logged, counted and retried; lag and counts show on `/metrics`."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from adapters.reporting.open import open_reporting_store
from adapters.reporting.wallet_sqlite_reader import SqliteWalletLog
from adapters.stores.sqlite_store import SqliteWalletStore
from core.reporting.wallet_log import WalletBatch, WalletLog
from gateway.relay import Relay, RelayCollector, RelayStats, running, wait_after_step_s
from tests.conftest import FakeClock
from tests.relay.ledger import assert_matches_ledger, history, relay_of, seed


@pytest.mark.parametrize("batch_seqs_max", [7, 5_000])
async def test_the_reporting_store_ends_equal_to_the_ledger(
    tmp_path: Path, clock: FakeClock, batch_seqs_max: int
) -> None:
    wallet = await SqliteWalletStore.open(tmp_path / "wallet.db", clock_us=clock.micros)
    reporting = await open_reporting_store("", tmp_path)
    relay = relay_of(f"sqlite://{wallet.path}", reporting, batch_seqs_max)
    try:
        await seed(wallet)
        rng = random.Random(batch_seqs_max)
        for part in range(3):  # relayed in parts: balances carry over between batches
            await history(wallet, rng, 60, tag=f"{part}-")
            await relay.drain()
        assert relay.stats.lag_seqs == 0
        assert relay.stats.lag_s(clock.micros()) == 0
    finally:
        await relay.close()
        await reporting.close()
        await wallet.close()
    events = assert_matches_ledger(wallet.path, tmp_path / "reporting.duckdb")
    assert relay.stats.events_total == events


async def test_relayed_while_the_wallet_is_written(tmp_path: Path, clock: FakeClock) -> None:
    wallet = await SqliteWalletStore.open(tmp_path / "wallet.db", clock_us=clock.micros)
    reporting = await open_reporting_store("", tmp_path)
    relay = relay_of(f"sqlite://{wallet.path}", reporting, 40)
    try:
        await seed(wallet)
        async with running(relay):
            await history(wallet, random.Random(5), 200)
            for _ in range(500):
                if relay.stats.cursor == relay.stats.last_seq and relay.stats.last_seq > 200:
                    break
                await asyncio.sleep(0.01)
        await relay.drain()
    finally:
        await reporting.close()
        await wallet.close()
    assert_matches_ledger(wallet.path, tmp_path / "reporting.duckdb")


class FlakyLog:
    """A wallet log that fails its first reads."""

    def __init__(self, inner: WalletLog, failures: int) -> None:
        self._inner = inner
        self.failures = failures
        self.closed = 0

    async def read(
        self, after_seq: int, seqs_max: int, positions: Mapping[str, str] | None = None
    ) -> WalletBatch:
        if self.failures:
            self.failures -= 1
            raise OSError("disk on fire")
        return await self._inner.read(after_seq, seqs_max, positions)

    def describe(self) -> str:
        return "flaky"

    async def close(self) -> None:
        self.closed += 1


async def test_failures_are_counted_and_retried_with_a_fresh_reader(
    tmp_path: Path, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    wallet = await SqliteWalletStore.open(tmp_path / "wallet.db", clock_us=clock.micros)
    reporting = await open_reporting_store("", tmp_path)
    inner = await SqliteWalletLog.open(wallet.path)
    flaky = FlakyLog(inner, failures=3)
    opened: list[FlakyLog] = []

    async def open_wallet() -> WalletLog:
        opened.append(flaky)
        return flaky

    relay = Relay(open_wallet, reporting, lambda key: None, batch_seqs_max=100,
                  poll_interval_s=0.005)  # fmt: skip
    try:
        await seed(wallet)
        async with running(relay):
            for _ in range(400):
                if relay.stats.last_seq and relay.stats.cursor == relay.stats.last_seq:
                    break
                await asyncio.sleep(0.01)
        assert relay.stats.failures_total == 3
        assert relay.stats.cursor == relay.stats.last_seq == 6
        assert (len(opened), flaky.closed) == (4, 4)  # a fresh reader after each failure
    finally:
        await inner.close()
        await reporting.close()
        await wallet.close()


def test_lag_and_counts_are_read_at_scrape_time() -> None:
    stats = RelayStats(events_total=12, failures_total=1, cursor=40, last_seq=100,
                       oldest_at_us=1_000_000)  # fmt: skip
    registry = CollectorRegistry()
    registry.register(RelayCollector(stats, lambda: 3_500_000))
    text = generate_latest(registry).decode()
    for line in (
        "gamegate_relay_lag_seqs 60.0",
        "gamegate_relay_lag_seconds 2.5",
        "gamegate_relay_events_total 12.0",
        "gamegate_relay_failures_total 1.0",
    ):
        assert line in text
    stats.cursor, stats.oldest_at_us = 100, None
    text = generate_latest(registry).decode()
    assert "gamegate_relay_lag_seqs 0.0" in text
    assert "gamegate_relay_lag_seconds 0.0" in text


@pytest.mark.parametrize(
    ("relayed", "took_s", "wait_s"),
    [
        (0, 0.01, 0.2),  # caught up: poll
        (100, 0.5, 0.0),  # a full batch: behind, go on at once
        (10, 0.1, 0.4),  # keeping pace: one transaction per step interval
        (10, 0.7, 0.0),  # a slow step already took the interval
    ],
)
def test_the_relay_waits_so_a_transaction_carries_more_records(
    relayed: int, took_s: float, wait_s: float
) -> None:
    waited = wait_after_step_s(
        relayed, took_s, batch_seqs_max=100, poll_interval_s=0.2, step_interval_s=0.5
    )
    assert waited == pytest.approx(wait_s)
