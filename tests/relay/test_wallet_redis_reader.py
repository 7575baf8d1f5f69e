"""The Redis wallet reader and the relay on a real Redis wallet written by
`RedisWalletStore` (one server and a three-master cluster): every record once, each
player's in the order written, positions per group; the reporting file ends equal to the
ledger; a batch applied twice adds nothing."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from adapters.reporting.open import open_reporting_store
from adapters.reporting.wallet_redis_reader import RedisWalletLog, source_of
from adapters.stores.redis_keys import group_of
from core.model import Credit, Debit, Rollback, TxStatus
from core.reporting.derive import balance_keys, derive
from core.wallet.records import TxRecord
from core.wallet.store import WalletStore
from tests.conftest import FakeClock
from tests.contract.redis_stores import redis_cluster_store, redis_server_store
from tests.redis_servers import RedisCluster, RedisServer, shared_cluster, shared_server
from tests.relay.ledger import PLAYERS, assert_matches_redis_ledger, history, relay_of, seed
from tests.relay.reopening import assert_reopened, play_reopening

P = "prov"

SERVERS = [
    pytest.param((redis_server_store, shared_server), id="server"),
    pytest.param((redis_cluster_store, shared_cluster), id="cluster"),
]

Opened = tuple[WalletStore, str]


@pytest.fixture(params=SERVERS)
async def redis_wallet(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Opened]:
    """A seeded Redis wallet (emptied first) and its URL."""
    factory, servers = request.param
    started: Callable[[], RedisServer | RedisCluster] = servers
    async with factory(tmp_path, clock.micros) as store:
        await seed(store)
        yield store, started().url


@contextlib.asynccontextmanager
async def _log(url: str) -> AsyncIterator[RedisWalletLog]:
    log = await RedisWalletLog.open(url)
    try:
        yield log
    finally:
        await log.close()


async def _read_all(log: RedisWalletLog, seqs_max: int) -> list[TxRecord]:
    """Every record, batch after batch, carrying the positions and the high-water mark."""
    positions: dict[str, str] = {}
    cursor = 0
    records: list[TxRecord] = []
    while True:
        batch = await log.read(cursor, seqs_max, positions)
        if not batch.records:
            assert batch.through_seq == cursor
            return records
        assert len(batch.records) <= max(seqs_max, 2)  # an entry is never split
        assert batch.through_seq >= cursor
        assert all(r.seq <= batch.through_seq for r in batch.records)
        assert batch.last_seq >= batch.through_seq
        for source in batch.positions:
            assert source in {source_of(group_of(r.player_id)) for r in batch.records}
        positions.update(batch.positions)
        cursor = batch.through_seq
        records += batch.records


@pytest.mark.parametrize("seqs_max", [1, 5, 5_000])
async def test_every_record_once_each_players_in_order(redis_wallet: Opened, seqs_max: int) -> None:
    wallet, url = redis_wallet
    await history(wallet, random.Random(seqs_max), 40)
    async with _log(url) as log:
        records = await _read_all(log, seqs_max)
    seqs = [r.seq for r in records]
    assert len(seqs) == len(set(seqs)), "a record read twice"
    expected = {r.seq for p in PLAYERS for r in await wallet.transactions(p.player_id, limit=1_000)}
    assert set(seqs) == expected
    for player in PLAYERS:
        own = [r.seq for r in records if r.player_id == player.player_id]
        assert own == sorted(own), "a player's records out of order"


async def test_the_facts_derive_needs(redis_wallet: Opened) -> None:
    wallet, url = redis_wallet
    p = PLAYERS[0]
    pid, cur = p.player_id, p.currency
    await wallet.apply([Debit(P, "b1", pid, cur, 100, "r1", "g-slot")])
    await wallet.apply([Debit(P, "b2", pid, cur, 50, "r1", "g-slot")])
    await wallet.apply([Credit(P, "w1", pid, cur, 300, "r1", "g-slot")])  # round-level
    await wallet.apply([Rollback(P, "rb1", pid, "b9")])  # before its bet: a tombstone
    await wallet.apply([Debit(P, "b3", pid, cur, 10, "r2", "g-live")])
    await wallet.apply([Rollback(P, "rb3", pid, "b3", "r2")])
    async with _log(url) as log:
        batch = await log.read(0, 5_000, {})
    by_tx = {r.tx_id: r for r in batch.records}
    assert batch.players[pid] == (p.brand, p.jurisdiction, p.currency)
    r1 = batch.rounds[(P, "r1")]
    assert r1.game_id == "g-slot"
    assert r1.bets == ((by_tx["b1"].seq, "b1"), (by_tx["b2"].seq, "b2"))
    assert r1.round_credits == ((by_tx["w1"].seq, "win"),)
    assert batch.rounds[(P, "r2")].game_id == "g-live"
    assert batch.refs[(P, "b3")].seq == by_tx["b3"].seq
    assert batch.refs[(P, "b9")].status is TxStatus.TOMBSTONE
    assert batch.positions == {source_of(group_of(r.player_id)): batch.positions[
        source_of(group_of(r.player_id))] for r in batch.records}  # fmt: skip
    events = derive(batch, {}, lambda key: None).events
    settled = {e.tx_id for e in events if e.kind == "settled"}
    assert settled == {"b1", "b2"}
    rolled_back = {e.tx_id for e in events if e.kind == "rolled_back"}
    assert rolled_back == {"b9", "b3"}


async def test_the_rollback_of_a_win_reopens_its_bet(redis_wallet: Opened) -> None:
    wallet, url = redis_wallet
    await play_reopening(wallet, PLAYERS[0].player_id, PLAYERS[0].currency)
    async with _log(url) as log:
        batch = await log.read(0, 5_000, {})
    assert_reopened(batch)


@pytest.mark.parametrize("batch_seqs_max", [7, 5_000])
async def test_the_relay_ends_equal_to_the_ledger(
    redis_wallet: Opened, tmp_path: Path, batch_seqs_max: int
) -> None:
    wallet, url = redis_wallet
    reporting = await open_reporting_store("", tmp_path)
    relay = relay_of(url, reporting, batch_seqs_max)
    try:
        rng = random.Random(batch_seqs_max)
        for part in range(3):  # relayed in parts: balances and positions carry over
            await history(wallet, rng, 40, tag=f"{part}-")
            await relay.drain()
        assert relay.stats.lag_seqs == 0
        assert len(await reporting.positions()) == len({group_of(p.player_id) for p in PLAYERS})
    finally:
        await relay.close()
        await reporting.close()
    events = assert_matches_redis_ledger(url, tmp_path / "reporting.duckdb")
    assert relay.stats.events_total == events


async def test_a_batch_applied_twice_adds_nothing(redis_wallet: Opened, tmp_path: Path) -> None:
    """A crash after `apply` committed but before the relay knew: the step runs again
    on the same batch. And a crash before it committed: the batch is read again."""
    wallet, url = redis_wallet
    await history(wallet, random.Random(3), 30)
    reporting = await open_reporting_store("", tmp_path)
    try:
        async with _log(url) as log:
            read_twice = await log.read(0, 20, {})
            batch = await log.read(0, 20, {})  # nothing applied: the same batch again
            assert batch == read_twice
            before = await reporting.balances(balance_keys(batch))
            derived = derive(batch, before, lambda key: None)
            for _ in range(2):
                await reporting.apply(
                    derived.events, batch.through_seq, derived.balances, batch.positions
                )
            assert await reporting.positions() == batch.positions
            assert await reporting.cursor() == batch.through_seq
        relay = relay_of(url, reporting, 20)
        try:
            await relay.drain()
        finally:
            await relay.close()
    finally:
        await reporting.close()
    assert_matches_redis_ledger(url, tmp_path / "reporting.duckdb")


def _stream_reads(server: RedisServer) -> int:
    """Stream-reading commands the server has answered so far (`INFO commandstats`)."""
    with server.client() as client:
        stats = client.info("commandstats")
    return sum(
        int(stats.get(f"cmdstat_{name}", {}).get("calls", 0))
        for name in ("xread", "xrange", "xrevrange")
    )


async def test_an_idle_poll_of_one_server_is_one_command(tmp_path: Path, clock: FakeClock) -> None:
    async with redis_server_store(tmp_path, clock.micros) as wallet:
        await seed(wallet)
        await history(wallet, random.Random(7), 10)
        server = shared_server()
        async with _log(server.url) as log:
            positions: dict[str, str] = {}
            cursor = 0
            while (batch := await log.read(cursor, 5_000, positions)).records:
                positions.update(batch.positions)
                cursor = batch.through_seq
            assert cursor > 0
            before = _stream_reads(server)
            idle = await log.read(cursor, 5_000, positions)
            assert idle.records == ()
            assert _stream_reads(server) - before == 1  # one XREAD over every group's stream
