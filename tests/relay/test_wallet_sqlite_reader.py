"""The SQLite wallet reader on real wallet files written by `SqliteWalletStore`: the
committed log in dense batches with the facts its events need, read while the wallet is
being written, never written to."""

from __future__ import annotations

import asyncio
import itertools
import random
import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.reporting.wallet_logs import (
    WalletLogUnsupported,
    open_wallet_log,
    unsupported_reason,
)
from adapters.reporting.wallet_sqlite_reader import SqliteWalletLog, WalletLogGap
from adapters.stores.sqlite_store import SqliteWalletStore
from core.model import Credit, Debit, Rollback, TxKind, TxStatus
from core.reporting.derive import derive
from core.reporting.events import EventKind
from core.reporting.wallet_log import PlayerFacts, RefFacts, WalletBatch
from tests.conftest import FakeClock
from tests.relay.ledger import PLAYERS, history, seed
from tests.relay.reopening import assert_reopened, play_reopening

P = "prov"


@pytest.fixture
async def wallet(tmp_path: Path, clock: FakeClock) -> AsyncIterator[SqliteWalletStore]:
    store = await SqliteWalletStore.open(tmp_path / "wallet.db", clock_us=clock.micros)
    try:
        await seed(store)
        yield store
    finally:
        await store.close()


async def _read_all(log: SqliteWalletLog, seqs_max: int) -> list[WalletBatch]:
    batches, cursor = [], 0
    while (batch := await log.read(cursor, seqs_max)).records:
        batches.append(batch)
        cursor = batch.through_seq
    return batches


def _txs(path: Path) -> list[tuple[int, str, int]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT seq, tx_id, created_at_us FROM txs ORDER BY seq").fetchall()


async def test_batches_tile_the_committed_log_and_carry_the_facts(
    wallet: SqliteWalletStore, clock: FakeClock
) -> None:
    rng = random.Random(7)
    for _ in range(40):
        await history(wallet, rng, 1, tag=str(rng.random()))
        clock.advance(0.5)
    log = await SqliteWalletLog.open(wallet.path)
    try:
        batches = await _read_all(log, 7)
        again = await log.read(batches[-1].through_seq, 7)
    finally:
        await log.close()
    txs = _txs(wallet.path)
    records = [r for batch in batches for r in batch.records]
    assert [(r.seq, r.tx_id, r.created_at_us) for r in records] == txs
    assert all(len(b.records) == 7 for b in batches[:-1])
    for batch, following in itertools.pairwise(batches):
        assert batch.through_seq == batch.records[-1].seq
        assert batch.next_at_us == following.records[0].created_at_us
        assert batch.last_seq == len(txs)
    assert batches[-1].next_at_us is None
    assert (len(again.records), again.through_seq, again.last_seq) == (0, len(txs), len(txs))
    players = {p.player_id: PlayerFacts(p.brand, p.jurisdiction, p.currency) for p in PLAYERS}
    for batch in batches:
        assert dict(batch.players) == {r.player_id: players[r.player_id] for r in batch.records}
        played = {
            (r.provider, r.round_id)
            for r in batch.records
            if r.kind in (TxKind.DEBIT, TxKind.CREDIT) and r.status is TxStatus.APPLIED
        }
        named = {(r.provider, r.round_id) for r in batch.records if r.round_id is not None}
        assert played <= set(batch.rounds) <= named  # a tombstone's round may not exist
        assert all(facts.game_id in ("g-slot", "g-live") for facts in batch.rounds.values())


async def test_the_facts_of_settlements_rollbacks_and_tombstones(
    wallet: SqliteWalletStore,
) -> None:
    def bet(tx_id: str, round_id: str = "r1") -> Debit:
        return Debit(P, tx_id, "p-eur", "EUR", 100, round_id, "g-slot")

    await wallet.apply([bet("b1")])
    await wallet.apply([bet("b2")])
    await wallet.apply([bet("b3")])
    await wallet.apply([Rollback(P, "rb3", "p-eur", "b3")])
    await wallet.apply([Credit(P, "w", "p-eur", "EUR", 500, "r1", "g-slot")])  # the round's
    await wallet.apply([Rollback(P, "rb-early", "p-eur", "late", "r2")])
    await wallet.apply([Credit(P, "w2", "p-eur", "EUR", 50, "r3", "g-live", ref_tx_id="b9",
                               requires_bet=False)])  # fmt: skip
    log = await SqliteWalletLog.open(wallet.path)
    try:
        (batch,) = await _read_all(log, 1_000)
    finally:
        await log.close()
    seqs = {r.tx_id: r.seq for r in batch.records}
    round1 = batch.rounds[(P, "r1")]
    assert round1.settled_before_seq == seqs["w"]
    assert round1.bets == ((seqs["b1"], "b1"), (seqs["b2"], "b2"))  # b3 was rolled back
    assert round1.round_credits == ((seqs["w"], "win"),)
    assert batch.refs[(P, "b3")] == RefFacts(seqs["b3"], TxKind.DEBIT, TxStatus.ROLLED_BACK)
    assert batch.refs[(P, "late")] == RefFacts(
        seqs["late"], TxKind.DEBIT, TxStatus.TOMBSTONE, "rb-early"
    )
    assert (P, "b9") not in batch.refs
    events = derive(batch, {}, lambda key: None).events
    shown = [(e.seq, e.part, e.kind, e.tx_id, e.ref_seq) for e in events if e.seq >= seqs["b3"]]
    assert shown == [
        (seqs["b3"], 0, EventKind.BET, "b3", None),
        (seqs["rb3"], 0, EventKind.ROLLBACK, "rb3", seqs["b3"]),
        (seqs["rb3"], 1, EventKind.ROLLED_BACK, "b3", seqs["b3"]),
        (seqs["w"], 0, EventKind.WIN, "w", None),
        (seqs["w"], 1, EventKind.SETTLED, "b1", seqs["b1"]),
        (seqs["w"], 2, EventKind.SETTLED, "b2", seqs["b2"]),
        (seqs["rb-early"], 0, EventKind.ROLLBACK, "rb-early", seqs["late"]),
        (seqs["late"], 0, EventKind.ROLLED_BACK, "late", seqs["late"]),
        (seqs["w2"], 0, EventKind.WIN, "w2", None),
    ]


async def test_the_rollback_of_a_win_reopens_its_bet(wallet: SqliteWalletStore) -> None:
    await play_reopening(wallet, "p-eur", "EUR")
    log = await SqliteWalletLog.open(wallet.path)
    try:
        (batch,) = await _read_all(log, 1_000)
    finally:
        await log.close()
    assert_reopened(batch)


async def test_reads_a_consistent_committed_log_while_the_wallet_is_written(
    wallet: SqliteWalletStore,
) -> None:
    writing = asyncio.create_task(history(wallet, random.Random(3), 300))
    log = await SqliteWalletLog.open(wallet.path)
    seen: list[int] = []
    try:
        cursor = 0
        while True:
            done = writing.done()
            batch = await log.read(cursor, 50)
            seen += [r.seq for r in batch.records]
            assert batch.through_seq <= batch.last_seq
            cursor = batch.through_seq
            if done and not batch.records:
                break
            await asyncio.sleep(0.001)
    finally:
        await log.close()
    await writing
    assert seen == list(range(1, len(_txs(wallet.path)) + 1))


async def test_never_writes_to_the_wallet_file(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "wallet.db"
    store = await SqliteWalletStore.open(path, clock_us=clock.micros)
    await seed(store)
    await store.close()
    path.chmod(0o444)
    log = await SqliteWalletLog.open(path)
    try:
        (batch,) = await _read_all(log, 100)
        assert len(batch.records) == 2 * len(PLAYERS)
    finally:
        await log.close()


async def test_a_gap_in_the_log_stops_the_reader_there(
    wallet: SqliteWalletStore, tmp_path: Path
) -> None:
    copy = tmp_path / "gap.db"
    await wallet.close()
    shutil.copy(wallet.path, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("DELETE FROM txs WHERE seq = 3")
    log = await SqliteWalletLog.open(copy)
    try:
        assert len((await log.read(0, 2)).records) == 2
        with pytest.raises(WalletLogGap, match="seqs 3-4"):
            await log.read(2, 2)
    finally:
        await log.close()


async def test_no_wallet_or_another_schema_cannot_be_opened(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.OperationalError):
        await SqliteWalletLog.open(tmp_path / "none.db")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '5')")
    with pytest.raises(RuntimeError, match="schema version 5"):
        await SqliteWalletLog.open(other)


async def test_the_reader_is_chosen_by_the_wallet_url(wallet: SqliteWalletStore) -> None:
    assert unsupported_reason("") is None
    assert unsupported_reason("sqlite:wallet.db") is None
    assert unsupported_reason("redis://127.0.0.1:6379/0") is None
    assert unsupported_reason("redis+cluster://127.0.0.1:7000") is None
    assert unsupported_reason("memory:") == (
        "the relay cannot read a memory wallet (only sqlite, redis and redis+cluster)"
    )
    with pytest.raises(WalletLogUnsupported):
        await open_wallet_log("memory:", data_dir=wallet.path.parent)
    log = await open_wallet_log("", data_dir=wallet.path.parent)
    try:
        assert log.describe() == f"sqlite {wallet.path} (read-only)"
        assert (await log.read(0, 1)).last_seq == 2 * len(PLAYERS)
    finally:
        await log.close()
