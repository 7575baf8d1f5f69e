"""The wallet holds live session state and dates of birth: its directory is the owner's
only (0700), and the file and its WAL and shared-memory files are 0600, whatever the
process umask, with looser modes of an existing wallet tightened on open."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from adapters.stores.sqlite_store import SqliteWalletStore
from core.model import Deposit
from core.wallet.records import PlayerRecord
from tests.conftest import FakeClock, file_mode
from tests.contract.wallet_files import WALLET_SUFFIXES


def _modes(path: Path) -> dict[str, int]:
    """The mode of the wallet and of each of its WAL and shared-memory files present."""
    found = {}
    for suffix in WALLET_SUFFIXES:
        part = path.with_name(path.name + suffix)
        if part.exists():
            found[part.name] = file_mode(part)
    return found


async def _write(store: SqliteWalletStore, player_id: str) -> None:
    player = PlayerRecord(player_id, "demo", "MT", "EUR", datetime.date(1990, 1, 1))
    await store.create_player(player)
    await store.apply([Deposit(f"d-{player_id}", player_id, "EUR", 100)])


@pytest.mark.usefixtures("open_umask")
async def test_a_new_wallet_and_its_directory_are_the_owners_only(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "data" / "wallet.db"
    store = await SqliteWalletStore.open(path, clock_us=clock.micros)
    try:
        assert file_mode(path.parent) == 0o700
        assert _modes(path) == {"wallet.db": 0o600, "wallet.db-wal": 0o600, "wallet.db-shm": 0o600}
        await _write(store, "p1")
        assert _modes(path) == {"wallet.db": 0o600, "wallet.db-wal": 0o600, "wallet.db-shm": 0o600}
    finally:
        await store.close()
    assert set(_modes(path).values()) == {0o600}


@pytest.mark.usefixtures("open_umask")
async def test_looser_modes_of_an_existing_wallet_are_tightened_on_open(
    tmp_path: Path, clock: FakeClock
) -> None:
    data = tmp_path / "data"
    path = data / "wallet.db"
    store = await SqliteWalletStore.open(path, clock_us=clock.micros)
    await _write(store, "p1")
    await store.close()
    data.chmod(0o755)
    path.chmod(0o644)
    for suffix in ("-wal", "-shm"):  # as a crashed process would have left them
        sidecar = path.with_name(path.name + suffix)
        sidecar.touch()
        sidecar.chmod(0o666)

    store = await SqliteWalletStore.open(path, clock_us=clock.micros)
    try:
        assert file_mode(data) == 0o700
        assert _modes(path) == {"wallet.db": 0o600, "wallet.db-wal": 0o600, "wallet.db-shm": 0o600}
        await _write(store, "p2")
    finally:
        await store.close()
    assert set(_modes(path).values()) == {0o600}
