"""`verify_wallet` passes a clean wallet and names the first mismatch in a tampered copy."""

from __future__ import annotations

import datetime
import sqlite3
from pathlib import Path

import pytest

from adapters.stores.sqlite_schema import SCHEMA_VERSION
from adapters.stores.sqlite_store import SqliteWalletStore
from adapters.stores.sqlite_verify import (
    CHECK_BALANCES,
    CHECK_CHAIN,
    CHECK_CURRENCIES,
    CHECK_NEGATIVE,
    CHECK_OUTBOX,
    CHECK_PLAYER_CHAINS,
    CHECK_PLAYER_LEGS,
    CHECK_RENDERABLE,
    CHECK_TX_BALANCED,
    VerifyReport,
    verify_wallet,
)
from core.errors import InsufficientFunds
from core.model import BonusGrant, Credit, Debit, Deposit, Rollback, Withdrawal
from core.wallet.records import PlayerRecord
from tests.conftest import FakeClock


def _player(player_id: str, currency: str = "EUR") -> PlayerRecord:
    return PlayerRecord(player_id, "demo", "MT", currency, datetime.date(1990, 1, 1))


async def _fill(store: SqliteWalletStore) -> None:
    """Every kind of record: bets, wins, refusals, tombstones, a debt, three currencies."""
    for player_id, currency in (("p1", "EUR"), ("p2", "EUR"), ("p3", "JPY")):
        await store.create_player(_player(player_id, currency))
    await store.apply([Deposit("d1", "p1", "EUR", 10_000), BonusGrant("g1", "p1", "EUR", 5_000)])
    await store.apply([Deposit("d2", "p2", "EUR", 1_000), Deposit("d3", "p3", "JPY", 900)])
    await store.apply([Debit("prov", "b1", "p1", "EUR", 12_000, "r1", "g")])
    await store.apply([Credit("prov", "w1", "p1", "EUR", 24_001, "r1", "g", ref_tx_id="b1")])
    await store.apply([Debit("prov", "b2", "p2", "EUR", 500, "r2", "g")])
    await store.apply([Credit("prov", "w2", "p2", "EUR", 2_000, "r2", "g", ref_tx_id="b2")])
    await store.apply([Withdrawal("x2", "p2", "EUR", 2_500)])
    await store.apply([Rollback("prov", "rb-w2", "p2", "w2")])  # p2 now owes 2_000
    with pytest.raises(InsufficientFunds):
        await store.apply([Debit("prov", "b3", "p3", "JPY", 1_000, "r3", "g")])
    await store.apply([Rollback("prov", "rb-b9", "p3", "b9")])  # tombstone
    await store.apply([Debit("prov", "b4", "p3", "JPY", 300, "r4", "g")])
    await store.apply([Rollback("prov", "rb-b4", "p3", "b4")])


SNAPSHOT_TXS_MIN = 4
"""Snapshots (balances, chain heads) after seqs 4, 8 and 13; seqs 14 and 15 are the tail."""


@pytest.fixture
async def wallet(tmp_path: Path, clock: FakeClock) -> Path:
    """A closed wallet file with every kind of record in it."""
    path = tmp_path / "wallet.db"
    store = await SqliteWalletStore.open(
        path, clock_us=clock.micros, snapshot_txs_min=SNAPSHOT_TXS_MIN
    )
    try:
        await _fill(store)
    finally:
        await store.close()
    return path


def _tampered(wallet: Path, tmp_path: Path, *statements: str) -> Path:
    copy = tmp_path / "tampered.db"
    with sqlite3.connect(wallet) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with sqlite3.connect(copy) as conn:
        for statement in statements:
            assert conn.execute(statement).rowcount == 1
    return copy


def _failed(report: VerifyReport) -> dict[str, str]:
    return {check.name: check.first_failure for check in report.checks if not check.ok}


def test_a_clean_wallet_passes_every_check(wallet: Path) -> None:
    report = verify_wallet(wallet)
    assert report.ok, report.lines()
    # 8 account rows: the provider's JPY house account moved only after the last snapshot
    assert (report.txs, report.accounts) == (15, 8)
    assert report.entries > 0
    lines = report.lines()
    assert lines[0].startswith(f"wallet {wallet}: OK — 15 txs")
    assert "verified in" in lines[0]
    assert len(lines) == 1 + 10
    assert all(line.startswith("PASS ") for line in lines[1:])


async def test_a_wallet_verifies_while_its_store_is_open_and_writing(
    tmp_path: Path, clock: FakeClock
) -> None:
    store = await SqliteWalletStore.open(tmp_path / "wallet.db", clock_us=clock.micros)
    try:
        await _fill(store)
        assert verify_wallet(store.path).ok
        await store.apply([Deposit("d9", "p3", "JPY", 5)])
        report = verify_wallet(store.path)
    finally:
        await store.close()
    assert report.ok, report.lines()
    assert report.txs == 16


def test_a_changed_entry_amount_is_found_in_its_account_and_its_transaction(
    wallet: Path, tmp_path: Path
) -> None:
    with sqlite3.connect(wallet) as conn:
        seq, balance = conn.execute(
            "SELECT e.seq, a.balance_minor FROM entries e JOIN accounts a USING (account) "
            "WHERE e.account = 'player:p1:bonus' ORDER BY e.seq LIMIT 1"
        ).fetchone()
    copy = _tampered(
        wallet,
        tmp_path,
        "UPDATE entries SET amount_minor = amount_minor + 7 "
        f"WHERE seq = {seq} AND account = 'player:p1:bonus'",
    )
    report = verify_wallet(copy)
    assert not report.ok
    assert _failed(report) == {
        CHECK_BALANCES: f"player:p1:bonus EUR: expected {balance + 7} (sum of entries), "
        f"found balance {balance}",
        CHECK_CURRENCIES: "EUR: expected 0, found 7",
        CHECK_TX_BALANCED: f"seq {seq}: expected entries to sum to 0, found 7",
        CHECK_PLAYER_LEGS: f"seq {seq} (bonus_grant _cashier/g1): expected real/bonus legs "
        "0/5000, found 0/5007",
    }


def test_a_changed_transaction_amount_breaks_the_chain_at_that_seq_only(
    wallet: Path, tmp_path: Path
) -> None:
    copy = _tampered(wallet, tmp_path, "UPDATE txs SET amount_minor = 11000 WHERE tx_id = 'b1'")
    report = verify_wallet(copy)
    chain = report.check(CHECK_CHAIN)
    assert list(_failed(report)) == [CHECK_CHAIN, CHECK_RENDERABLE]
    assert chain.failures == 1
    assert chain.first_failure.startswith("seq 5: expected hash ")
    assert "found " in chain.first_failure
    assert report.check(CHECK_RENDERABLE).first_failure == (  # and the bet no longer adds up
        "seq 5 (debit prov/b1): debit of 11000: expected real+bonus -11000, "
        "found real -10000, bonus -2000"
    )


def test_a_removed_transaction_leaves_a_gap_in_the_seqs(wallet: Path, tmp_path: Path) -> None:
    copy = _tampered(wallet, tmp_path, "DELETE FROM txs WHERE seq = 13")
    failed = _failed(verify_wallet(copy))
    assert failed[CHECK_CHAIN] == "seq 14: expected seq 13 (seqs must be dense from 1)"


def test_a_broken_link_in_a_players_chain_is_reported_at_its_seq(
    wallet: Path, tmp_path: Path
) -> None:
    copy = _tampered(wallet, tmp_path, "UPDATE txs SET prev_player_seq = 1 WHERE seq = 6")
    assert _failed(verify_wallet(copy)) == {
        CHECK_PLAYER_CHAINS: "seq 6: expected the link to p1's previous seq 5, found 1"
    }


def test_a_stale_player_head_is_reported_with_the_expected_seq(
    wallet: Path, tmp_path: Path
) -> None:
    with sqlite3.connect(wallet) as conn:
        heads = dict(conn.execute("SELECT player_id, last_seq FROM player_heads").fetchall())
    assert heads == {"p1": 6, "p2": 10, "p3": 13}  # written at seq 13; 14 and 15 are the tail
    copy = _tampered(
        wallet, tmp_path, "UPDATE player_heads SET last_seq = 12 WHERE player_id = 'p3'"
    )
    assert _failed(verify_wallet(copy)) == {
        CHECK_PLAYER_CHAINS: "player_heads p3: expected 13, found 12"
    }


def test_a_file_of_another_schema_version_is_refused_with_what_to_do(
    wallet: Path, tmp_path: Path
) -> None:
    copy = _tampered(wallet, tmp_path, "UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    with pytest.raises(
        RuntimeError, match=f"schema version 2, this build verifies {SCHEMA_VERSION};"
    ):
        verify_wallet(copy)


def test_a_lost_outbox_event_is_a_gap_the_reporting_consumer_would_miss(
    wallet: Path, tmp_path: Path
) -> None:
    with sqlite3.connect(wallet) as conn:
        events = conn.execute("SELECT first_seq, last_seq FROM outbox ORDER BY event_id").fetchall()
    assert events[0][0] == 1  # every transaction is in an event
    assert events[-1][1] == 15
    first_seq = events[1][0]
    copy = _tampered(wallet, tmp_path, f"DELETE FROM outbox WHERE first_seq = {first_seq}")
    assert _failed(verify_wallet(copy)) == {
        CHECK_OUTBOX: f"event 3: expected seqs from {first_seq}, "
        f"found {events[2][0]}..{events[2][1]}"
    }


def test_transactions_missing_from_the_end_of_the_outbox_are_reported(
    wallet: Path, tmp_path: Path
) -> None:
    copy = _tampered(wallet, tmp_path, "DELETE FROM outbox WHERE last_seq = 15")
    with sqlite3.connect(copy) as conn:
        (end,) = conn.execute("SELECT MAX(last_seq) FROM outbox").fetchone()
    assert _failed(verify_wallet(copy)) == {
        CHECK_OUTBOX: f"the events end at seq {end}, the log at seq 15"
    }


def test_a_changed_account_balance_is_found_with_expected_and_stored_values(
    wallet: Path, tmp_path: Path
) -> None:
    copy = _tampered(
        wallet,
        tmp_path,
        "UPDATE accounts SET balance_minor = balance_minor - 1 WHERE account = 'player:p3:real'",
    )
    assert _failed(verify_wallet(copy)) == {
        CHECK_BALANCES: "player:p3:real JPY: expected 900 (sum of entries), found balance 899"
    }


def test_a_negative_balance_without_a_reversed_win_is_reported(
    wallet: Path, tmp_path: Path
) -> None:
    copy = _tampered(
        wallet,
        tmp_path,
        "UPDATE entries SET amount_minor = -1 "
        "WHERE account = 'player:p3:real' AND amount_minor = 900",  # the deposit: 900 JPY
    )
    failed = _failed(verify_wallet(copy))
    assert failed[CHECK_NEGATIVE] == (
        "player:p3:real JPY: balance -1 but no reversed win left a debt"
    )


def test_a_debt_from_a_reversed_win_is_allowed(wallet: Path) -> None:
    with sqlite3.connect(wallet) as conn:
        (balance,) = conn.execute(
            "SELECT balance_minor FROM accounts WHERE account = 'player:p2:real'"
        ).fetchone()
    assert balance == -2_000
    assert verify_wallet(wallet).check(CHECK_NEGATIVE).ok


def test_an_entry_without_its_transaction_is_reported(wallet: Path, tmp_path: Path) -> None:
    copy = _tampered(
        wallet,
        tmp_path,
        "INSERT INTO entries (seq, account, currency, amount_minor) "
        "VALUES (99, 'house:cashier', 'EUR', 0)",
    )
    failed = _failed(verify_wallet(copy))
    assert failed == {CHECK_PLAYER_LEGS: "seq 99: 1 entries but no transaction"}


def test_a_missing_file_is_an_error_not_an_empty_wallet(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        verify_wallet(tmp_path / "absent.db")


async def test_accounts_whose_entries_cancel_within_one_commit_need_no_row(
    tmp_path: Path, clock: FakeClock
) -> None:
    store = await SqliteWalletStore.open(tmp_path / "wallet.db", clock_us=clock.micros)
    try:
        await store.create_player(_player("p1"))
        await store.apply([Deposit("d1", "p1", "EUR", 100), Withdrawal("x1", "p1", "EUR", 100)])
    finally:
        await store.close()
    report = verify_wallet(tmp_path / "wallet.db")
    assert report.ok, report.lines()
    assert (report.txs, report.entries) == (2, 4)
