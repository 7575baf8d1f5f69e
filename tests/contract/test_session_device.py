"""Sessions opened before the device was recorded: a SQLite file of schema version 4 is
converted on open, and a Redis session hash without `dv`, both read as device ''."""

from __future__ import annotations

import dataclasses
import datetime
import sqlite3
from pathlib import Path

import pytest

from adapters.stores.redis_codec import session_fields, token_digest
from adapters.stores.redis_keys import session_key
from adapters.stores.sqlite_schema import SCHEMA_VERSION
from adapters.stores.sqlite_store import SqliteWalletStore
from adapters.stores.sqlite_verify import verify_wallet
from core.model import Debit, Deposit
from core.wallet.records import PlayerRecord, SessionRecord
from tests.conftest import FakeClock
from tests.contract.redis_stores import redis_server_store
from tests.contract.wallet_files import downgrade_to_version_4
from tests.redis_servers import shared_server

VERSION_4_SESSION_COLUMNS = [
    "token_sha256", "player_id", "provider", "game_id", "currency", "expires_at_us",
    "created_at_us",
]  # fmt: skip


def _session(token: str, clock: FakeClock, device: str = "") -> SessionRecord:
    now_us = clock.micros()
    return SessionRecord(token, "p1", "prov", "g1", "EUR", now_us + 3_600_000_000, now_us, device)


def _table_info(path: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA table_info({table})").fetchall()


def _schema_version(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        (value,) = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return str(value)


async def _version_4_file(path: Path, clock: FakeClock) -> None:
    store = await SqliteWalletStore.open(path, clock_us=clock.micros)
    try:
        await store.create_player(
            PlayerRecord("p1", "demo", "MT", "EUR", datetime.date(1990, 1, 1))
        )
        await store.apply([Deposit("d1", "p1", "EUR", 1_000)])
        await store.create_session(_session("tok-before", clock))
        await store.apply([Debit("prov", "b1", "p1", "EUR", 100, "r1", "g1")])
    finally:
        await store.close()
    downgrade_to_version_4(path)


async def test_a_version_4_file_is_migrated_and_its_sessions_have_no_device(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "wallet.db"
    await _version_4_file(path, clock)
    assert _schema_version(path) == "4"
    assert [row[1] for row in _table_info(path, "sessions")] == VERSION_4_SESSION_COLUMNS

    store = await SqliteWalletStore.open(path, clock_us=clock.micros)
    try:
        assert await store.get_session("tok-before") == _session("tok-before", clock)
        await store.create_session(_session("tok-after", clock, device="mobile"))
        new = dataclasses.replace(
            _session("tok-rotated", clock, device="desktop"), created_at_us=clock.micros() + 5
        )
        await store.rotate_session("tok-before", new)
        await store.apply([Debit("prov", "b2", "p1", "EUR", 100, "r2", "g1")])
    finally:
        await store.close()

    assert _schema_version(path) == str(SCHEMA_VERSION) == "6"
    store = await SqliteWalletStore.open(path, clock_us=clock.micros)  # no cache: from disk
    try:
        before = await store.get_session("tok-before")
        assert await store.get_session("tok-after") == _session("tok-after", clock, "mobile")
        assert await store.get_session("tok-rotated") == new
    finally:
        await store.close()
    assert before is not None
    assert (before.device, before.expires_at_us) == ("", new.created_at_us)
    report = verify_wallet(path)
    assert report.ok, report.lines()


async def test_a_migrated_sessions_table_is_the_one_a_new_file_has(
    tmp_path: Path, clock: FakeClock
) -> None:
    migrated, new = tmp_path / "migrated.db", tmp_path / "new.db"
    await _version_4_file(migrated, clock)
    for path in (migrated, new):
        store = await SqliteWalletStore.open(path, clock_us=clock.micros)
        await store.close()
    assert _table_info(migrated, "sessions") == _table_info(new, "sessions")


@pytest.mark.redis
async def test_a_redis_session_stored_without_a_device_reads_as_unknown(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with redis_server_store(tmp_path, clock.micros) as store:
        session = _session("tok-old-hash", clock)
        fields = session_fields(session)
        at = fields.index("dv")
        del fields[at : at + 2]  # the hash as stored before the device was recorded
        with shared_server().client() as client:
            client.hset(session_key(token_digest(session.token)), items=fields)
        assert await store.get_session(session.token) == session

        mobile = dataclasses.replace(session, token="tok-new-hash", device="mobile")
        await store.create_session(mobile)
        assert await store.get_session(mobile.token) == mobile
