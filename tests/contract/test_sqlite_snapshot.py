"""The SQLite store's snapshots of derived state: balances and per-player chains across
restarts with part of the log not yet snapshotted, and the migration of a version 2
file (which wrote balances with every commit and had a `(player_id, seq)` index)."""

from __future__ import annotations

import datetime
import sqlite3
from pathlib import Path

from adapters.stores.sqlite_schema import SCHEMA_VERSION, SNAPSHOT_SEQ_KEY, meta_int
from adapters.stores.sqlite_store import SqliteWalletStore
from adapters.stores.sqlite_verify import verify_wallet
from core.model import Debit, Deposit
from core.wallet.records import PlayerRecord
from tests.conftest import FakeClock
from tests.contract.wallet_files import downgrade_to_version_3


def _player(player_id: str) -> PlayerRecord:
    return PlayerRecord(player_id, "demo", "MT", "EUR", datetime.date(1990, 1, 1))


def _bet(player_id: str, tx_id: str, amount: int = 1) -> Debit:
    return Debit("prov", tx_id, player_id, "EUR", amount, f"r-{tx_id}", "g")


def _snapshot_seq(path: Path) -> int | None:
    with sqlite3.connect(path) as conn:
        return meta_int(conn, SNAPSHOT_SEQ_KEY)


def _stored_balances(path: Path) -> dict[str, int]:
    """The `accounts` rows (the snapshot), by account."""
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT account, balance_minor FROM accounts").fetchall())


async def _play(store: SqliteWalletStore, bets: int) -> None:
    """Two players, funded, then `bets` bets each, interleaved one by one."""
    for player_id in ("p1", "p2"):
        await store.create_player(_player(player_id))
        await store.apply([Deposit(f"d-{player_id}", player_id, "EUR", 10_000)])
    for index in range(bets):
        for player_id in ("p1", "p2"):
            await store.apply([_bet(player_id, f"{player_id}-b{index}")])


async def _pages(store: SqliteWalletStore, player_id: str, limit: int) -> list[list[str]]:
    """Every page of a player's history, following each page's last seq as the cursor."""
    pages: list[list[str]] = []
    before: int | None = None
    while page := await store.transactions(player_id, limit=limit, before_seq=before):
        pages.append([record.tx_id for record in page])
        before = page[-1].seq
    return pages


def _logged(path: Path, player_id: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT tx_id FROM txs WHERE player_id = ? ORDER BY seq DESC", (player_id,)
        ).fetchall()
    return [tx_id for (tx_id,) in rows]


async def test_history_pages_through_the_chain_after_a_restart_with_an_unwritten_tail(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "wallet.db"
    store = await SqliteWalletStore.open(path, clock_us=clock.micros, snapshot_txs_min=5)
    try:
        await _play(store, bets=6)
    finally:
        await store.close()
    assert (
        0 < (_snapshot_seq(path) or 0) < 14
    )  # some heads written in bulk, the last few only in the log

    store = await SqliteWalletStore.open(path, clock_us=clock.micros)
    try:
        pages = await _pages(store, "p1", limit=3)
        await store.apply([_bet("p1", "p1-late")])
        newest = await store.transactions("p1", limit=1)
    finally:
        await store.close()
    assert pages == [["p1-b5", "p1-b4", "p1-b3"], ["p1-b2", "p1-b1", "p1-b0"], ["d-p1"]]
    assert [record.tx_id for record in newest] == ["p1-late"]
    assert verify_wallet(path).ok


async def test_balances_after_a_restart_add_the_entries_after_the_snapshot(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "wallet.db"
    store = await SqliteWalletStore.open(path, clock_us=clock.micros, snapshot_txs_min=5)
    try:
        await _play(store, bets=4)  # seqs 1-10; snapshots after seqs 5 and 10
        await store.apply([_bet("p1", "after-1", 7)])
        await store.apply([_bet("p2", "after-2", 30)])
    finally:
        await store.close()
    stored = _stored_balances(path)
    assert stored["player:p1:real"] == 10_000 - 4  # as of the snapshot at seq 10

    store = await SqliteWalletStore.open(path, clock_us=clock.micros)
    try:  # the two bets after the snapshot are read back from the log
        assert (await store.balance("p1")).real_minor == 10_000 - 4 - 7
        assert (await store.balance("p2")).real_minor == 10_000 - 4 - 30
    finally:
        await store.close()
    assert verify_wallet(path).ok

    store = await SqliteWalletStore.open(path, clock_us=clock.micros, snapshot_txs_min=1)
    try:  # the next commit writes a snapshot of everything
        await store.apply([_bet("p1", "after-3", 100)])
        assert (await store.balance("p1")).real_minor == 10_000 - 4 - 7 - 100
    finally:
        await store.close()
    stored = _stored_balances(path)
    assert (stored["player:p1:real"], stored["player:p2:real"]) == (9_889, 9_966)
    report = verify_wallet(path)
    assert report.ok, report.lines()


async def test_a_cursor_from_another_players_history_still_pages_by_seq(
    tmp_path: Path, clock: FakeClock
) -> None:
    store = await SqliteWalletStore.open(tmp_path / "wallet.db", clock_us=clock.micros)
    try:
        await _play(store, bets=3)
        [p2_bet] = await store.transactions("p2", limit=1, before_seq=None)
        page = await store.transactions("p1", limit=10, before_seq=p2_bet.seq)
    finally:
        await store.close()
    assert p2_bet.tx_id == "p2-b2"
    assert [record.tx_id for record in page] == ["p1-b2", "p1-b1", "p1-b0", "d-p1"]


async def test_a_player_without_transactions_has_an_empty_history(
    tmp_path: Path, clock: FakeClock
) -> None:
    store = await SqliteWalletStore.open(tmp_path / "wallet.db", clock_us=clock.micros)
    try:
        await store.create_player(_player("p9"))
        assert await store.transactions("p9", limit=10) == []
        assert await store.transactions("nobody", limit=10) == []
    finally:
        await store.close()


def _downgrade_to_version_2(path: Path) -> None:
    """The file as schema version 2 left it: no chain column or heads, the player index,
    and balances current with every commit (and what version 3 kept of version 2)."""
    downgrade_to_version_3(path)
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            DELETE FROM accounts;
            INSERT INTO accounts SELECT account, currency, SUM(amount_minor) FROM entries
                GROUP BY account, currency HAVING SUM(amount_minor) != 0;
            ALTER TABLE txs DROP COLUMN prev_player_seq;
            DROP TABLE player_heads;
            DELETE FROM meta WHERE key = 'snapshot_through_seq';
            CREATE INDEX txs_by_player ON txs (player_id, seq);
            UPDATE meta SET value = '2' WHERE key = 'schema_version';
            """
        )


async def test_a_version_2_file_is_migrated_in_place_on_open(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "wallet.db"
    store = await SqliteWalletStore.open(path, clock_us=clock.micros)
    try:
        await _play(store, bets=4)
    finally:
        await store.close()
    _downgrade_to_version_2(path)

    store = await SqliteWalletStore.open(path, clock_us=clock.micros)
    try:
        pages = await _pages(store, "p2", limit=2)
        await store.apply([_bet("p2", "p2-late")])
        newest = await store.transactions("p2", limit=2)
    finally:
        await store.close()

    assert [tx_id for page in pages for tx_id in page] == _logged(path, "p2")[1:]
    assert [record.tx_id for record in newest] == ["p2-late", "p2-b3"]
    with sqlite3.connect(path) as conn:
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        indexes = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        heads = dict(conn.execute("SELECT player_id, last_seq FROM player_heads").fetchall())
    assert version == (str(SCHEMA_VERSION),)
    assert "txs_by_player" not in indexes
    assert heads == {"p1": 9, "p2": 10}  # as of the migration; the late bet is in the tail
    report = verify_wallet(path)
    assert report.ok, report.lines()


async def test_a_snapshot_comes_sooner_once_enough_rows_wait(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Many players active: the rows waiting, not the transactions, set the pace."""
    path = tmp_path / "wallet.db"
    store = await SqliteWalletStore.open(
        path, clock_us=clock.micros, snapshot_txs_min=1_000, snapshot_rows_max=6
    )
    try:
        # by seq 3 (two deposits, p1's bet) 2 heads and 4 balances moved: 6 rows wait
        await _play(store, bets=1)
    finally:
        await store.close()
    assert _snapshot_seq(path) == 3  # p2's bet (seq 4) is after the snapshot
    assert _stored_balances(path) == {
        "house:cashier": -20_000,
        "house:provider:prov": 1,
        "player:p1:real": 9_999,
        "player:p2:real": 10_000,
    }
    assert verify_wallet(path).ok
