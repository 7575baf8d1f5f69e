"""Reconciling a Redis wallet against a store that lags it: the records written after the
store's positions in the outbox streams are no difference, and once relayed they count.
The reads leave every key of the wallet as it was. On a cluster, the reader finds what
it finds on one server."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pytest

from adapters.reporting.open import open_reporting_store
from adapters.reporting.wallet_redis_ledger import RedisWalletLedger
from core.reporting.store import DaySum
from core.reporting.wallet_ledger import day_window_us
from gateway.cli import main
from tests.redis_servers import shared_server
from tests.reporting.wallets import more_redis_history, relay_into, written_redis_wallet

FIRST, LAST = date(2027, 1, 15), date(2027, 1, 16)
START_S = 1_800_000_000.0


async def _sums(data_dir: Path, url: str) -> tuple[list[DaySum], list[DaySum], Mapping[str, str]]:
    """The store's day sums, the ledger's through the store's positions, the positions."""
    store = await open_reporting_store("", data_dir)
    try:
        positions = await store.positions()
        ours = await store.day_sums(FIRST, LAST)
        cursor = await store.cursor()
    finally:
        await store.close()
    ledger = await RedisWalletLedger.open(url)
    try:
        theirs = await ledger.day_sums(FIRST, LAST, cursor, positions)
    finally:
        await ledger.close()
    return ours, theirs, positions


def _snapshot() -> dict[bytes, bytes | None]:
    """Every key of the session's redis-server and its serialized value."""
    client = shared_server().client()
    try:
        return {key: client.dump(key) for key in client.scan_iter(count=1_000)}
    finally:
        client.close()


def test_what_the_store_has_not_relayed_is_no_difference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = written_redis_wallet(tmp_path / "wallet", rounds=40)
    relay_into(url, tmp_path)
    before, ledger_before, positions = asyncio.run(_sums(tmp_path, url))
    assert positions
    assert before == ledger_before
    more_redis_history(url, 30, seed_n=5, start_s=START_S + 3_600)
    untouched = _snapshot()
    still, ledger_still, _ = asyncio.run(_sums(tmp_path, url))
    assert still == ledger_still == before  # the new records are past the positions
    monkeypatch.setenv("GAMEGATE_WALLET__URL", url)
    argv = ["report", "reconcile", "ledger", f"--data-dir={tmp_path}", f"--from={FIRST}",
            f"--to={LAST}"]  # fmt: skip
    assert main(argv) == 0
    assert _snapshot() == untouched
    relay_into(url, tmp_path)
    after, ledger_after, _ = asyncio.run(_sums(tmp_path, url))
    assert after == ledger_after != before
    assert main(argv) == 0


def test_a_cluster_reads_as_one_server(tmp_path: Path) -> None:
    """The same history on the cluster: the same relayed day sums, ledger equal to them,
    and the same provider transactions as the store booked."""
    url = written_redis_wallet(tmp_path / "wallet", rounds=30, cluster=True)
    relay_into(url, tmp_path)
    ours, theirs, positions = asyncio.run(_sums(tmp_path, url))
    assert positions
    assert ours
    assert ours == theirs

    async def txs() -> int:
        ledger = await RedisWalletLedger.open(url)
        try:
            return len(await ledger.provider_txs("prov", day_window_us(FIRST, LAST), []))
        finally:
            await ledger.close()

    assert asyncio.run(txs()) > 0
