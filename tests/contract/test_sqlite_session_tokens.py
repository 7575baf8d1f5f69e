"""Session tokens never reach the wallet file in clear: a copy of it must not let anyone
bet. The store keeps SHA-256 digests and hashes the token presented; files that held
clear tokens are converted on open."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import sqlite3
from pathlib import Path

from adapters.stores.sqlite_migrations import migrate
from adapters.stores.sqlite_store import SqliteWalletStore
from adapters.stores.sqlite_verify import verify_wallet
from core.model import Debit, Deposit
from core.wallet.records import PlayerRecord, SessionRecord
from tests.conftest import FakeClock
from tests.contract.wallet_files import downgrade_to_version_3, raw_bytes

TOKENS = ("tok-Zq8r1xVn3WbB9pLc0yTf", "tok-Hs7uKd2mQe4RaJ6vNw1o")


def _session(token: str, clock: FakeClock) -> SessionRecord:
    now_us = clock.micros()
    return SessionRecord(token, "p1", "prov", "g1", "EUR", now_us + 3_600_000_000, now_us)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _with_sessions(path: Path, clock: FakeClock) -> SqliteWalletStore:
    store = await SqliteWalletStore.open(path, clock_us=clock.micros)
    await store.create_player(PlayerRecord("p1", "demo", "MT", "EUR", datetime.date(1990, 1, 1)))
    await store.apply([Deposit("d1", "p1", "EUR", 1_000)])
    for token in TOKENS:
        await store.create_session(_session(token, clock))
    return store


def _stored_values(path: Path) -> list[object]:
    """Every value of every row of every table, read through a separate connection
    (which sees the WAL too)."""
    values: list[object] = []
    with sqlite3.connect(path) as conn:
        tables = [
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                values.extend(row)
    return values


def _holds_clear(path: Path, token: str) -> bool:
    in_rows = any(isinstance(value, str) and token in value for value in _stored_values(path))
    return in_rows or token.encode() in raw_bytes(path)


async def test_no_clear_token_is_on_disk_and_the_token_still_authenticates(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "wallet.db"
    store = await _with_sessions(path, clock)
    try:
        for token in TOKENS:
            assert not _holds_clear(path, token)  # while open: the WAL holds the writes
        await store.apply([Debit("prov", "b1", "p1", "EUR", 100, "r1", "g1")])
    finally:
        await store.close()
    for token in TOKENS:
        assert not _holds_clear(path, token)

    store = await SqliteWalletStore.open(path, clock_us=clock.micros)  # no cache: from disk
    try:
        found = await store.get_session(TOKENS[0])
        assert found == _session(TOKENS[0], clock)
        assert await store.get_session(_digest(TOKENS[0])) is None  # the digest is no token
        new = dataclasses.replace(
            found, token="tok-rotated-4f9a", created_at_us=found.created_at_us + 5
        )
        await store.rotate_session(TOKENS[0], new)
    finally:
        await store.close()

    store = await SqliteWalletStore.open(path, clock_us=clock.micros)
    try:
        ended = await store.get_session(TOKENS[0])
        assert await store.get_session("tok-rotated-4f9a") == new
    finally:
        await store.close()
    assert ended is not None
    assert (ended.token, ended.expires_at_us) == (TOKENS[0], new.created_at_us)
    assert not _holds_clear(path, "tok-rotated-4f9a")


async def test_a_version_3_file_with_clear_tokens_is_converted_on_open(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "wallet.db"
    store = await _with_sessions(path, clock)
    await store.close()
    downgrade_to_version_3(path, {_digest(token): token for token in TOKENS})
    assert all(_holds_clear(path, token) for token in TOKENS)  # what an old build left

    store = await SqliteWalletStore.open(path, clock_us=clock.micros)
    try:
        for token in TOKENS:  # converted in place, and nothing of the old rows is left
            assert not _holds_clear(path, token)
        for token in TOKENS:
            assert await store.get_session(token) == _session(token, clock)
    finally:
        await store.close()
    for token in TOKENS:
        assert not _holds_clear(path, token)
    report = verify_wallet(path)
    assert report.ok, report.lines()


async def test_the_conversion_zeroes_the_old_tokens_whatever_sqlites_build_default(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Some SQLite builds keep deleted content on disk by default (`secure_delete` off)."""
    path = tmp_path / "wallet.db"
    store = await _with_sessions(path, clock)
    await store.close()
    downgrade_to_version_3(path, {_digest(token): token for token in TOKENS})
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA secure_delete = OFF")
        migrate(conn)
        assert conn.execute("PRAGMA secure_delete").fetchone() == (0,)  # left as it was
        for token in TOKENS:
            assert not _holds_clear(path, token)
    finally:
        conn.close()
