"""Shared fixtures: a real SQLite wallet store on a temp dir, the service, demo players."""

from __future__ import annotations

import datetime
import gc
import os
import stat
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from adapters.stores.sqlite_store import SqliteWalletStore
from core.model import BonusGrant, Deposit, FundingOrder
from core.money import CurrencyTable
from core.service import WalletService
from core.wallet.records import PlayerRecord, SessionRecord


class FakeClock:
    """A settable wall clock (seconds and microseconds views of the same instant)."""

    def __init__(self, start_s: float = 1_800_000_000.0) -> None:
        self.now_s = start_s

    def seconds(self) -> float:
        return self.now_s

    def micros(self) -> int:
        return int(self.now_s * 1_000_000)

    def advance(self, seconds: float) -> None:
        self.now_s += seconds


def file_mode(path: Path) -> int:
    """The permission bits of `path` (0o600, 0o700, ...)."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that keeps every bit: code under test must set its modes itself."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def saved_garbage() -> Iterator[list[object]]:
    """What the cyclic collector finds unreachable during the test, kept for inspection.

    The automatic collector is off meanwhile; call `gc.collect()` to look, and clear the
    list after any set-up whose one-time garbage the test does not want to count.
    """
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[SqliteWalletStore]:
    opened = await SqliteWalletStore.open(tmp_path / "wallet.db", clock_us=clock.micros)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def service(store: SqliteWalletStore, clock: FakeClock) -> WalletService:
    return WalletService(store, CurrencyTable(), clock.micros)


MakePlayer = Callable[..., Awaitable[PlayerRecord]]


@pytest.fixture
def make_player(store: SqliteWalletStore) -> MakePlayer:
    """Create a player, optionally funded: `await make_player("p1", real=10_000)`."""

    async def make(
        player_id: str,
        *,
        currency: str = "EUR",
        real: int = 0,
        bonus: int = 0,
        funding_order: FundingOrder = FundingOrder.REAL_FIRST,
        jurisdiction: str = "MT",
    ) -> PlayerRecord:
        player = PlayerRecord(
            player_id=player_id,
            brand="demo",
            jurisdiction=jurisdiction,
            currency=currency,
            date_of_birth=datetime.date(1990, 1, 1),
            funding_order=funding_order,
        )
        await store.create_player(player)
        if real:
            await store.apply([Deposit(f"seed-real-{player_id}", player_id, currency, real)])
        if bonus:
            await store.apply([BonusGrant(f"seed-bonus-{player_id}", player_id, currency, bonus)])
        return player

    return make


MakeSession = Callable[..., Awaitable[SessionRecord]]


@pytest.fixture
def make_session(store: SqliteWalletStore, clock: FakeClock) -> MakeSession:
    """Open a game session: `await make_session("tok", "p1", provider="hub88")`."""

    async def make(
        token: str,
        player_id: str,
        *,
        provider: str,
        game_id: str = "demo-game",
        currency: str = "EUR",
        ttl_s: float = 3600.0,
        device: str = "",
    ) -> SessionRecord:
        session = SessionRecord(
            token=token,
            player_id=player_id,
            provider=provider,
            game_id=game_id,
            currency=currency,
            expires_at_us=clock.micros() + int(ttl_s * 1_000_000),
            created_at_us=clock.micros(),
            device=device,
        )
        await store.create_session(session)
        return session

    return make
