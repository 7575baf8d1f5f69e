"""The wallet URL's scheme picks the backend: opening, verifying and checking a URL."""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

import pytest

from adapters.stores.open import (
    BACKENDS,
    WalletAccessError,
    check_wallet_url,
    open_wallet_store,
    verify_wallet_store,
)
from core.model import Deposit
from core.wallet.records import PlayerRecord
from tests.conftest import FakeClock

_BIRTH = datetime.date(1990, 1, 1)


def test_an_unknown_scheme_names_every_known_one() -> None:
    with pytest.raises(ValueError, match=r"'postgres'") as raised:
        check_wallet_url("postgres://db/wallet")
    known = ", ".join(sorted(BACKENDS))
    assert f"(supported: {known})" in str(raised.value)
    assert "sqlite" in BACKENDS


@pytest.mark.parametrize("url", ["sqlite://host/w.db", "sqlite:", "sqlite:w.db?mode=ro"])
def test_a_sqlite_url_must_name_a_file(url: str) -> None:
    with pytest.raises(ValueError, match=re.escape("expected sqlite:///absolute/path.db")):
        check_wallet_url(url)


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("", "data/wallet.db"),
        ("sqlite:wallets/w.db", "data/wallets/w.db"),
        ("sqlite://{tmp_path}/elsewhere/w.db", "elsewhere/w.db"),
    ],
)
async def test_the_store_says_which_file_it_opened(
    tmp_path: Path, clock: FakeClock, url: str, where: str
) -> None:
    """Empty is the embedded wallet in the data directory; a relative path is relative
    to it, an absolute one is not; the start-up line shows what `describe()` says."""
    url = url.format(tmp_path=tmp_path)
    store = await open_wallet_store(url, data_dir=tmp_path / "data", clock_us=clock.micros)
    try:
        assert store.describe() == f"sqlite {tmp_path / where}, synchronous=FULL"
        assert (tmp_path / where).is_file()
    finally:
        await store.close()


async def test_options_reach_the_backend_and_others_are_ignored(
    tmp_path: Path, clock: FakeClock
) -> None:
    """One `[wallet]` section serves every backend: an option SQLite does not know (a
    Redis pool size) is not an error for it."""
    store = await open_wallet_store(
        "", data_dir=tmp_path, clock_us=clock.micros, synchronous="EXTRA", pool_size_max=8
    )
    try:
        assert store.describe().endswith("synchronous=EXTRA")
    finally:
        await store.close()


async def test_verify_reconciles_the_wallet_the_url_names(tmp_path: Path, clock: FakeClock) -> None:
    store = await open_wallet_store("sqlite:w.db", data_dir=tmp_path, clock_us=clock.micros)
    try:
        await store.create_player(PlayerRecord("p1", "demo", "MT", "EUR", _BIRTH))
        await store.apply([Deposit("d1", "p1", "EUR", 500)])
    finally:
        await store.close()
    report = verify_wallet_store("sqlite:w.db", data_dir=tmp_path)
    assert report.ok, report.lines()
    assert str(tmp_path / "w.db") in report.lines()[0]


def test_verify_without_a_wallet_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(
        WalletAccessError, match=re.escape(f"no wallet database at {tmp_path}/wallet.db")
    ):
        verify_wallet_store("", data_dir=tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root opens any file")
async def test_a_wallet_that_cannot_be_opened_says_where(tmp_path: Path, clock: FakeClock) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(
        WalletAccessError, match=re.escape(f"cannot open the wallet at {locked}/w.db")
    ):
        await open_wallet_store("sqlite:w.db", data_dir=locked, clock_us=clock.micros)


async def test_a_wallet_path_through_a_file_cannot_be_opened(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Also as root: a path whose directory is a file fails with the path named."""
    (tmp_path / "plain").write_text("")
    where = tmp_path / "plain" / "w.db"
    with pytest.raises(WalletAccessError, match=re.escape(f"cannot open the wallet at {where}")):
        await open_wallet_store("sqlite:plain/w.db", data_dir=tmp_path, clock_us=clock.micros)
