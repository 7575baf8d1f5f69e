"""Rollbacks that move nothing (refused, or arriving before their bet) are stored in the
player's currency, so every record renders; files written before that are repaired."""

from __future__ import annotations

import contextlib
import datetime
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.stores.sqlite_schema import SCHEMA_VERSION
from adapters.stores.sqlite_store import SqliteWalletStore
from adapters.stores.sqlite_verify import CHECK_CHAIN, CHECK_RENDERABLE, verify_wallet
from core.errors import AlreadySettled, PlayerNotFound
from core.model import Credit, Debit, Deposit, Rollback, TxStatus
from core.wallet.records import PlayerRecord, TxRecord
from tests.conftest import FakeClock
from tests.contract.wallet_files import downgrade_to_version_3, relink

P = "prov"


def _player(player_id: str, currency: str) -> PlayerRecord:
    return PlayerRecord(player_id, "demo", "MT", currency, datetime.date(1990, 1, 1))


async def _settled_then_rolled_back(store: SqliteWalletStore) -> None:
    """A JPY player: a settled bet whose rollback is refused, a rollback before its bet,
    and a bet rolled back."""
    await store.create_player(_player("p1", "JPY"))
    await store.apply([Deposit("d1", "p1", "JPY", 1_000)])
    await store.apply([Debit(P, "b1", "p1", "JPY", 100, "r1", "g")])
    await store.apply([Credit(P, "w1", "p1", "JPY", 300, "r1", "g", ref_tx_id="b1")])
    with pytest.raises(AlreadySettled):
        await store.apply([Rollback(P, "rb-b1", "p1", "b1")])
    [tombstone] = await store.apply([Rollback(P, "rb-b2", "p1", "b2", round_id="r1")])
    assert tombstone.tombstone
    await store.apply([Debit(P, "b3", "p1", "JPY", 100, "r2", "g")])
    await store.apply([Rollback(P, "rb-b3", "p1", "b3")])


@contextlib.asynccontextmanager
async def _opened(path: Path, clock: FakeClock) -> AsyncIterator[SqliteWalletStore]:
    store = await SqliteWalletStore.open(path, clock_us=clock.micros)
    try:
        yield store
    finally:
        await store.close()


def _by_tx_id(records: list[TxRecord]) -> dict[str, TxRecord]:
    return {record.tx_id: record for record in records}


async def test_refused_and_tombstone_rollbacks_are_stored_in_the_players_currency(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "wallet.db"
    async with _opened(path, clock) as store:
        await _settled_then_rolled_back(store)
        history = _by_tx_id(await store.transactions("p1", limit=100))
        in_round = _by_tx_id(await store.round_transactions(P, "r1"))
    assert history["rb-b1"].status is TxStatus.REFUSED
    assert history["b2"].status is TxStatus.TOMBSTONE
    assert {tx_id: record.currency for tx_id, record in history.items()} == {
        tx_id: "JPY" for tx_id in ("d1", "b1", "w1", "rb-b1", "rb-b2", "b2", "b3", "rb-b3")
    }
    assert {record.currency for record in in_round.values()} == {"JPY"}
    report = verify_wallet(path)
    assert report.ok, report.lines()


async def test_a_rollback_for_a_player_without_a_wallet_is_refused_and_not_stored(
    tmp_path: Path, clock: FakeClock
) -> None:
    """No wallet, no currency to show it in, and no bet of theirs can ever be taken."""
    path = tmp_path / "wallet.db"
    async with _opened(path, clock) as store:
        with pytest.raises(PlayerNotFound):
            await store.apply([Rollback(P, "rb-x", "ghost", "bx")])
        assert await store.transactions("ghost", limit=10) == []
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM txs").fetchone() == (0,)


async def test_a_version_3_file_with_rows_without_a_currency_is_repaired_on_open(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "wallet.db"
    async with _opened(path, clock) as store:
        await _settled_then_rolled_back(store)
    downgrade_to_version_3(path)
    with sqlite3.connect(path) as conn:
        blank = conn.execute("SELECT tx_id FROM txs WHERE currency = '' ORDER BY seq").fetchall()
    assert blank == [("rb-b1",), ("rb-b2",), ("b2",)]

    async with _opened(path, clock) as store:
        history = _by_tx_id(await store.transactions("p1", limit=100))
        [replayed] = await store.apply([Rollback(P, "rb-b2", "p1", "b2", round_id="r1")])
        await store.apply([Deposit("d2", "p1", "JPY", 5)])  # links onto the repaired chain
    assert {record.currency for record in history.values()} == {"JPY"}
    assert replayed.replay
    assert replayed.balance.currency == "JPY"
    with sqlite3.connect(path) as conn:
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert conn.execute("SELECT COUNT(*) FROM txs WHERE currency = ''").fetchone() == (0,)
    assert version == (str(SCHEMA_VERSION),)
    report = verify_wallet(path)
    assert report.ok, report.lines()


async def test_the_repair_keeps_an_earlier_break_of_the_hash_chain_visible(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Relinking the rows after the repaired ones must not launder a tampered row."""
    path = tmp_path / "wallet.db"
    async with _opened(path, clock) as store:
        await _settled_then_rolled_back(store)
        await store.apply([Deposit("d2", "p1", "JPY", 5)])
    downgrade_to_version_3(path)
    with sqlite3.connect(path) as conn:  # tampered after it was written: its link breaks
        conn.execute("UPDATE txs SET amount_minor = 50 WHERE tx_id = 'd2'")
        (seq,) = conn.execute("SELECT seq FROM txs WHERE tx_id = 'd2'").fetchone()

    async with _opened(path, clock):  # the migration runs on open
        pass
    report = verify_wallet(path)
    chain = report.check(CHECK_CHAIN)
    assert chain.failures == 1, report.lines()
    assert chain.first_failure.startswith(f"seq {seq}: expected hash ")


async def test_verify_names_a_row_whose_currency_cannot_be_rendered(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "wallet.db"
    async with _opened(path, clock) as store:
        await _settled_then_rolled_back(store)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE txs SET currency = 'XXX' WHERE tx_id = 'rb-b1'")
        relink(conn)  # a chain that recomputes: only the new check can tell
        (seq,) = conn.execute("SELECT seq FROM txs WHERE tx_id = 'rb-b1'").fetchone()
    report = verify_wallet(path)
    assert not report.ok
    assert [check.name for check in report.checks if not check.ok] == [CHECK_RENDERABLE]
    assert report.check(CHECK_RENDERABLE).first_failure == (
        f"seq {seq} (rollback {P}/rb-b1): unknown currency 'XXX'"
    )


async def test_verify_knows_the_configured_extra_currencies(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "wallet.db"
    async with _opened(path, clock) as store:
        await store.create_player(_player("p1", "XYZ"))
        await store.apply([Deposit("d1", "p1", "XYZ", 1_000)])
    assert not verify_wallet(path).check(CHECK_RENDERABLE).ok
    report = verify_wallet(path, currencies_extra={"XYZ": 4})
    assert report.ok, report.lines()


@pytest.mark.parametrize(
    ("tx_id", "change", "expected"),
    [
        (
            "b1",
            "amount_minor = 101",
            "debit of 101: expected real+bonus -101, found real -100, bonus 0",
        ),
        (
            "w1",
            "real_delta_minor = -300",
            "credit of 300: expected real+bonus 300, found real -300, bonus 0",
        ),
        ("d1", "amount_minor = -1000", "amount -1000 is negative"),
        (
            "d1",
            "bonus_delta_minor = 1",
            "deposit of 1000: expected real 1000, bonus 0, found real 1000, bonus 1",
        ),
        ("rb-b1", "real_delta_minor = 5", "a refused record moved real 5, bonus 0"),
        ("b2", "amount_minor = 7", "a tombstone carries amount 7"),
        (
            "rb-b3",
            "real_delta_minor = 99",
            "expected to reverse b3's real -100, bonus 0 with real 100, bonus 0, "
            "found real 99, bonus 0",
        ),
    ],
)
async def test_verify_names_a_row_whose_amounts_contradict_its_kind(
    tmp_path: Path, clock: FakeClock, tx_id: str, change: str, expected: str
) -> None:
    path = tmp_path / "wallet.db"
    async with _opened(path, clock) as store:
        await _settled_then_rolled_back(store)
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE txs SET {change} WHERE tx_id = ?", (tx_id,))
        relink(conn)
    failure = verify_wallet(path).check(CHECK_RENDERABLE).first_failure
    assert failure.endswith(expected), failure
