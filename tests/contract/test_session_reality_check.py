"""The reality-check interval a session records (`SessionRecord.reality_check_s`) reads
back from every store; sessions stored before it was recorded (a SQLite file of schema
version 5, a Redis hash without `rc`) read as 0, none asked for."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from adapters.stores.redis_codec import session_fields, token_digest
from adapters.stores.redis_keys import session_key
from adapters.stores.sqlite_store import SqliteWalletStore
from core.wallet.records import SessionRecord
from core.wallet.store import WalletStore
from tests.conftest import FakeClock
from tests.contract.redis_stores import redis_server_store
from tests.contract.wallet_files import VERSION_5_FILE
from tests.redis_servers import shared_server

HOUR_US = 3_600_000_000


def _session(token: str, clock: FakeClock, reality_check_s: int = 0) -> SessionRecord:
    now_us = clock.micros()
    return SessionRecord(token, "p1", "prov", "g1", "EUR", now_us + HOUR_US, now_us,
                         "desktop", "slots", reality_check_s)  # fmt: skip


async def test_a_sessions_reality_check_interval_reads_back(
    store: WalletStore, clock: FakeClock
) -> None:
    checked = _session("tok-rc", clock, reality_check_s=1_800)
    unchecked = _session("tok-plain", clock)
    await store.create_session(checked)
    await store.create_session(unchecked)
    assert await store.get_session("tok-rc") == checked
    assert await store.get_session("tok-plain") == unchecked
    assert unchecked.reality_check_s == 0
    rotated = dataclasses.replace(
        checked, token="tok-rc-2", created_at_us=checked.created_at_us + 1, reality_check_s=3_600
    )
    await store.rotate_session("tok-rc", rotated)
    assert await store.get_session("tok-rc-2") == rotated
    old = await store.get_session("tok-rc")
    assert old is not None
    assert (old.reality_check_s, old.expires_at_us) == (1_800, rotated.created_at_us)


async def test_a_migrated_version_5_file_keeps_new_intervals_and_reads_old_sessions_as_none(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "wallet.db"
    shutil.copyfile(VERSION_5_FILE, path)
    checked = _session("tok-rc", clock, reality_check_s=86_400)
    store = await SqliteWalletStore.open(path, clock_us=clock.micros)
    try:
        await store.create_session(checked)
    finally:
        await store.close()
    store = await SqliteWalletStore.open(path, clock_us=clock.micros)  # no cache: from disk
    try:
        old = await store.get_session("tok-kyc")  # written by the version-5 store
        assert await store.get_session("tok-rc") == checked
    finally:
        await store.close()
    assert old is not None
    assert old.reality_check_s == 0


@pytest.mark.redis
async def test_a_redis_session_stored_without_an_interval_reads_as_none(
    tmp_path: Path, clock: FakeClock
) -> None:
    async with redis_server_store(tmp_path, clock.micros) as store:
        session = _session("tok-old-hash", clock)
        fields = session_fields(session)
        at = fields.index("rc")
        del fields[at : at + 2]  # the hash as stored before the interval was recorded
        with shared_server().client() as client:
            client.hset(session_key(token_digest(session.token)), items=fields)
        assert await store.get_session(session.token) == session

        checked = dataclasses.replace(session, token="tok-new-hash", reality_check_s=600)
        await store.create_session(checked)
        assert await store.get_session(checked.token) == checked
